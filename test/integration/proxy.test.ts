/**
 * A proxy per cluster, on the rig's real apiservers through a real forward proxy (squid, see
 * test/rig/forward-proxy.ts). The clusters' stored kubeconfigs name `apiserver-<id>.proxied.test`, a
 * name only the proxy resolves: a cluster delivered by that name was reached through the proxy. The
 * proxy's access log is read back to show CONNECT tunnels and never a plaintext request. The function's
 * check (`check --remote`, the handler in-process behind a stand-in of Lambda's Invoke API) reaches such
 * a cluster through the proxy its entry names, and tells what to do for one whose entry names none.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAwsClients } from '../../src/aws/clients.ts';
import { secretsManagerKubeconfigs } from '../../src/aws/kubeconfig-store.ts';
import { proxyAuthorization } from '../../src/aws/proxy-credentials.ts';
import { checkText } from '../../src/cli/commands/check.ts';
import { loadConfig } from '../../src/config/load.ts';
import { type CheckReport, checkClusters } from '../../src/register/check.ts';
import { registerCluster as register } from '../../src/register/register.ts';
import { Redactor } from '../../src/report/redact.ts';
import { RecordingListener } from '../faults/sink.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { accessLogLines, proxiedHost, type RigProxy } from '../rig/forward-proxy.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { freePort, type RigCluster, waitFor } from '../rig/rig.ts';
import { type LambdaEndpoint, startFunctionEndpoint } from '../support/lambda-endpoint.ts';
import {
  capturedRun,
  configOf,
  type RegisteredCluster,
  registerCluster,
  shareControlNamespace,
  storeKubeconfig,
} from './fixtures.ts';
import { cli, EVERY_CHECK_OK, registerOptions, storedKubeconfig } from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const proxyReady = Boolean(rig?.proxy);
const skipped = rig ? rig.proxySkipReason : skipReason;

function theProxy(): RigProxy {
  const proxy = theRig().proxy;
  if (!proxy) throw new Error(theRig().proxySkipReason);
  return proxy;
}

const portOf = (cluster: RigCluster) => new URL(cluster.server).port;
/** The rig cluster's address by the name only the proxy resolves. */
const proxiedServer = (id: 'a' | 'b') => `https://${proxiedHost(id)}:${portOf(theRig().clusters[id])}`;
const viaProxiedName = (id: 'a' | 'b') => (kubeconfig: string) =>
  kubeconfig.replace(theRig().clusters[id].server, proxiedServer(id));

async function putSecret(secretId: string, value: string): Promise<void> {
  const sm = new SecretsManagerClient({});
  try {
    await sm.send(new CreateSecretCommand({ Name: secretId, SecretString: value }));
  } catch {
    await sm.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
  }
}

async function secretExists(cluster: RigCluster, namespace: string, name: string): Promise<boolean> {
  const response = await kubeRequest(
    cluster,
    cluster.adminToken,
    'GET',
    `/api/v1/namespaces/${namespace}/secrets/${name}`,
  );
  return response.status === 200;
}

/**
 * Access log lines naming `host`, once squid has written at least `count` (it writes when a tunnel ends);
 * only those after the first `since` lines of the log.
 */
async function tunnelLines(host: string, count = 1, since = 0): Promise<string[]> {
  const proxy = theProxy();
  const matching = () =>
    accessLogLines(proxy)
      .slice(since)
      .filter((line) => line.includes(host));
  await waitFor(`${count} access log line(s) for ${host}`, async () => matching().length >= count, 30_000);
  return matching();
}

/** A plaintext request in squid's native log: a method other than CONNECT, or an http:// URL. */
const PLAINTEXT = /\s(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)\s|\shttps?:\/\//;

