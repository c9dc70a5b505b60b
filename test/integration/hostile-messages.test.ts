/**
 * What an apiserver says in an error is data, not output: a denial message written by another party on
 * the cluster (here a real ValidatingAdmissionPolicy of "another tool" whose messageExpression carries a
 * carriage return, terminal escape sequences and a bidi override) reaches the run's result, its log lines
 * and the CLI's progress line only with those characters escaped, so it cannot erase or forge lines.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressLine } from '../../src/cli/output.ts';
import { registerCluster } from '../../src/register/register.ts';
import { waitForDefaultServiceAccounts } from '../faults/cluster.ts';
import { ensureNamespace, ensureObject } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { capturedRun, configOf } from './fixtures.ts';
import { registerOptions, storedKubeconfig, tokenOf } from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

/** C0 controls (CR, ESC, …), DEL and C1 controls, bidi overrides: what a terminal acts on. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: a character reaching the terminal is the defect
const ACTIVE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

describe.skipIf(!rig)(
  `hostile apiserver messages on the rig${rig ? '' : ` (skipped: ${skipReason})`}`,
  () => {
    useRigAws();
    const dir = mkdtempSync(join(tmpdir(), 'cred-courier-messages-'));
    const c = () => theRig().clusters.a;
    const name = uniqueName('msg');
    const control = uniqueName('cc');
    const target = uniqueName('m1');
    const fresh = uniqueName('m2');
    const policy = uniqueName('another-tool');
    const secretId = `cred-courier/test/${name}`;
    /** The delivery identity's token, as register stored it. */
    let token = '';
    const yaml = (namespaces: readonly string[]) => `settings:
  controlNamespace: ${control}
  clusterDeadlineSeconds: 30
clusters:
  - name: ${name}
    kubeconfigSecret: ${secretId}
    namespaces: { names: [${namespaces.join(', ')}] }
    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }
`;
    // What the other tool's message tries: return to the line's start, erase it, move up, print a forged
    // success line, and flip the rest right-to-left.
    const forged = `✓ ${name}: 1 delivered, 0 failed, 0 pruned (0.1 s)`;
    const messageExpression = `'denied\\r\\x1b[2K\\x1b[1A${forged}\\u202e'`;

    /** Another tool's admission policy, denying every Secret write in the target namespace. */
    async function applyOtherToolsPolicy(): Promise<void> {
      const admission = '/apis/admissionregistration.k8s.io/v1';
      await ensureObject(c(), `${admission}/validatingadmissionpolicies`, {
        metadata: { name: policy },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: [''],
                apiVersions: ['v1'],
                operations: ['CREATE', 'UPDATE'],
                resources: ['secrets'],
              },
            ],
          },
          matchConditions: [{ name: 'target', expression: `request.namespace in ['${target}', '${fresh}']` }],
          validations: [{ expression: 'false', message: 'denied', messageExpression }],
        },
      });
      await ensureObject(c(), `${admission}/validatingadmissionpolicybindings`, {
        metadata: { name: policy },
        spec: { policyName: policy, validationActions: ['Deny'] },
      });
      // In effect once it refuses a dry-run create by the delivery identity itself (policies take a moment).
      for (let i = 0; i < 80; i++) {
        const probe = await kubeRequest(
          c(),
          token,
          'POST',
          `/api/v1/namespaces/${fresh}/secrets?dryRun=All`,
          {
            metadata: { name: 'ecr-pull', labels: { 'app.kubernetes.io/managed-by': 'cred-courier' } },
            type: 'kubernetes.io/dockerconfigjson',
            data: { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') },
          },
        );
        if (probe.status === 422 && probe.body.includes(policy)) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error(`policy ${policy} never came into effect`);
    }

    beforeAll(async () => {
      for (const namespace of [target, fresh]) await ensureNamespace(c(), namespace);
      await waitForDefaultServiceAccounts(c(), [target, fresh]);
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, yaml([target, fresh]));
      const report = await registerCluster(
        registerOptions({ configFile: file, cluster: name, adminKubeconfigPath: c().adminKubeconfigPath }),
      );
      if (!report.ok) throw new Error(`register failed: ${JSON.stringify(report.verification?.items)}`);
      token = tokenOf(await storedKubeconfig(secretId));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("another tool's admission denials of an update and a create reach the run in their own words, with carriage returns, escape sequences and bidi overrides escaped", async () => {
      // Prepare: one Secret delivered, then another tool's policy (in effect) refuses every Secret write in both
      // namespaces: an update of the delivered one, a create in the other.
      const first = await capturedRun(configOf(yaml([target])), { clusters: [name] });
      expect(first.result.clusters[0]?.secrets.map((s) => s.action)).toEqual(['created']);
      await applyOtherToolsPolicy();
      const config = configOf(yaml([target, fresh]));

      // Act
      const run = await capturedRun(config, { clusters: [name] });
      const cluster = run.result.clusters[0];
      const line = progressLine(cluster ?? ({} as never));
      const byNamespace = new Map(cluster?.secrets.map((s) => [s.namespace, s.failure]));

      // Assess: the consequence first — nothing in the CLI's line or the log acts on a terminal. The
      // progress line's own line breaks separate its detail lines.
      expect(line.split('\n').filter((part) => ACTIVE_CHARACTERS.test(part))).toEqual([]);
      const logged = run.lines.flatMap((l) => Object.values(JSON.parse(l) as Record<string, unknown>));
      expect(logged.filter((v) => typeof v === 'string' && ACTIVE_CHARACTERS.test(v))).toEqual([]);
      // The policy's own words reach the operator (escaped), not a guess about who owns the Secret.
      for (const namespace of [target, fresh]) {
        expect(byNamespace.get(namespace)).toEqual({
          failureClass: 'conflict',
          message: expect.stringContaining(
            `${policy}' denied request: denied\\u000d\\u001b[2K\\u001b[1A${forged}\\u202e`,
          ),
        });
      }
    });
  },
);
