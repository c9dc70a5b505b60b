/**
 * Vitest global setup of the integration project: starts the local control plane once for all files and
 * hands its coordinates to tests through `inject('rig')`.
 */
import type { TestProject } from 'vitest/node';
import { missingPrerequisites, type RigInfo, startRig } from './rig.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** null when the rig could not run here (only outside CI); tests then skip with `rigSkipReason`. */
    rig: RigInfo | null;
    rigSkipReason: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    const reason = `integration tests need ${missing.join(' and ')} to build and run the local control plane`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: failing instead of skipping)`);
    process.stderr.write(`rig: skipping integration tests: ${reason}\n`);
    project.provide('rig', null);
    project.provide('rigSkipReason', reason);
    return async () => {};
  }
  const rig = await startRig();
  const { stop, ...info } = rig;
  project.provide('rig', info);
  project.provide('rigSkipReason', '');
  return stop;
}
