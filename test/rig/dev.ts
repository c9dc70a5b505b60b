/**
 * `npm run dev:up` / `npm run dev:down`: the test suite's stack in the background for manual work.
 * `up` starts a detached `serve` process that owns the rig and writes `.local/env`; `down` stops it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT, startRig, waitFor } from './rig.ts';

const LOCAL = join(PROJECT_ROOT, '.local');
const ENV_FILE = join(LOCAL, 'env');
const PID_FILE = join(LOCAL, 'rig.pid');
const LOG_FILE = join(LOCAL, 'rig.log');

function running(): number | undefined {
  if (!existsSync(PID_FILE)) return undefined;
  const pid = Number(readFileSync(PID_FILE, 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function up(): Promise<void> {
  const pid = running();
  if (pid) {
    process.stdout.write(`already running (pid ${pid}); settings in ${ENV_FILE}\n`);
    return;
  }
  mkdirSync(LOCAL, { recursive: true });
  rmSync(ENV_FILE, { force: true });
  const log = openSync(LOG_FILE, 'w');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve'], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  process.stdout.write(`starting the local stack (pid ${child.pid}; log ${LOG_FILE})…\n`);
  await waitFor('local stack', async () => existsSync(ENV_FILE) || child.exitCode !== null, 1_800_000);
  if (!existsSync(ENV_FILE)) throw new Error(`the local stack did not start; see ${LOG_FILE}`);
  process.stdout.write(`ready. In your shell: set -a; . ${ENV_FILE}; set +a\n`);
}

async function serve(): Promise<void> {
  const rig = await startRig({ runDir: join(LOCAL, 'rig') });
  writeFileSync(PID_FILE, String(process.pid));
  const stop = async () => {
    await rig.stop();
    rmSync(ENV_FILE, { force: true });
    rmSync(PID_FILE, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const lines = {
    CLUSTER_A_KUBECONFIG: rig.clusters.a.adminKubeconfigPath,
    CLUSTER_B_KUBECONFIG: rig.clusters.b.adminKubeconfigPath,
    AWS_ENDPOINT_URL: rig.aws.endpoint,
    AWS_REGION: rig.aws.region,
    AWS_ACCESS_KEY_ID: rig.aws.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rig.aws.secretAccessKey,
    RIG_LOG_DIR: rig.logDir,
  };
  writeFileSync(
    ENV_FILE,
    `${Object.entries(lines)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  process.stdout.write(`rig: up; ${ENV_FILE}\n`);
  setInterval(() => {}, 1 << 30);
}

async function down(): Promise<void> {
  const pid = running();
  if (!pid) {
    process.stdout.write('not running\n');
    return;
  }
  process.kill(pid, 'SIGTERM');
  await waitFor('local stack to stop', async () => running() === undefined, 30_000);
  process.stdout.write('stopped\n');
}

const commands: Record<string, () => Promise<void>> = { up, down, serve };
const command = commands[process.argv[2] ?? ''];
if (!command) {
  process.stderr.write('usage: node test/rig/dev.ts up|down\n');
  process.exit(2);
}
command().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
