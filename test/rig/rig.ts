/**
 * The local control plane: etcd, two independent Kubernetes clusters (each its own kube-apiserver, CA,
 * serving certificate, tokens and kube-controller-manager) and moto as the AWS endpoint, all on free
 * loopback ports. Used by the test suite's global setup and by `npm run dev:up`.
 *
 * Everything it starts is stopped by `stop()`, by the process exiting, and — should this process be
 * killed outright — by a watchdog that outlives it, and by the next start (stale pid file).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSquid, proxiedHost, type RigProxy, startForwardProxy } from './forward-proxy.ts';
import { kubeRequest } from './kube-http.ts';

const RIG_DIR = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = resolve(RIG_DIR, '../..');
export const CACHE_DIR = process.env.RIG_CACHE_DIR ?? join(PROJECT_ROOT, '.cache/rig');

/** The versions pinned in versions.env, the one place they are set. */
export function pinnedVersions(): Record<string, string> {
  const text = readFileSync(join(RIG_DIR, 'versions.env'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => line.split('=', 2) as [string, string]),
  );
}

/** What a test needs to reach one cluster. Plain data, so it can cross vitest's provide/inject. */
/** What this machine lacks to build and run the rig; empty when it can. */
export function missingPrerequisites(): string[] {
  const versions = pinnedVersions();
  const built = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'].every((name) =>
    existsSync(
      join(
        CACHE_DIR,
        'bin',
        `${name}-${name === 'etcd' ? versions.ETCD_VERSION : versions.KUBERNETES_VERSION}`,
      ),
    ),
  );
  const has = (command: string) => {
    try {
      execFileSync(command, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      try {
        execFileSync(command, ['version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    }
  };
  const missing: string[] = [];
  if (!built && !has('go')) missing.push('Go (to build etcd and Kubernetes from the module proxy)');
  if (!has('python3')) missing.push('Python 3 (for moto)');
  if (!has('openssl')) missing.push('openssl');
  return missing;
}

export interface RigCluster {
  readonly name: string;
  readonly server: string;
  readonly caPem: string;
  readonly adminToken: string;
  readonly adminKubeconfigPath: string;
  /** PEM files of the cluster CA, for tests that issue client certificates. */
  readonly caCertFile: string;
  readonly caKeyFile: string;
}

export interface RigAws {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface RigInfo {
  readonly clusters: { readonly a: RigCluster; readonly b: RigCluster };
  readonly aws: RigAws;
  readonly kubernetesVersion: string;
  readonly etcdVersion: string;
  readonly logDir: string;
  readonly pids: readonly number[];
  /** A Python with moto and boto3, for tests that consume credentials the way workloads do. */
  readonly python: string;
  /** The forward proxy (squid); null when squid is not there (only outside CI), with the reason. */
  readonly proxy: RigProxy | null;
  readonly proxySkipReason: string;
  /** kubectl of the clusters' version, for tests that run commands as an operator would. */
  readonly kubectl: string;
}

export interface Rig extends RigInfo {
  stop(): Promise<void>;
}

interface StartOptions {
  /** Where logs, certificates and kubeconfigs of this run go. */
  readonly runDir?: string;
  readonly log?: (line: string) => void;
}

/** Builds the binaries when missing (minutes the first time), then starts the whole stack. */
export async function startRig(options: StartOptions = {}): Promise<Rig> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const versions = pinnedVersions();
  const k8s = required(versions, 'KUBERNETES_VERSION');
  const etcdVersion = required(versions, 'ETCD_VERSION');
  // One folder per owning process, so several test runs (or a test run beside `dev:up`) can coexist.
  const runDir = options.runDir ?? join(CACHE_DIR, `run-${process.pid}`);
  const pidFile = join(runDir, 'pids');

  killStale(log);
  rmSync(runDir, { recursive: true, force: true });
  // Logs outlive the run (certificates and etcd data do not): the last few runs' are kept.
  const logDir = join(CACHE_DIR, 'logs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(logDir, { recursive: true });
  mkdirSync(runDir, { recursive: true });
  pruneOldLogs();

  buildBinaries(log);
  const python = ensureMoto(log);
  const proxySkipReason = ensureSquid(log) ?? '';
  if (proxySkipReason && process.env.CI === 'true')
    throw new Error(`rig: ${proxySkipReason} (CI=true: failing instead of skipping)`);
  if (proxySkipReason) log(`rig: skipping the forward proxy tests: ${proxySkipReason}`);
  const bin = (name: string, version: string) => join(CACHE_DIR, 'bin', `${name}-${version}`);

  const started = Date.now();
  const processes: ChildProcess[] = [];
  const services = new Services(processes, logDir, pidFile);
  const watchdog = startWatchdog(pidFile);
  try {
    const etcdPort = await freePort();
    const etcdPeerPort = await freePort();
    services.start('etcd', bin('etcd', etcdVersion), [
      `--data-dir=${join(runDir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    const alive = () => services.assertAlive();
    await waitFor('etcd', () => httpOk(`http://127.0.0.1:${etcdPort}/health`), 30_000, alive);

    const awsPort = await freePort();
    services.start('moto', python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(awsPort)]);

    const clusters = await Promise.all(
      (['a', 'b'] as const).map((id) =>
        startCluster({ id, runDir, services, etcdPort, apiserver: bin('kube-apiserver', k8s) }),
      ),
    );
    await waitFor('moto', () => httpOk(`http://127.0.0.1:${awsPort}/moto-api/`), 30_000, alive);
    await Promise.all(
      clusters.map((cluster, index) =>
        startControllerManager(cluster, runDir, services, bin('kube-controller-manager', k8s), index),
      ),
    );
    log(
      `rig: etcd ${etcdVersion}, Kubernetes ${k8s} x2, moto ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    const proxy = proxySkipReason
      ? null
      : await startForwardProxy({
          runDir,
          logDir,
          freePort,
          start: (name, command, args) => services.start(name, command, args),
          waitFor: (what, probe, timeoutMs) => waitFor(what, probe, timeoutMs, alive),
        });
    const [a, b] = clusters as [RigCluster, RigCluster];
    const info: RigInfo = {
      clusters: { a, b },
      aws: {
        endpoint: `http://127.0.0.1:${awsPort}`,
        region: 'eu-west-1',
        // moto accepts any keys; these are generated so nothing credential-shaped is committed.
        accessKeyId: `rigtest${randomBytes(6).toString('hex')}`,
        secretAccessKey: randomBytes(20).toString('hex'),
      },
      kubernetesVersion: k8s,
      etcdVersion,
      logDir,
      pids: processes.map((p) => p.pid ?? 0),
      python,
      proxy,
      proxySkipReason,
      kubectl: bin('kubectl', k8s),
    };
    return {
      ...info,
      stop: async () => {
        await services.stopAll();
        watchdog.kill('SIGKILL');
        rmSync(runDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await services.stopAll();
    watchdog.kill('SIGKILL');
    throw new Error(`rig: could not start (${String(error)}); logs in ${logDir}`, {
      cause: error,
    });
  }
}

function required(values: Record<string, string>, key: string): string {
  const value = values[key];
  if (!value) throw new Error(`rig: ${key} missing from test/rig/versions.env`);
  return value;
}

function buildBinaries(log: (line: string) => void): void {
  const started = Date.now();
  execFileSync('bash', [join(RIG_DIR, 'build-binaries.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 5) log(`rig: binaries built in ${seconds.toFixed(0)} s`);
}

/**
 * moto's server needs Flask and flask-cors on top of moto. Use the machine's python when it has them;
 * otherwise install the pinned `moto[server]` into a virtualenv under the cache, once.
 */
function ensureMoto(log: (line: string) => void): string {
  const check = ['-c', 'import moto.server, flask, flask_cors'];
  const venvPython = join(CACHE_DIR, 'venv/bin/python');
  for (const python of [process.env.RIG_PYTHON, venvPython, 'python3']) {
    if (!python) continue;
    try {
      execFileSync(python, check, { stdio: 'ignore' });
      return python;
    } catch {
      // not usable; try the next one
    }
  }
  const moto = required(pinnedVersions(), 'MOTO_VERSION');
  log(`rig: installing moto[server]==${moto} into ${dirname(dirname(venvPython))}`);
  execFileSync('python3', ['-m', 'venv', dirname(dirname(venvPython))], { stdio: 'inherit' });
  execFileSync(venvPython, ['-m', 'pip', 'install', '--quiet', `moto[server]==${moto}`], {
    stdio: 'inherit',
  });
  return venvPython;
}

/** Starts child processes, logs each to its own file, records their pids and stops them all. */
class Services {
  private readonly processes: ChildProcess[];
  private readonly logDir: string;
  private readonly pidFile: string;
  private readonly exitHandler = () => this.killNow();
  private stopping = false;
  /** Services that died on their own, for a readiness wait to fail fast with the reason. */
  readonly exited: string[] = [];

  constructor(processes: ChildProcess[], logDir: string, pidFile: string) {
    this.processes = processes;
    this.logDir = logDir;
    this.pidFile = pidFile;
    process.once('exit', this.exitHandler);
  }

  start(name: string, command: string, args: readonly string[]): ChildProcess {
    const logFile = join(this.logDir, `${name}.log`);
    const out = createWriteStream(logFile);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    child.on('error', (error) => out.write(`rig: failed to start ${name}: ${error.message}\n`));
    child.once('exit', (code, signal) => {
      if (!this.stopping) this.exited.push(`${name} exited (${signal ?? code}); see ${logFile}`);
    });
    this.processes.push(child);
    writeFileSync(this.pidFile, this.processes.map((p) => p.pid).join('\n'));
    return child;
  }

  private killNow(): void {
    for (const child of this.processes) if (child.exitCode === null) child.kill('SIGKILL');
  }

  /** Throws when any service died on its own. */
  assertAlive(): void {
    if (this.exited.length > 0) throw new Error(this.exited.join('; '));
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    const running = this.processes.filter((child) => child.exitCode === null && child.signalCode === null);
    await Promise.all(
      running.map(
        (child) =>
          new Promise<void>((done) => {
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            child.once('exit', () => {
              clearTimeout(timer);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(this.pidFile, { force: true });
    process.removeListener('exit', this.exitHandler);
  }
}

/**
 * A shell that outlives a `kill -9` of this process: when its parent is gone it kills every pid in the
 * pid file. Detached so a Ctrl-C to the terminal's process group reaches this process first.
 */
function startWatchdog(pidFile: string): ChildProcess {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; [ -f "$1" ] && xargs -r kill -9 < "$1" 2>/dev/null; rm -f "$1"`;
  const child = spawn('bash', ['-c', script, 'rig-watchdog', pidFile], { detached: true, stdio: 'ignore' });
  child.unref();
  return child;
}

/**
 * Kills what earlier runs left behind when their owner died without stopping them (kill -9 and the
 * watchdog gone too): every `run-<pid>` folder whose owner process no longer exists.
 */
function killStale(log: (line: string) => void): void {
  if (!existsSync(CACHE_DIR)) return;
  for (const entry of readdirSync(CACHE_DIR)) {
    const owner = /^run-(\d+)$/.exec(entry)?.[1];
    if (!owner || isAlive(Number(owner))) continue;
    const pidFile = join(CACHE_DIR, entry, 'pids');
    const pids = existsSync(pidFile)
      ? readFileSync(pidFile, 'utf8').split('\n').map(Number).filter(Boolean)
      : [];
    for (const pid of pids) {
      if (!isAlive(pid)) continue;
      process.kill(pid, 'SIGKILL');
      log(`rig: killed stale process ${pid}`);
    }
    rmSync(join(CACHE_DIR, entry), { recursive: true, force: true });
  }
}

const KEPT_LOG_RUNS = 5;

function pruneOldLogs(): void {
  const root = join(CACHE_DIR, 'logs');
  const runs = readdirSync(root).sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - KEPT_LOG_RUNS)))
    rmSync(join(root, old), { recursive: true, force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  alive: () => void = () => {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    alive();
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready after ${timeoutMs / 1000} s`);
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a serving certificate for 127.0.0.1/localhost and a service-account signing key. */
function makeClusterPki(
  dir: string,
  id: string,
): { caCert: string; caKey: string; cert: string; key: string; saKey: string; saPub: string } {
  mkdirSync(dir, { recursive: true });
  const p = (file: string) => join(dir, file);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '7',
    '-subj',
    `/CN=rig-cluster-${id}-ca`,
  ]);
  openssl([
    'req',
    ...ec,
    '-keyout',
    p('apiserver.key'),
    '-out',
    p('apiserver.csr'),
    '-subj',
    '/CN=kube-apiserver',
  ]);
  // The proxied name resolves only in the rig's forward proxy (forward-proxy.ts).
  writeFileSync(
    p('san.ext'),
    `subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${proxiedHost(id as 'a' | 'b')}\nextendedKeyUsage=serverAuth\n`,
  );
  openssl([
    'x509',
    '-req',
    '-in',
    p('apiserver.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('apiserver.crt'),
    '-days',
    '7',
    '-extfile',
    p('san.ext'),
  ]);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', p('sa.key')]);
  openssl(['pkey', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    cert: p('apiserver.crt'),
    key: p('apiserver.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}

interface ClusterStart {
  readonly id: 'a' | 'b';
  readonly runDir: string;
  readonly services: Services;
  readonly etcdPort: number;
  readonly apiserver: string;
}

async function startCluster({
  id,
  runDir,
  services,
  etcdPort,
  apiserver,
}: ClusterStart): Promise<RigCluster> {
  const dir = join(runDir, `cluster-${id}`);
  const pki = makeClusterPki(dir, id);
  const adminToken = randomBytes(24).toString('hex');
  const controllerToken = randomBytes(24).toString('hex');
  writeFileSync(
    join(dir, 'tokens.csv'),
    // The controller manager runs every controller under its own identity (no per-controller
    // ServiceAccounts), so it needs the union of their rights: system:masters, as in envtest.
    `${adminToken},rig-admin,rig-admin,"system:masters"\n${controllerToken},rig-controller-manager,kcm,"system:masters"\n`,
  );
  const port = await freePort();
  services.start(`kube-apiserver-${id}`, apiserver, [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--etcd-prefix=/cluster-${id}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    // The endpoint reconciler would publish this address in the `kubernetes` Service; a loopback address
    // is invalid there, so publish nothing (nothing in cred-courier reads it).
    '--advertise-address=127.0.0.1',
    '--endpoint-reconciler-type=none',
    `--cert-dir=${dir}`,
    `--tls-cert-file=${pki.cert}`,
    `--tls-private-key-file=${pki.key}`,
    `--client-ca-file=${pki.caCert}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    `--service-account-issuer=https://cluster-${id}.rig.invalid`,
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--disable-admission-plugins=ServiceAccount',
    '--profiling=false',
  ]);
  const cluster: RigCluster = {
    name: `cluster-${id}`,
    server: `https://127.0.0.1:${port}`,
    caPem: readFileSync(pki.caCert, 'utf8'),
    adminToken,
    adminKubeconfigPath: join(dir, 'admin.kubeconfig'),
    caCertFile: pki.caCert,
    caKeyFile: pki.caKey,
  };
  writeFileSync(cluster.adminKubeconfigPath, tokenKubeconfig(cluster, 'rig-admin', adminToken));
  writeFileSync(join(dir, 'controller-manager.kubeconfig'), tokenKubeconfig(cluster, 'kcm', controllerToken));
  await waitFor(
    `kube-apiserver-${id}`,
    async () =>
      (await kubeRequest(cluster, adminToken, 'GET', '/readyz').catch(() => ({ status: 0 }))).status === 200,
    90_000,
    () => services.assertAlive(),
  );
  return cluster;
}

async function startControllerManager(
  cluster: RigCluster,
  runDir: string,
  services: Services,
  binary: string,
  index: number,
): Promise<void> {
  const id = index === 0 ? 'a' : 'b';
  const dir = join(runDir, `cluster-${id}`);
  services.start(`kube-controller-manager-${id}`, binary, [
    `--kubeconfig=${join(dir, 'controller-manager.kubeconfig')}`,
    // Namespace deletion (finalizers), the `default` ServiceAccount in new namespaces, garbage collection
    // and legacy token Secrets: the controllers whose behaviour cred-courier meets in real clusters.
    '--controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller',
    `--service-account-private-key-file=${join(dir, 'sa.key')}`,
    `--root-ca-file=${join(dir, 'ca.crt')}`,
    '--use-service-account-credentials=false',
    '--leader-elect=false',
    '--secure-port=0',
    '--concurrent-namespace-syncs=2',
  ]);
  // Ready when the ServiceAccount controller has made `default` in the `default` namespace.
  await waitFor(
    `kube-controller-manager-${id}`,
    async () =>
      (
        await kubeRequest(
          cluster,
          cluster.adminToken,
          'GET',
          '/api/v1/namespaces/default/serviceaccounts/default',
        ).catch(() => ({ status: 0 }))
      ).status === 200,
    60_000,
    () => services.assertAlive(),
  );
}

/** A kubeconfig holding a bearer token, the server and its CA: the shape a user registers. */
export function tokenKubeconfig(
  cluster: Pick<RigCluster, 'name' | 'server' | 'caPem'>,
  user: string,
  token: string,
): string {
  const ca = Buffer.from(cluster.caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${cluster.name}`,
    '  cluster:',
    `    server: ${cluster.server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${user}@${cluster.name}`,
    '  context:',
    `    cluster: ${cluster.name}`,
    `    user: ${user}`,
    `current-context: ${user}@${cluster.name}`,
    '',
  ].join('\n');
}
