/**
 * What an integration test file needs from the rig: its coordinates (or a reason to skip) and an
 * environment where the AWS SDK reaches moto with nothing but the standard variables.
 */
import { inject } from 'vitest';
import type { RigInfo } from '../rig/rig.ts';

export const rig = inject('rig') as RigInfo | null;
export const skipReason = inject('rigSkipReason');

/** The rig, for use inside tests that were skipped when it is absent. */
export function theRig(): RigInfo {
  if (!rig) throw new Error(skipReason);
  return rig;
}

/** Points the AWS SDK's default chain at moto for this test file. */
export function useRigAws(): void {
  if (!rig) return;
  process.env.AWS_ENDPOINT_URL = rig.aws.endpoint;
  process.env.AWS_REGION = rig.aws.region;
  process.env.AWS_ACCESS_KEY_ID = rig.aws.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = rig.aws.secretAccessKey;
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

/** A name no other test uses, valid as a namespace. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}
