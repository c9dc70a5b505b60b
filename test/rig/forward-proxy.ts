/**
 * The rig's forward proxy: a real squid from the distribution's packages, started with the rig on
 * loopback ports and stopped with it. Its own hosts file makes `apiserver-<id>.proxied.test` resolve to
 * the rig's apiservers for squid only: this process cannot resolve those names, so a request that
 * reaches an apiserver by such a name went through the proxy. One squid, three listeners:
 *
 * | listener | what it does                                                                        |
 * | -------- | ----------------------------------------------------------------------------------- |
 * | open     | CONNECT to `*.proxied.test` without credentials                                     |
 * | auth     | the same, only with basic credentials (`username`/`password`; 407 without them)     |
 * | deny     | refuses every CONNECT (403), as a proxy whose rules do not allow the target         |
 *
 * Every plaintext request (anything but CONNECT) is refused, and shows in the access log.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Coordinates of the rig's forward proxy, for tests. Plain data (crosses vitest's provide/inject). */
export interface RigProxy {
  /** `http://127.0.0.1:<port>` of each listener. */
  readonly open: string;
  readonly auth: string;
  readonly deny: string;
  /** Credentials the auth listener accepts, generated per run. */
  readonly username: string;
  readonly password: string;
  /** squid's access log (native format: one line per request or tunnel, written when it ends). */
  readonly accessLog: string;
  /** The name only the proxy resolves for a rig cluster (`a` → apiserver-a.proxied.test). */
  readonly hostSuffix: string;
}

export const PROXIED_HOST_SUFFIX = 'proxied.test';

/** The name of a rig cluster that only the proxy resolves. */
export function proxiedHost(id: 'a' | 'b'): string {
  return `apiserver-${id}.${PROXIED_HOST_SUFFIX}`;
}

const SQUID = '/usr/sbin/squid';
const NCSA_AUTH = '/usr/lib/squid/basic_ncsa_auth';

function has(path: string): boolean {
  try {
    execFileSync('test', ['-x', path]);
    return true;
  } catch {
    return false;
  }
}

/**
 * squid, installed from the distribution's packages when missing and this process may (root, apt-get);
 * otherwise why not, for the proxy tests to fail under CI and skip elsewhere.
 */
export function ensureSquid(log: (line: string) => void): string | undefined {
  if (has(SQUID) && has(NCSA_AUTH)) return undefined;
  const root = process.getuid?.() === 0;
  if (root && has('/usr/bin/apt-get')) {
    log('rig: installing squid (apt-get) for the forward proxy tests');
    try {
      execFileSync(
        'bash',
        ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq squid'],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
    } catch {
      // reported below
    }
    if (has(SQUID) && has(NCSA_AUTH)) return undefined;
  }
  return `the forward proxy tests need squid (${SQUID} and ${NCSA_AUTH}; apt-get install squid${root ? ' failed' : ' as root'})`;
}

function squidConfig(options: {
  readonly ports: { readonly open: number; readonly auth: number; readonly deny: number };
  readonly dir: string;
  readonly logDir: string;
}): string {
  const { ports, dir, logDir } = options;
  return [
    `http_port 127.0.0.1:${ports.open} name=open`,
    `http_port 127.0.0.1:${ports.auth} name=auth`,
    `http_port 127.0.0.1:${ports.deny} name=deny`,
    `hosts_file ${join(dir, 'hosts')}`,
    `auth_param basic program ${NCSA_AUTH} ${join(dir, 'passwd')}`,
    'auth_param basic realm rig-proxy',
    'acl open_port myportname open',
    'acl auth_port myportname auth',
    'acl CONNECT method CONNECT',
    `acl proxied dstdomain .${PROXIED_HOST_SUFFIX}`,
    'acl authenticated proxy_auth REQUIRED',
    'http_access deny !CONNECT',
    'http_access deny !proxied',
    'http_access allow open_port',
    'http_access allow auth_port authenticated',
    'http_access deny all',
    `access_log stdio:${join(logDir, 'access.log')}`,
    `cache_log ${join(logDir, 'cache.log')}`,
    'cache_store_log none',
    'cache deny all',
    'cache_mem 8 MB',
    'pid_filename none',
    `coredump_dir ${logDir}`,
    'logfile_rotate 0',
    'buffered_logs off',
    'visible_hostname rig-proxy',
    'shutdown_lifetime 1 seconds',
    // No ICMP helper: it would outlive squid by seconds.
    'pinger_enable off',
    'max_filedescriptors 1024',
    '',
  ].join('\n');
}

/** Whether squid says it accepts connections on every port (a probe connection would fill its access log). */
function accepting(cacheLog: string, ports: readonly number[]): boolean {
  let text = '';
  try {
    text = readFileSync(cacheLog, 'utf8');
  } catch {
    return false;
  }
  return ports.every(
    (port) =>
      text.includes(`Accepting HTTP Socket connections at`) && text.includes(`local=127.0.0.1:${port} `),
  );
}

/**
 * Starts squid through `start` (the rig's process bookkeeping: pid file, watchdog, stop) with a config
 * written to `runDir/squid`; its logs go to `logDir/squid` (kept after the run).
 */
export async function startForwardProxy(options: {
  readonly runDir: string;
  readonly logDir: string;
  readonly freePort: () => Promise<number>;
  readonly start: (name: string, command: string, args: readonly string[]) => ChildProcess;
  readonly waitFor: (what: string, probe: () => Promise<boolean>, timeoutMs: number) => Promise<void>;
}): Promise<RigProxy> {
  const dir = join(options.runDir, 'squid');
  const logDir = join(options.logDir, 'squid');
  mkdirSync(dir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  // Run as root, squid drops to its own user (proxy), which must write the logs and read the files.
  chmodSync(logDir, 0o777);
  chmodSync(dir, 0o755);
  const username = 'courier';
  const password = randomBytes(12).toString('hex');
  const hash = execFileSync('openssl', ['passwd', '-apr1', '-stdin'], { input: password }).toString().trim();
  writeFileSync(join(dir, 'passwd'), `${username}:${hash}\n`, { mode: 0o644 });
  writeFileSync(join(dir, 'hosts'), `127.0.0.1 ${proxiedHost('a')} ${proxiedHost('b')}\n`, { mode: 0o644 });
  const ports = {
    open: await options.freePort(),
    auth: await options.freePort(),
    deny: await options.freePort(),
  };
  const config = join(dir, 'squid.conf');
  writeFileSync(config, squidConfig({ ports, dir, logDir }), { mode: 0o644 });
  // -N: in the foreground, one process the rig stops; -d1: startup errors on stderr (the service log).
  options.start('squid', SQUID, ['-N', '-d1', '-f', config]);
  await options.waitFor(
    'squid',
    async () => accepting(join(logDir, 'cache.log'), Object.values(ports)),
    30_000,
  );
  const url = (port: number) => `http://127.0.0.1:${port}`;
  return {
    open: url(ports.open),
    auth: url(ports.auth),
    deny: url(ports.deny),
    username,
    password,
    accessLog: join(logDir, 'access.log'),
    hostSuffix: PROXIED_HOST_SUFFIX,
  };
}

/** The access log's lines so far (squid writes a tunnel's line when the tunnel closes). */
export function accessLogLines(proxy: RigProxy): string[] {
  try {
    return readFileSync(proxy.accessLog, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
