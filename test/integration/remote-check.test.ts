/**
 * The check from where delivery runs, on the rig: the Lambda handler, invoked in-process with a check
 * event, runs `check`'s per-cluster checks with the kubeconfigs stored in moto's Secrets Manager and
 * returns them as its payload. A registered cluster passes every check, one whose server nothing
 * listens on fails its reachability check alone, and nothing is written: no Kubernetes object changes
 * (resourceVersions before and after), and moto's request recorder sees only GetSecretValue — no
 * AssumeRole, GetAuthorizationToken, PutSecretValue, ledger write or notification, although the ledger
 * table and alarm topic are configured. `check --remote` prints that payload like `check`, through a
 * stand-in of Lambda's Invoke API that calls the real handler (test/support/lambda-endpoint.ts).
 * `register` and a local `check` warn that the rig's loopback server is one the function cannot reach.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkText } from '../../src/cli/commands/check.ts';
import type { CheckReport } from '../../src/register/check.ts';
import { type RegisterReport, registerCluster } from '../../src/register/register.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { freePort, type RigCluster } from '../rig/rig.ts';
import { type LambdaEndpoint, lambdaContext, startFunctionEndpoint } from '../support/lambda-endpoint.ts';
import { storeKubeconfig } from './fixtures.ts';
import { createLedgerTable, recordedDuring, requestParams, topicWithQueue } from './moto-support.ts';
import { cli, EVERY_CHECK_OK, registerOptions, storedKubeconfig, tokenOf } from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const SECRET = 'ecr-pull';
const FUNCTION_NAME = 'cred-courier-rig-distribute';

/** The Kubernetes objects a check could touch, each with its resourceVersion: equal before and after. */
async function objectVersions(cluster: RigCluster, namespaces: readonly string[]): Promise<string[]> {
  const paths = [
    ...namespaces.flatMap((ns) =>
      ['secrets', 'configmaps', 'serviceaccounts'].map((kind) => `/api/v1/namespaces/${ns}/${kind}`),
    ),
    ...namespaces.flatMap((ns) =>
      ['roles', 'rolebindings'].map((kind) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/${kind}`),
    ),
    `/api/v1/namespaces`,
    '/apis/rbac.authorization.k8s.io/v1/clusterroles?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dcred-courier',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dcred-courier',
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
  ];
  const versions: string[] = [];
  for (const path of paths) {
    const response = await kubeRequest(cluster, cluster.adminToken, 'GET', path);
    expect(response.status, path).toBe(200);
    const list = response.json<{
      items: { metadata: { namespace?: string; name: string; resourceVersion: string } }[];
    }>();
    for (const { metadata } of list.items) {
      if (path === '/api/v1/namespaces' && !namespaces.includes(metadata.name)) continue;
      versions.push(`${path.split('?')[0]} ${metadata.name} ${metadata.resourceVersion}`);
    }
  }
  return versions.sort();
}

/** What moto was asked while `act` ran: `Service.Action` per request (JSON target or query Action). */
async function awsCallsDuring<T>(act: () => Promise<T>): Promise<{ result: T; calls: string[] }> {
  const { result, requests } = await recordedDuring(act);
  const calls = requests.map((entry) => {
    const target = Object.entries(entry.headers).find(([name]) => name.toLowerCase() === 'x-amz-target');
    return target?.[1] ?? `${new URL(entry.url).host} ${requestParams(entry).get('Action') ?? entry.url}`;
  });
  return { result, calls };
}

describe.skipIf(!rig)(
  `check from where delivery runs, on the rig${rig ? '' : ` (skipped: ${skipReason})`}`,
  () => {
    useRigAws();
    const dir = mkdtempSync(join(tmpdir(), 'cc-remote-check-'));
    const saved = { ...process.env };
    const healthy = uniqueName('healthy');
    const unreachable = uniqueName('unreachable');
    const control = uniqueName('cc');
    const app = uniqueName('app');
    const configFile = join(dir, 'clusters.yaml');
    let registered: RegisterReport;
    let ledgerTable: string;
    let topic: Awaited<ReturnType<typeof topicWithQueue>>;
    let unreachableServer: string;
    let handler: (event: unknown, context: Context) => Promise<unknown>;

    beforeAll(async () => {
      const a = theRig().clusters.a;
      await ensureNamespace(a, app);
      const entry = (name: string) => `
  - name: ${name}
    kubeconfigSecret: cred-courier/test/${name}
    namespaces: { names: [${app}] }
    ecr: { secretName: ${SECRET}, registries: [{ region: eu-west-1 }] }`;
      writeFileSync(
        configFile,
        `settings:\n  controlNamespace: ${control}\n  clusterDeadlineSeconds: 20\nclusters:${entry(healthy)}${entry(unreachable)}\n`,
      );
      registered = await registerCluster(
        registerOptions(
          { configFile, cluster: healthy, adminKubeconfigPath: a.adminKubeconfigPath },
          // Beyond check's 7-day expiry warning.
          { token: { kind: 'token-request', seconds: 30 * 24 * 3600 } },
        ),
      );
      // The same kubeconfig, pointed at a port nothing listens on.
      unreachableServer = `https://127.0.0.1:${await freePort()}`;
      const stored = await storedKubeconfig(`cred-courier/test/${healthy}`);
      await storeKubeconfig(
        `cred-courier/test/${unreachable}`,
        stored.replace(/server: \S+/, `server: ${unreachableServer}`),
      );
      // Delivery's ledger and alarm topic are configured: a check must use neither.
      ledgerTable = await createLedgerTable();
      topic = await topicWithQueue();
      process.env.CRED_COURIER_CONFIG = configFile;
      process.env.CRED_COURIER_LEDGER_TABLE = ledgerTable;
      process.env.CRED_COURIER_ALARM_TOPIC_ARN = topic.topicArn;
      // Powertools' JSON log lines would mix with the CLI output the tests capture.
      process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
      ({ handler } = await import('../../functions/distribute.ts'));
    });
    afterAll(async () => {
      process.env = saved;
      await new DynamoDBClient({}).send(new DeleteTableCommand({ TableName: ledgerTable })).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    const invokeCheck = (event: unknown) => handler(event, lambdaContext(FUNCTION_NAME));

    it('register warns that the rig’s loopback server is one the function cannot reach, in text and JSON, and still registers', async () => {
      // Act
      const admin = theRig().clusters.a.adminKubeconfigPath;
      const again = ['register', healthy, '--kubeconfig', admin, '-c', configFile, '--dry-run'];
      const text = await cli(again);
      const json = await cli([...again, '-o', 'json']);
      const port = new URL(theRig().clusters.a.server).port;
      const byName = await cli([...again, '--server', `https://localhost:${port}`]);

      // Assess
      const loopback =
        /server https:\/\/127\.0\.0\.1:\d+ is a loopback address: the function cannot reach it.*--tls-san <public address> and register with --server https:\/\/<public address>:6443/;
      expect(registered.ok).toBe(true);
      expect(registered.warnings).toContainEqual(expect.stringMatching(loopback));
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`\\n  warning: ${loopback.source}`));
      expect(json.code).toBe(0);
      expect((JSON.parse(json.stdout) as RegisterReport).warnings).toContainEqual(
        expect.stringMatching(loopback),
      );
      expect(byName.stdout).toMatch(/\n {2}warning: server https:\/\/localhost:\d+ is a loopback address/);
    });

    it('the handler checks every cluster from its own network, passes the healthy one, fails only the unreachable one’s reachability, and writes nothing', async () => {
      // Prepare
      const a = theRig().clusters.a;
      const before = await objectVersions(a, [control, app]);

      // Act
      const { result, calls } = await awsCallsDuring(() => invokeCheck({ check: {} }));
      const after = await objectVersions(a, [control, app]);

      // Assess
      const report = result as CheckReport;
      expect(report.ok).toBe(false);
      const byName = Object.fromEntries(report.clusters.map((c) => [c.cluster, c]));
      expect(byName[healthy]?.ok).toBe(true);
      expect(byName[healthy]?.items.map((i) => `${i.check}:${i.status}`)).toEqual(EVERY_CHECK_OK);
      expect(byName[healthy]?.identity).toBe(`system:serviceaccount:${control}:cred-courier`);
      // The function's own check carries no warning about where the server is: reaching it is the answer.
      expect(byName[healthy]?.warnings).toBeUndefined();
      expect(byName[unreachable]?.ok).toBe(false);
      expect(byName[unreachable]?.items.map((i) => `${i.check}:${i.status}`)).toEqual([
        'kubeconfig:ok',
        'reachability:fail',
      ]);
      expect(byName[unreachable]?.items[1]?.detail).toMatch(
        /^refused: .*\(connection refused: nothing listens at the server address\); to do: the server must be reachable from where delivery runs/,
      );
      // Read-only: no Kubernetes object was created, changed or deleted ...
      expect(after).toEqual(before);
      expect(before.length).toBeGreaterThan(5);
      // ... and AWS was asked for the two stored kubeconfigs, nothing else: no mint, no renewal, no ledger.
      expect(calls.sort()).toEqual(['secretsmanager.GetSecretValue', 'secretsmanager.GetSecretValue']);
      const ledger = await new DynamoDBClient({}).send(new ScanCommand({ TableName: ledgerTable }));
      expect(ledger.Count).toBe(0);
      expect(await topic.received()).toEqual([]);
      const stored = await storedKubeconfig(`cred-courier/test/${healthy}`);
      expect(JSON.stringify(report)).not.toContain(tokenOf(stored));
    });

    it('a check event naming one cluster checks that one; a bad check event or an unknown cluster is refused without a delivery', async () => {
      const one = (await invokeCheck({ check: { clusters: [healthy] } })) as CheckReport;
      const { calls } = await awsCallsDuring(async () => {
        await expect(invokeCheck({ check: { clusters: [healthy] }, kinds: ['ecr'] })).rejects.toThrow(
          /^invalid invocation event: \(event\): Unrecognized key: "kinds"/,
        );
        await expect(invokeCheck({ check: { clusters: ['nope'] } })).rejects.toThrow(/no cluster named nope/);
      });

      expect(one.ok).toBe(true);
      expect(one.clusters.map((c) => c.cluster)).toEqual([healthy]);
      expect(calls).toEqual([]);
    });

    describe('check --remote, through a stand-in of Lambda’s Invoke API that calls the real handler', () => {
      let endpoint: LambdaEndpoint;

      beforeAll(async () => {
        endpoint = await startFunctionEndpoint(FUNCTION_NAME, handler);
        // Only Lambda goes to the stand-in; Secrets Manager stays moto.
        process.env.AWS_ENDPOINT_URL_LAMBDA = endpoint.url;
      });
      afterAll(async () => {
        delete process.env.AWS_ENDPOINT_URL_LAMBDA;
        await endpoint.close();
      });

      it('prints the function’s report exactly like check, in text and JSON, and exits 1 for the unreachable cluster', async () => {
        // Act
        const text = await cli(['check', '--remote', '--stage', 'rig']);
        const json = await cli(['check', '--remote', '--stage', 'rig', '-o', 'json']);
        const one = await cli(['check', healthy, '--remote', '--function', 'cred-courier-rig-distribute']);
        // Assess
        expect(text.code).toBe(1);
        expect(json.code).toBe(1);
        const report = JSON.parse(json.stdout) as CheckReport;
        expect(text.stdout).toBe(`${checkText(report)}\n`);
        expect(text.stdout).toContain(
          `${healthy}: ok\n  ✓ kubeconfig: read from cred-courier/test/${healthy}\n  ✓ reachability:`,
        );
        expect(text.stdout).toContain(`${unreachable}: PROBLEMS\n`);
        expect(text.stdout).toContain(
          `  ✗ reachability: refused: ECONNREFUSED: connect ECONNREFUSED ${new URL(unreachableServer).host} (connection refused`,
        );
        expect(text.stdout).toMatch(/\nFAILED: some check is not ok\n$/);
        expect(text.stderr).toBe(
          'checking from function cred-courier-rig-distribute (its network, its stored kubeconfigs)\n',
        );
        expect(one.code).toBe(0);
        expect(one.stdout).toMatch(new RegExp(`^${healthy}: ok\\n[\\s\\S]*\\nok\\n$`));
        expect(endpoint.invocations.map((i) => i.event)).toEqual([
          { check: {} },
          { check: {} },
          { check: { clusters: [healthy] } },
        ]);
      });

      it('exits 2 with what to do when the function does not exist or refuses the cluster', async () => {
        const missing = await cli(['check', '--remote', '--stage', 'nope']);
        const unknown = await cli(['check', 'nope', '--remote', '--stage', 'rig']);
        const noStage = await cli(['check', '--remote']);
        const stageAlone = await cli(['check', '--stage', 'rig']);

        expect(missing.code).toBe(2);
        expect(missing.stderr).toMatch(
          /\nerror: invoking cred-courier-nope-distribute: no such function .*: deploy the stage/,
        );
        expect(unknown.code).toBe(2);
        expect(unknown.stderr).toMatch(
          /error: cred-courier-rig-distribute failed: UsageError: .*no cluster named nope/,
        );
        expect(noStage.code).toBe(2);
        expect(noStage.stderr).toMatch(/--remote needs --stage <stage>/);
        expect(stageAlone.code).toBe(2);
        expect(stageAlone.stderr).toMatch(/--stage and --function go with --remote/);
      });
    });

    it('a local check warns that the stored loopback server is one the function cannot reach, without failing the check', async () => {
      const local = await cli(['check', healthy, '-c', configFile]);
      expect(local.code).toBe(0);
      expect(local.stdout).toMatch(
        /\n {2}warning: server https:\/\/127\.0\.0\.1:\d+ is a loopback address: the function cannot reach it/,
      );
    });
  },
);
