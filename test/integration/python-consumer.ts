/**
 * A long-running Python process (boto3 from moto's environment) answering one JSON line per line it is
 * sent: the consumers that use delivered credentials the way a workload in a Pod would.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { theRig } from './rig-context.ts';

export interface PythonConsumer {
  call(line: string): Promise<Record<string, unknown>>;
  stop(): void;
}

/** Starts `script` with `args`; the environment is `env` as given (callers remove what must not leak in). */
export function startPythonConsumer(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): PythonConsumer {
  const child: ChildProcessWithoutNullStreams = spawn(theRig().python, ['-c', script, ...args], { env });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return {
    async call(line: string): Promise<Record<string, unknown>> {
      child.stdin.write(`${line}\n`);
      const next = await lines.next();
      if (next.done) throw new Error(`consumer exited: ${stderr}`);
      return JSON.parse(next.value) as Record<string, unknown>;
    },
    stop: () => child.kill(),
  };
}
