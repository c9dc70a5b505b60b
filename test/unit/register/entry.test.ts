import { describe, expect, it } from 'vitest';
import { ConfigError, CredCourierError } from '../../../src/errors.ts';
import { entryFields, plannedConfig } from '../../../src/register/register.ts';

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

describe('plannedConfig positions', () => {
  /** Line 11 holds a broken region; prod's namespaces take three lines (4-6). */
  const BROKEN_BELOW = `clusters:
  - name: prod
    kubeconfigSecret: k/prod
    namespaces:
      names:
        - app
    ecr: { secretName: pull, registries: [{ region: eu-west-1 }] }
  - name: edge
    kubeconfigSecret: k/edge
    namespaces: { names: [edge] }
    ecr: { secretName: pull, registries: [{ region: eu-west }] }
`;

  function problemsOf(action: () => unknown): readonly string[] {
    try {
      action();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).issues;
    }
    throw new Error('expected a ConfigError');
  }

  it('names the line of the file as it is when the edit shortens an entry above the problem', () => {
    // Act: the block namespaces (3 lines) become one flow line, so the edited text is 2 lines shorter.
    const issues = problemsOf(() =>
      plannedConfig(
        { cluster: 'prod', entry: { namespaces: ['app', 'web'] }, configFile: 'f.yaml' },
        BROKEN_BELOW,
      ),
    );

    // Assess
    expect(BROKEN_BELOW.split('\n')[10]).toContain('region: eu-west }');
    expect(issues).toEqual([
      'clusters[1].ecr.registries[0].region (line 11): expected an AWS region such as eu-west-1, got "eu-west"',
    ]);
  });

  it('names the line of the file as it is when the edit adds a key above the problem', () => {
    // Act: secretGuard: false is a new line after prod's entry.
    const issues = problemsOf(() =>
      plannedConfig(
        { cluster: 'prod', entry: { withoutSecretGuard: true }, configFile: 'f.yaml' },
        BROKEN_BELOW,
      ),
    );

    // Assess
    expect(issues).toEqual([
      'clusters[1].ecr.registries[0].region (line 11): expected an AWS region such as eu-west-1, got "eu-west"',
    ]);
  });

  it('gives no line for a problem in lines the edit writes (a new entry)', () => {
    // Act
    const issues = problemsOf(() =>
      plannedConfig(
        {
          cluster: 'lab',
          entry: { namespaces: ['Lab'], ecrRegistries: [{ region: 'eu-west-1' }] },
          configFile: 'f.yaml',
        },
        BROKEN_BELOW.replace('region: eu-west }', 'region: eu-west-1 }'),
      ),
    );

    // Assess
    expect(issues).toEqual([
      'clusters[2].namespaces.names[0]: expected a namespace name or glob (a-z 0-9 -, plus * and ?, alphanumeric or wildcard at both ends, at most 63 characters) such as team-*, got "Lab"',
    ]);
  });
});
