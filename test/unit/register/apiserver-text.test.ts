/**
 * Text an apiserver chooses (its version, the user name it reports, namespace names it lists) reaches
 * `check`'s output, locally and in the function's payload (`check --remote`): it must not erase, hide or
 * forge lines there. The version and the SelfSubjectReview come from hand-written stand-ins of a hostile
 * apiserver, which a real one cannot be made to answer.
 */
import type { AuthenticationV1Api, VersionApi } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { checkText } from '../../../src/cli/commands/check.ts';
import { registerText } from '../../../src/cli/commands/register.ts';
import { serverVersion, whoAmI } from '../../../src/kube/access-review.ts';
import type { RegisterReport } from '../../../src/register/register.ts';

/** Conceal (hides every later line), erase the line above, a bidi override and a forged line. */
const HOSTILE = 'v1.35.0\u001b[8m\u001b[1A\u001b[2K\u202e\r\n  ✓ secret-guard: active';
/** The characters of HOSTILE that act on a terminal. */
const RAW = ['\u001b', '\u202e', '\r'];
const rawIn = (text: string) => RAW.filter((c) => text.includes(c));

describe('text an apiserver chooses', () => {
  it('is escaped where it is read: the version and the reported user name', async () => {
    const version = { getCode: async () => ({ gitVersion: HOSTILE }) } as unknown as VersionApi;
    const authentication = {
      createSelfSubjectReview: async () => ({ status: { userInfo: { username: HOSTILE } } }),
    } as unknown as AuthenticationV1Api;

    const read = [await serverVersion(version), await whoAmI(authentication)];

    for (const text of read) {
      expect(rawIn(text ?? '')).toEqual([]);
      expect(text).toContain('v1.35.0\\u001b[8m');
    }
  });

  it("is escaped in check's text, whatever the report carries (a function's payload included)", () => {
    const text = checkText({
      ok: false,
      clusters: [
        {
          cluster: 'hostile',
          ok: true,
          items: [{ check: 'namespaces', status: 'ok', detail: `1 selected: team-${HOSTILE}` }],
          permissions: [],
          warnings: [HOSTILE],
        },
        {
          cluster: 'other',
          ok: false,
          items: [{ check: 'tls', status: 'fail', detail: 'x' }],
          permissions: [],
        },
      ],
    });

    const lines = text.split('\n');
    expect(lines).toHaveLength(6);
    expect(rawIn(text)).toEqual([]);
    expect(lines.at(-1)).toBe('FAILED: some check is not ok');
  });

  it("is escaped in register's text", () => {
    const report = {
      cluster: 'hostile',
      dryRun: false,
      config: { file: 'config/clusters.yaml', action: 'unchanged' },
      rbac: [],
      token: { action: 'kept', kind: 'token-request' },
      kubeconfigSecret: { secretId: 'cred-courier/hostile', action: 'kept' },
      verification: { items: [{ check: 'namespaces', status: 'ok', detail: `1 selected: team-${HOSTILE}` }] },
      warnings: [],
      ok: false,
      withoutSecretGuard: false,
    } as unknown as RegisterReport;

    const text = registerText(report);

    expect(rawIn(text)).toEqual([]);
    expect(text.split('\n').at(-1)).toBe('FAILED');
  });
});