describe.skipIf(!proxyReady)(
  `a forward proxy per cluster on the rig${proxyReady ? '' : ` (skipped: ${skipped})`}`,
  () => {
    useRigAws();
    const dir = mkdtempSync(join(tmpdir(), 'cred-courier-proxy-'));
    let proxyUrlSink: RecordingListener;
    beforeAll(async () => {
      proxyUrlSink = await new RecordingListener().start();
    });
    afterAll(async () => {
      await proxyUrlSink?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    /** A restricted identity on rig cluster `id` whose stored kubeconfig names the proxied host. */
    async function proxiedCluster(
      id: 'a' | 'b',
      edit: (kubeconfig: string) => string = (k) => k,
    ): Promise<RegisteredCluster & { app: string }> {
      const app = uniqueName('app');
      const registered = await registerCluster(theRig().clusters[id], {
        namespaces: [app],
        secretNames: ['ecr-pull'],
        kubeconfig: (k) => edit(viaProxiedName(id)(k)),
      });
      return { ...registered, app };
    }

    /** One cluster entry; `proxy` is the YAML flow mapping of its proxy, if any. */
    const entry = (
      cluster: Pick<RegisteredCluster, 'name' | 'secretId'> & { readonly app: string },
      proxy?: string,
    ) =>
      [
        `  - name: ${cluster.name}`,
        `    kubeconfigSecret: ${cluster.secretId}`,
        `    namespaces: { names: [${cluster.app}] }`,
        '    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }',
        ...(proxy ? [`    proxy: ${proxy}`] : []),
      ].join('\n');

    const fileOf = (control: string, ...entries: string[]) =>
      `settings:\n  controlNamespace: ${control}\n  clusterDeadlineSeconds: 20\n  requestTimeoutSeconds: 5\nclusters:\n${entries.join('\n')}\n`;

    it('delivers through the proxy to a server only the proxy resolves; its log shows CONNECT tunnels and no plaintext request', async () => {
      // Prepare
      const proxy = theProxy();
      const cluster = await proxiedCluster('a');
      const withProxy = configOf(
        fileOf(cluster.controlNamespace, entry(cluster, `{ url: "${proxy.open}" }`)),
      );
      const direct = configOf(fileOf(cluster.controlNamespace, entry(cluster)));

      // Act
      const run = await capturedRun(withProxy);
      const withoutProxy = await capturedRun(direct);

      // Assess
      expect(run.result.ok, JSON.stringify(run.result.clusters[0]?.failure)).toBe(true);
      expect(
        run.result.clusters[0]?.secrets.map((s) => `${s.namespace}/${s.secretName}:${s.action}`),
      ).toEqual([`${cluster.app}/ecr-pull:created`]);
      expect(await secretExists(theRig().clusters.a, cluster.app, 'ecr-pull')).toBe(true);
      // Without the proxy the same stored kubeconfig cannot reach the cluster: its name does not resolve here.
      expect(withoutProxy.result.clusters[0]?.failure?.failureClass).toBe('dns');
      const host = `${proxiedHost('a')}:${portOf(theRig().clusters.a)}`;
      const lines = await tunnelLines(host);
      for (const line of lines)
        expect(line).toMatch(new RegExp(`TCP_TUNNEL/200 \\d+ CONNECT ${host.replaceAll('.', '\\.')} `));
      const all = accessLogLines(proxy);
      expect(all.filter((line) => PLAINTEXT.test(line))).toEqual([]);
      // Every request the proxy ever saw was a CONNECT.
      expect(all.filter((line) => !/ CONNECT \S+:\d+ /.test(line))).toEqual([]);
      expect(all.some((line) => /\/api\/v1\//.test(line))).toBe(false);
      process.stdout.write(`proxy access log (delivery through the open listener):\n${lines.join('\n')}\n`);
    });

    it('sends the credentials from Secrets Manager to the proxy: the right ones deliver, a wrong password is proxy-auth; neither reaches a log line or an error', async () => {
      // Prepare
      const proxy = theProxy();
      // Earlier tests' tunnels to the same apiserver are in the log already: wait for this test's own.
      const logged = accessLogLines(proxy).length;
      const good = await proxiedCluster('a');
      const bad = await proxiedCluster('b');
      const control = good.controlNamespace;
      await shareControlNamespace(theRig().clusters.b, control, bad);
      const goodSecret = `cred-courier/test/${uniqueName('proxy-credentials')}`;
      const badSecret = `cred-courier/test/${uniqueName('proxy-credentials')}`;
      const wrongPassword = `${proxy.password.slice(0, -4)}beef`;
      await putSecret(goodSecret, JSON.stringify({ username: proxy.username, password: proxy.password }));
      await putSecret(badSecret, JSON.stringify({ username: proxy.username, password: wrongPassword }));
      const config = configOf(
        fileOf(
          control,
          entry(good, `{ url: "${proxy.auth}", credentialsSecret: ${goodSecret} }`),
          entry(bad, `{ url: "${proxy.auth}", credentialsSecret: ${badSecret} }`),
        ),
      );

      // Act
      const run = await capturedRun(config);

      // Assess
      const [delivered, refused] = run.result.clusters;
      expect(delivered?.ok, JSON.stringify(delivered?.failure)).toBe(true);
      expect(delivered?.secrets.map((s) => s.action)).toEqual(['created']);
      expect(refused?.ok).toBe(false);
      expect(refused?.failure).toEqual({
        failureClass: 'proxy-auth',
        message: `cluster ${bad.name}: the proxy ${proxy.auth} answered CONNECT with 407 Proxy Authentication Required: it refused the credentials from proxy.credentialsSecret`,
      });
      const said = [...run.lines, JSON.stringify(run.result)].join('\n');
      for (const secret of [
        proxy.password,
        wrongPassword,
        proxyAuthorization({ username: proxy.username, password: proxy.password }),
        proxyAuthorization({ username: proxy.username, password: wrongPassword }),
      ]) {
        expect(said).not.toContain(secret);
      }
      // squid logs the user name of an accepted tunnel, never a password.
      const lines = await tunnelLines(`${proxiedHost('a')}:${portOf(theRig().clusters.a)}`, 1, logged);
      expect(lines.some((line) => line.includes(` ${proxy.username} `))).toBe(true);
      expect(accessLogLines(proxy).join('\n')).not.toContain(proxy.password);
      expect(await tunnelLines(`${proxiedHost('b')}:${portOf(theRig().clusters.b)}`)).toEqual(
        expect.arrayContaining([expect.stringMatching(/TCP_DENIED\/407 \d+ CONNECT /)]),
      );
    });

    it('a proxy that refuses fails only its own cluster: a rule denying the tunnel (403), and nothing listening; the other cluster of the run is delivered', async () => {
      // Prepare
      const proxy = theProxy();
      const delivered = await proxiedCluster('b');
      const denied = await proxiedCluster('a');
      const unreachable = await proxiedCluster('a');
      const control = delivered.controlNamespace;
      await shareControlNamespace(theRig().clusters.a, control, denied);
      await shareControlNamespace(theRig().clusters.a, control, unreachable);
      const closedPort = await freePort();
      const config = configOf(
        fileOf(
          control,
          entry(denied, `{ url: "${proxy.deny}" }`),
          entry(delivered, `{ url: "${proxy.open}" }`),
          entry(unreachable, `{ url: "http://127.0.0.1:${closedPort}" }`),
        ),
      );

      // Act
      const run = await capturedRun(config);

      // Assess
      const byName = Object.fromEntries(run.result.clusters.map((c) => [c.cluster, c]));
      expect(byName[delivered.name]?.ok, JSON.stringify(byName[delivered.name]?.failure)).toBe(true);
      expect(await secretExists(theRig().clusters.b, delivered.app, 'ecr-pull')).toBe(true);
      const host = `${proxiedHost('a')}:${portOf(theRig().clusters.a)}`;
      expect(byName[denied.name]?.failure).toEqual({
        failureClass: 'proxy-denied',
        message: `cluster ${denied.name}: the proxy ${proxy.deny} refused the tunnel to ${host}: CONNECT answered 403`,
      });
      expect(byName[unreachable.name]?.failure).toEqual({
        failureClass: 'proxy-unreachable',
        message: `cluster ${unreachable.name}: the proxy http://127.0.0.1:${closedPort} could not be reached (ECONNREFUSED)`,
      });
      expect(await secretExists(theRig().clusters.a, denied.app, 'ecr-pull')).toBe(false);
      expect(run.result.summary.clustersFailed).toBe(2);
    });

    it('a tunnel the proxy cannot open (nothing listens at the target) is proxy-tunnel', async () => {
      // Prepare
      const proxy = theProxy();
      const closedPort = await freePort();
      const cluster = await proxiedCluster('a', (k) =>
        k.replace(proxiedServer('a'), `https://${proxiedHost('a')}:${closedPort}`),
      );
      const config = configOf(fileOf(cluster.controlNamespace, entry(cluster, `{ url: "${proxy.open}" }`)));

      // Act
      const run = await capturedRun(config);

      // Assess
      expect(run.result.clusters[0]?.failure).toEqual({
        failureClass: 'proxy-tunnel',
        message: `cluster ${cluster.name}: the proxy ${proxy.open} could not open the tunnel to ${proxiedHost('a')}:${closedPort}: CONNECT answered 503`,
      });
    });

    it('a proxy that accepts and never answers CONNECT is abandoned at the request timeout, like an apiserver', async () => {
      // Prepare: a hand-written stand-in, since squid always answers; it accepts TCP and stays silent.
      const accepted = new Set<Socket>();
      const silent = createServer((socket) => accepted.add(socket));
      await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
      const address = silent.address() as AddressInfo;
      const cluster = await proxiedCluster('a');
      const config = configOf(
        fileOf(
          cluster.controlNamespace,
          entry(cluster, `{ url: "http://127.0.0.1:${address.port}" }`),
        ).replace('requestTimeoutSeconds: 5', 'requestTimeoutSeconds: 1'),
      );

      // Act
      const run = await capturedRun(config).finally(() => {
        for (const socket of accepted) socket.destroy();
        silent.close();
      });

      // Assess
      expect(run.result.clusters[0]?.failure?.failureClass).toBe('timeout');
      expect(run.result.clusters[0]?.durationMs).toBeLessThan(20_000);
      expect(accepted.size).toBeGreaterThan(0);
    });

    it("ignores the stored kubeconfig's proxy-url, with a proxy in the file and without one", async () => {
      // Prepare
      const proxy = theProxy();
      const withProxyUrl = (server: string) => (kubeconfig: string) =>
        kubeconfig.replace(
          `    server: ${server}`,
          `    server: ${server}\n    proxy-url: ${proxyUrlSink.origin}`,
        );
      const proxied = await proxiedCluster('a', withProxyUrl(proxiedServer('a')));
      const app = uniqueName('app');
      const direct = {
        ...(await registerCluster(theRig().clusters.a, {
          namespaces: [app],
          secretNames: ['ecr-pull'],
          kubeconfig: withProxyUrl(theRig().clusters.a.server),
        })),
        app,
      };
      await shareControlNamespace(theRig().clusters.a, proxied.controlNamespace, direct);
      expect(proxied.kubeconfig).toContain(`proxy-url: ${proxyUrlSink.origin}`);
      expect(direct.kubeconfig).toContain(`proxy-url: ${proxyUrlSink.origin}`);
      const config = configOf(
        fileOf(proxied.controlNamespace, entry(proxied, `{ url: "${proxy.open}" }`), entry(direct)),
      );

      // Act
      const run = await capturedRun(config);

      // Assess
      expect(run.result.clusters.map((c) => [c.ok, c.failure])).toEqual([
        [true, undefined],
        [true, undefined],
      ]);
      expect(proxyUrlSink.connections).toBe(0);
    });

    it("TLS runs end to end inside the tunnel: a server of another name, or the kubeconfig's CA not the server's, is tls and nothing is written", async () => {
      // Prepare: squid resolves both proxied names to the rig's host, so a tunnel to cluster b's name at
      // cluster a's port reaches cluster a, whose certificate (from a's CA) is not for that name.
      const proxy = theProxy();
      const { a, b } = theRig().clusters;
      const otherName = `${proxiedHost('b')}:${portOf(a)}`;
      const wrongName = await proxiedCluster('a', (k) =>
        k.replace(proxiedServer('a'), `https://${otherName}`),
      );
      const base64 = (pem: string) => Buffer.from(pem).toString('base64');
      const wrongCa = await proxiedCluster('a', (k) => k.replace(base64(a.caPem), base64(b.caPem)));
      expect(wrongName.kubeconfig).toContain(`server: https://${otherName}`);
      expect(wrongCa.kubeconfig).toContain(base64(b.caPem));
      const open = `{ url: "${proxy.open}" }`;
      const config = configOf(
        fileOf(wrongName.controlNamespace, entry(wrongName, open), entry(wrongCa, open)),
      );

      // Act
      const run = await capturedRun(config);

      // Assess
      expect(run.result.clusters.map((c) => [c.cluster, c.failure?.failureClass])).toEqual([
        [wrongName.name, 'tls'],
        [wrongCa.name, 'tls'],
      ]);
      expect(await secretExists(a, wrongName.app, 'ecr-pull')).toBe(false);
      expect(await secretExists(a, wrongCa.app, 'ecr-pull')).toBe(false);
      // Both went through the proxy as tunnels: the refusal was the client's, inside the tunnel.
      for (const line of await tunnelLines(otherName))
        expect(line).toMatch(new RegExp(`CONNECT ${otherName.replaceAll('.', '\\.')} `));
      expect(accessLogLines(proxy).filter((line) => PLAINTEXT.test(line))).toEqual([]);
    });

    it('register verifies the stored kubeconfig through the proxy, check connects through it, and a renewal goes through it', async () => {
      // Prepare
      const proxy = theProxy();
      const name = uniqueName('proxied');
      const app = uniqueName('app');
      const control = uniqueName('cc');
      const rigCluster = theRig().clusters.b;
      const file = join(dir, `${name}.yaml`);
      const secretId = `cred-courier/test/${name}`;
      writeFileSync(
        file,
        `settings:\n  controlNamespace: ${control}\n  clusterDeadlineSeconds: 30\nclusters:\n  - name: ${name}\n    kubeconfigSecret: ${secretId}\n    namespaces: { names: [${app}] }\n    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }\n    proxy: { url: "${proxy.open}" }\n`,
      );
      await ensureNamespace(rigCluster, app);
      const before = accessLogLines(proxy).length;

      // Act
      const registered = await register(
        registerOptions(
          { configFile: file, cluster: name, adminKubeconfigPath: rigCluster.adminKubeconfigPath },
          { server: proxiedServer('b'), token: { kind: 'token-request', seconds: 1200 } },
        ),
      );
      const config = await loadConfig(file);
      const kubeconfigs = secretsManagerKubeconfigs(defaultAwsClients().secretsManager(), { ttlSeconds: 0 });
      const check = await checkClusters({ config, kubeconfigs, redactor: new Redactor() });
      const clock = new Date(Date.now() + 11 * 60 * 1000);
      const run = await capturedRun(config, { now: () => clock });

      // Assess
      expect(registered.ok, JSON.stringify(registered.verification?.items)).toBe(true);
      // All checks pass through the proxy; the 20-minute token is (rightly) warned about as expiring.
      expect(
        check.clusters[0]?.items.filter((item) => item.status !== 'ok').map((item) => item.check),
        JSON.stringify(check.clusters[0]?.items),
      ).toEqual(['token-expiry']);
      expect(check.clusters[0]?.items).toContainEqual(
        expect.objectContaining({
          check: 'reachability',
          detail: expect.stringContaining(proxiedServer('b')),
        }),
      );
      expect(run.result.ok, JSON.stringify(run.result.clusters[0])).toBe(true);
      expect(run.result.clusters[0]?.credential?.renewal).toEqual({ outcome: 'renewed' });
      // Each of register's verification, check, the run and the renewal opened tunnels of its own.
      const host = `${proxiedHost('b')}:${portOf(rigCluster)}`;
      await waitFor(
        'tunnels of register, check, the run and the renewal',
        async () =>
          accessLogLines(proxy)
            .slice(before)
            .filter((l) => l.includes(`CONNECT ${host} `)).length >= 4,
        30_000,
      );
      expect(accessLogLines(proxy).filter((line) => PLAINTEXT.test(line))).toEqual([]);
    });

    describe('check --remote, through a stand-in of Lambda’s Invoke API that calls the real handler', () => {
      const saved = { ...process.env };
      let endpoint: LambdaEndpoint;
      const file = join(dir, 'remote-check.yaml');

      beforeAll(async () => {
        // Powertools' JSON log lines would mix with the CLI output the test captures.
        process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
        // The handler reads its registration file once, at its first invocation: the test writes it first.
        process.env.CRED_COURIER_CONFIG = file;
        const { handler } = await import('../../functions/distribute.ts');
        endpoint = await startFunctionEndpoint('cred-courier-rig-distribute', handler);
        // Only Lambda goes to the stand-in; Secrets Manager stays moto.
        process.env.AWS_ENDPOINT_URL_LAMBDA = endpoint.url;
      });
      afterAll(async () => {
        process.env = saved;
        await endpoint?.close();
      });

      it('the function reaches a cluster only the proxy resolves through the proxy its entry names (every check ok, CONNECT in the log); without one, reachability fails as dns with what to do', async () => {
        // Prepare: one identity, registered directly (so that every tunnel the log shows from here on is
        // the function's), stored for both clusters by the name only the proxy resolves.
        const proxy = theProxy();
        const rigCluster = theRig().clusters.a;
        const app = uniqueName('app');
        const control = uniqueName('cc');
        const named = (prefix: string) => {
          const name = uniqueName(prefix);
          return { name, app, secretId: `cred-courier/test/${name}` };
        };
        const proxied = named('via-proxy');
        const unproxied = named('no-proxy');
        writeFileSync(file, fileOf(control, entry(proxied), entry(unproxied)));
        await ensureNamespace(rigCluster, app);
        const registered = await register(
          registerOptions(
            { configFile: file, cluster: proxied.name, adminKubeconfigPath: rigCluster.adminKubeconfigPath },
            // Beyond check's 7-day expiry warning.
            { token: { kind: 'token-request', seconds: 30 * 24 * 3600 } },
          ),
        );
        expect(registered.ok, JSON.stringify(registered.verification?.items)).toBe(true);
        const stored = viaProxiedName('a')(await storedKubeconfig(proxied.secretId));
        expect(stored).toContain(`server: ${proxiedServer('a')}`);
        for (const { secretId } of [proxied, unproxied]) await storeKubeconfig(secretId, stored);
        writeFileSync(file, fileOf(control, entry(proxied, `{ url: "${proxy.open}" }`), entry(unproxied)));
        const before = accessLogLines(proxy).length;

        // Act
        const text = await cli(['check', '--remote', '--stage', 'rig']);
        const json = await cli(['check', '--remote', '--stage', 'rig', '-o', 'json']);
        process.stdout.write(
          `check --remote of a cluster through its proxy and one without:\n$ cred-courier check --remote --stage rig\n${text.stderr}${text.stdout}exit ${text.code}\n`,
        );

        // Assess
        expect(text.code).toBe(1);
        expect(json.code).toBe(1);
        const report = JSON.parse(json.stdout) as CheckReport;
        expect(text.stdout).toBe(`${checkText(report)}\n`);
        const byName = Object.fromEntries(report.clusters.map((c) => [c.cluster, c]));
        expect(byName[proxied.name]?.ok).toBe(true);
        expect(byName[proxied.name]?.items.map((i) => `${i.check}:${i.status}`)).toEqual(EVERY_CHECK_OK);
        expect(byName[proxied.name]?.items[1]?.detail).toMatch(
          new RegExp(`^${proxiedServer('a').replaceAll('.', '\\.')} answers \\(Kubernetes v`),
        );
        expect(byName[unproxied.name]?.ok).toBe(false);
        expect(byName[unproxied.name]?.items.map((i) => `${i.check}:${i.status}`)).toEqual([
          'kubeconfig:ok',
          'reachability:fail',
        ]);
        expect(byName[unproxied.name]?.items[1]?.detail).toMatch(
          new RegExp(
            `^dns: .*${proxiedHost('a').replaceAll('.', '\\.')}.*\\(the server name does not resolve\\); to do: the server must be reachable from where delivery runs \\(the function's network, not yours\\).*or name a proxy for the cluster in the registration file`,
          ),
        );
        expect(text.stdout).toContain(
          `${unproxied.name}: PROBLEMS\n  ✓ kubeconfig: read from ${unproxied.secretId}\n  ✗ reachability: dns: `,
        );
        // The two checks tunnelled to the apiserver through the proxy; nothing went in plaintext.
        const host = `${proxiedHost('a')}:${portOf(rigCluster)}`;
        const lines = await tunnelLines(`CONNECT ${host} `, 2, before);
        for (const line of lines)
          expect(line).toMatch(new RegExp(`TCP_TUNNEL/200 \\d+ CONNECT ${host.replaceAll('.', '\\.')} `));
        expect(accessLogLines(proxy).filter((line) => PLAINTEXT.test(line))).toEqual([]);
        process.stdout.write(`proxy access log (the function's checks):\n${lines.join('\n')}\n`);
      });
    });
  },
);
