import { describe, expect, it } from 'vitest';
import { CredCourierError } from '../../../src/errors.ts';
import { entryFields } from '../../../src/register/register.ts';

const EXISTING = `defaults:
  ecr:
    secretName: pull
clusters:
  - name: prod
    kubeconfigSecret: k/prod
    namespaces: { names: [app], exclude: ["*-tmp"] }
    ecr: { registries: [{ region: eu-west-1 }] }
`;

describe('entryFields', () => {
  it('makes a minimal new entry: default kubeconfig secret, the namespaces, ecr only when registries are given', () => {
    expect(entryFields('', 'lab', { namespaces: ['a', 'b'] }, 'f')).toEqual({
      kubeconfigSecret: 'cred-courier/clusters/lab',
      namespaces: { names: ['a', 'b'] },
    });
    expect(
      entryFields(
        '',
        'lab',
        { namespaces: ['a'], ecrRegistries: [{ accountId: '111122223333', region: 'eu-west-1' }] },
        'f',
      ),
    ).toEqual({
      kubeconfigSecret: 'cred-courier/clusters/lab',
      namespaces: { names: ['a'] },
      ecr: { secretName: 'ecr-pull', registries: [{ accountId: '111122223333', region: 'eu-west-1' }] },
    });
  });

  it('needs --namespaces for a cluster not in the file', () => {
    expect(() => entryFields(EXISTING, 'new', {}, 'f')).toThrow(CredCourierError);
    expect(() => entryFields(EXISTING, 'new', {}, 'f')).toThrow(/--namespaces/);
  });

  it('sets nothing on an existing entry unless asked, and merges what is asked into what is written', () => {
    expect(entryFields(EXISTING, 'prod', {}, 'f')).toEqual({});
    expect(
      entryFields(EXISTING, 'prod', { namespaces: ['web'], ecrServiceAccounts: ['builder'] }, 'f'),
    ).toEqual({
      namespaces: { names: ['web'], exclude: ['*-tmp'] },
      // defaults.ecr.secretName applies, so none is written.
      ecr: { registries: [{ region: 'eu-west-1' }], serviceAccounts: ['builder'] },
    });
  });

  it('records --without-secret-guard as secretGuard: false, and opts an opted-out entry back in without it', () => {
    // Prepare
    const optedOut = EXISTING.replace(
      '    kubeconfigSecret: k/prod\n',
      '    kubeconfigSecret: k/prod\n    secretGuard: false\n',
    );

    // Act
    const without = entryFields(EXISTING, 'prod', { withoutSecretGuard: true }, 'f');
    const again = entryFields(optedOut, 'prod', {}, 'f');
    const untouched = entryFields(EXISTING, 'prod', {}, 'f');

    // Assess
    expect(without).toEqual({ secretGuard: false });
    expect(again).toEqual({ secretGuard: true });
    expect(untouched).toEqual({});
  });
});
