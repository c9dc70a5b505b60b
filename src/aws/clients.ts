/**
 * Narrow, injectable AWS clients. Each declares only the calls cred-courier makes, so tests and the
 * kinds depend on a small surface. Clients come from the SDK's default credential chain and honour
 * `AWS_ENDPOINT_URL`, `AWS_REGION` and proxies configured for Node.
 */
import {
  ECRClient,
  type GetAuthorizationTokenCommand,
  type GetAuthorizationTokenCommandOutput,
} from '@aws-sdk/client-ecr';
import {
  type ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type ListPartsCommand,
  type ListPartsCommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  type DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  type GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  type PutSecretValueCommand,
  type PutSecretValueCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  type AssumeRoleCommand,
  type AssumeRoleCommandOutput,
  type GetCallerIdentityCommand,
  type GetCallerIdentityCommandOutput,
  STSClient,
} from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { type AwsNeeds, checkAwsSetup } from './preflight.ts';

export interface EcrApi {
  send(command: GetAuthorizationTokenCommand): Promise<GetAuthorizationTokenCommandOutput>;
}
export interface StsApi {
  send(command: AssumeRoleCommand): Promise<AssumeRoleCommandOutput>;
}
/** The probe of a fresh role session: GetCallerIdentity is always allowed and names the session. */
export interface CallerIdentityApi {
  send(command: GetCallerIdentityCommand): Promise<GetCallerIdentityCommandOutput>;
  /** Closes the client's connections (STSClient's own); a client made for one session is done with it. */
  destroy?(): void;
}
/** Reading kubeconfigs; renewing one (src/run/renew.ts) also describes it and puts a version. */
export interface SecretsApi {
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
  send(command: DescribeSecretCommand): Promise<DescribeSecretCommandOutput>;
  send(command: PutSecretValueCommand): Promise<PutSecretValueCommandOutput>;
}

/** The probes that show fresh S3 credentials work, without side effects. */
export interface S3Api {
  send(command: ListObjectsV2Command): Promise<ListObjectsV2CommandOutput>;
  send(command: ListPartsCommand): Promise<ListPartsCommandOutput>;
  /** Closes the client's connections (S3Client's own); a client made for one session is done with it. */
  destroy?(): void;
}

/** Where the CLI's `--region`/`--profile` point the SDK; empty: the environment's defaults. */
export interface AwsTarget {
  /** Region for calls that name none (Secrets Manager names without an ARN, the ledger table). */
  readonly region?: string;
  /** Shared-config profile whose credentials (and region, unless `region` is given) are used. */
  readonly profile?: string;
}

/** A Secrets Manager secret ARN's parts; its region and account decide where it is read. */
export interface SecretArn {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly name: string;
}

const SECRET_ARN = /^arn:(aws[a-z-]*):secretsmanager:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):secret:(.+)$/;

/** The parts of a secret ARN, or undefined for a name (read in the default region). */
export function parseSecretArn(secretId: string): SecretArn | undefined {
  const match = SECRET_ARN.exec(secretId);
  if (!match?.[1] || !match[2] || !match[3] || !match[4]) return undefined;
  return { partition: match[1], region: match[2], accountId: match[3], name: match[4] };
}

/**
 * A Secrets Manager client that sends each command to the region of the ARN it names (`SecretId`), and
 * commands naming a secret by name (or creating one) to the default region: a secret is only readable in
 * its own region, whatever the caller's default.
 */
export function routedByArnRegion<Api extends { send(command: never): Promise<unknown> }>(
  clientFor: (region: string | undefined) => Api,
): Api {
  return {
    send: (command: { input?: { SecretId?: string } }) => {
      const id = command.input?.SecretId;
      const region = id === undefined ? undefined : parseSecretArn(id)?.region;
      return (clientFor(region).send as (c: unknown) => Promise<unknown>)(command);
    },
  } as unknown as Api;
}

/** Client settings for a target: only the keys it sets, so the SDK's own defaults apply otherwise. */
export function clientSettings(target: AwsTarget, region?: string): { region?: string; profile?: string } {
  const chosen = region ?? target.region;
  return { ...(chosen ? { region: chosen } : {}), ...(target.profile ? { profile: target.profile } : {}) };
}

export interface AwsClients {
  /** ECR in a region, as the default identity or as the session credentials given. */
  ecr(region: string, credentials?: AwsCredentialIdentity): EcrApi;
  sts(region: string): StsApi;
  /** STS as the session credentials given, for the probe only. */
  callerIdentity(region: string, credentials: AwsCredentialIdentity): CallerIdentityApi;
  /** S3 as the session credentials given (always a fresh session: never the default identity). */
  s3(region: string, credentials: AwsCredentialIdentity): S3Api;
  /** Routed by ARN: a secret named by ARN is read in the ARN's region. */
  secretsManager(): SecretsApi;
  /**
   * Fails once, with the fix, when the SDK has no credentials (or no default region while `needs` says a
   * call names none), before any cluster is contacted or credential minted. Absent on test doubles.
   */
  preflight?(needs: AwsNeeds): Promise<void>;
}

/** Clients from the SDK's default chain; one per region and identity-free client is reused. */
export function defaultAwsClients(target: AwsTarget = {}): AwsClients {
  const cache = new Map<string, unknown>();
  const reuse = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    ecr: (region, credentials) =>
      credentials
        ? new ECRClient({ region, credentials })
        : reuse(`ecr:${region}`, () => new ECRClient(clientSettings(target, region))),
    sts: (region) => reuse(`sts:${region}`, () => new STSClient(clientSettings(target, region))),
    callerIdentity: (region, credentials) =>
      new STSClient({ ...clientSettings(target, region), credentials }),
    // A custom endpoint (a local S3 such as moto) has no per-bucket DNS names: address buckets by path.
    s3: (region, credentials) =>
      new S3Client({
        region,
        credentials,
        forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL),
      }),
    secretsManager: () =>
      reuse('secretsmanager', () =>
        routedByArnRegion((region) =>
          reuse(
            `secretsmanager:${region ?? ''}`,
            () => new SecretsManagerClient(clientSettings(target, region)),
          ),
        ),
      ),
    preflight: (needs) => checkAwsSetup(target, needs),
  };
}
