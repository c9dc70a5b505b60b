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
import { type AssumeRoleCommand, type AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';

export interface EcrApi {
  send(command: GetAuthorizationTokenCommand): Promise<GetAuthorizationTokenCommandOutput>;
}
export interface StsApi {
  send(command: AssumeRoleCommand): Promise<AssumeRoleCommandOutput>;
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

export interface AwsClients {
  /** ECR in a region, as the default identity or as the session credentials given. */
  ecr(region: string, credentials?: AwsCredentialIdentity): EcrApi;
  sts(region: string): StsApi;
  /** S3 as the session credentials given (always a fresh session: never the default identity). */
  s3(region: string, credentials: AwsCredentialIdentity): S3Api;
  secretsManager(): SecretsApi;
}

/** Clients from the SDK's default chain; one per region and identity-free client is reused. */
export function defaultAwsClients(): AwsClients {
  const cache = new Map<string, unknown>();
  const reuse = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    ecr: (region, credentials) =>
      credentials
        ? new ECRClient({ region, credentials })
        : reuse(`ecr:${region}`, () => new ECRClient({ region })),
    sts: (region) => reuse(`sts:${region}`, () => new STSClient({ region })),
    // A custom endpoint (a local S3 such as moto) has no per-bucket DNS names: address buckets by path.
    s3: (region, credentials) =>
      new S3Client({
        region,
        credentials,
        forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL),
      }),
    secretsManager: () => reuse('secretsmanager', () => new SecretsManagerClient({})),
  };
}
