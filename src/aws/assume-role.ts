/**
 * STS AssumeRole with an optional session policy: the one way cred-courier narrows what a minted
 * credential can do. Shared by every kind that mints under a role.
 */
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { MintError } from '../errors.ts';
import type { StsApi } from './clients.ts';

export interface AssumeRoleInput {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly policy?: string;
  /** Managed policies limiting the session (their union), beside or instead of `policy`. */
  readonly policyArns?: readonly string[];
  /** Session tags; the role's trust policy must allow `sts:TagSession`. */
  readonly tags?: Readonly<Record<string, string>>;
  /** The ExternalId the role's trust policy requires, if any. */
  readonly externalId?: string;
  readonly durationSeconds: number;
}

export interface AssumedSession {
  readonly credentials: AwsCredentialIdentity & { readonly sessionToken: string; readonly expiration: Date };
  /** STS's measure of the packed session policy, as a percentage of the allowed size. */
  readonly packedPolicySize?: number;
}

export async function assumeRole(sts: StsApi, input: AssumeRoleInput): Promise<AssumedSession> {
  let response: Awaited<ReturnType<StsApi['send']>>;
  try {
    response = await sts.send(
      new AssumeRoleCommand({
        RoleArn: input.roleArn,
        RoleSessionName: input.sessionName,
        DurationSeconds: input.durationSeconds,
        ...(input.policy ? { Policy: input.policy } : {}),
        ...(input.policyArns?.length ? { PolicyArns: input.policyArns.map((arn) => ({ arn })) } : {}),
        ...(input.tags && Object.keys(input.tags).length > 0
          ? { Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })) }
          : {}),
        ...(input.externalId ? { ExternalId: input.externalId } : {}),
      }),
    );
  } catch (error) {
    throw new MintError(`unable to assume ${input.roleArn}: ${awsErrorSummary(error)}`, { cause: error });
  }
  const c = response.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new MintError(`unable to assume ${input.roleArn}: STS returned no credentials`);
  }
  return {
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    },
    ...(response.PackedPolicySize === undefined ? {} : { packedPolicySize: response.PackedPolicySize }),
  };
}

/**
 * `Name: message` of an AWS SDK error; the SDK's messages name resources, never credentials. An answer
 * the SDK could not read as an AWS error (it then says `Unknown: UnknownError`) is named by its HTTP
 * status: the endpoint is not the AWS service.
 */
export function awsErrorSummary(error: unknown): string {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (error instanceof Error && error.name === 'Unknown' && error.message === 'UnknownError')
    return `HTTP ${status ?? '?'} with a body that is not an AWS error: the endpoint is not the AWS service (check AWS_ENDPOINT_URL and the region)`;
  if (error instanceof Error)
    return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}
