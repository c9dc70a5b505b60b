/**
 * The AWS setup, checked once before a run or a command contacts anything: a missing region or an empty
 * credential chain is one root cause, so it is said once, with the fix, rather than once per cluster and
 * per mint. Resolves the region and credentials the way every SDK client would (the default chain, or
 * the profile given); makes no network call other than what the chain itself needs (SSO, IMDS).
 */
import { STSClient } from '@aws-sdk/client-sts';
import type { ClusterSpec } from '../config/types.ts';
import { AwsSetupError } from '../errors.ts';
import { type AwsTarget, clientSettings, parseSecretArn } from './clients.ts';

export interface AwsNeeds {
  /** Some call names no region of its own (a kubeconfig secret named without an ARN, a ledger table). */
  readonly defaultRegion: boolean;
}

/** A region is needed when some cluster's kubeconfig secret is a name: ARNs carry their region. */
export function awsNeedsOf(clusters: readonly Pick<ClusterSpec, 'kubeconfigSecret'>[]): AwsNeeds {
  return { defaultRegion: clusters.some((c) => parseSecretArn(c.kubeconfigSecret) === undefined) };
}

export const REGION_FIX =
  'set AWS_REGION (e.g. export AWS_REGION=eu-west-1), pass --region, or set region in the profile named by AWS_PROFILE (`aws configure`)';
export const CREDENTIALS_FIX =
  'set AWS_PROFILE to a configured profile (for SSO, `aws sso login --profile NAME` first), run `aws configure`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

/** Throws one AwsSetupError listing every missing piece and its fix; nothing was contacted. */
export async function checkAwsSetup(target: AwsTarget, needs: AwsNeeds): Promise<void> {
  const client = new STSClient(clientSettings(target));
  const problems: string[] = [];
  const where = target.profile ? ` (profile ${target.profile})` : '';
  try {
    if (needs.defaultRegion) await client.config.region();
  } catch {
    problems.push(`no AWS region${where}: ${REGION_FIX}`);
  }
  try {
    await client.config.credentials();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    problems.push(`no usable AWS credentials${where} (${reason}): ${CREDENTIALS_FIX}`);
  } finally {
    client.destroy();
  }
  if (problems.length === 0) return;
  throw new AwsSetupError(
    `AWS is not set up, so nothing was contacted or minted:\n  - ${problems.join('\n  - ')}`,
  );
}
