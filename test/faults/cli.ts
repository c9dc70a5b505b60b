/**
 * The command line as a user runs it: `bin/cred-courier.js` in a child process with the given
 * registration file and AWS endpoint, bounded in time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, type RigAws } from '../rig/rig.ts';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** A stack frame line as Node prints it: a stack trace in output is a defect. */
export const STACK_FRAME = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;

const tempDirs: string[] = [];

/** Writes `text` to a fresh temporary file and returns its path; `removeTempFiles` deletes them all. */
export function tempFile(name: string, text: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-cli-'));
  tempDirs.push(dir);
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export function removeTempFiles(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function runCli(
  args: readonly string[],
  options: { readonly aws: RigAws; readonly endpoint?: string; readonly timeoutMs?: number },
): Promise<CliResult> {
  const started = Date.now();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ENDPOINT_URL: options.endpoint ?? options.aws.endpoint,
    AWS_REGION: options.aws.region,
    AWS_ACCESS_KEY_ID: options.aws.accessKeyId,
    AWS_SECRET_ACCESS_KEY: options.aws.secretAccessKey,
  };
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/cred-courier.js'), ...args], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Date.now() - started,
      });
    });
  });
}
