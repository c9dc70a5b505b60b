/**
 * Scoped S3 session credentials: per grant, an STS session limited by a session policy to the grant's
 * buckets and prefixes, probed before delivery, and written as one Opaque Secret per namespace in every
 * form a workload may consume (environment, shared credentials file, credential_process).
 */
import { ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3';
import { type AssumedSession, assumeRole, awsErrorSummary } from '../../aws/assume-role.ts';
import type { S3Api } from '../../aws/clients.ts';
import type { ClusterSpec, S3Grant } from '../../config/types.ts';
import { MintError } from '../../errors.ts';
import type { CredentialKind, KindTarget, MintDeps, Minted, RenderInput, SecretManifest } from '../kind.ts';
import { ANNOTATIONS, ownershipLabels, validityAnnotations } from '../metadata.ts';
import { s3SessionPolicy } from './policy.ts';
import { roleSessionName } from './session-name.ts';

export interface S3Request {
  /** The cluster that asked first; names the session. Grants equal in scope share one session. */
  readonly cluster: string;
  readonly grant: S3Grant;
}

export interface S3Credential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly region: string;
}

/** File names inside the Secret (and so inside the mounted volume). */
export const S3_SECRET_KEYS = {
  accessKeyId: 'AWS_ACCESS_KEY_ID',
  secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  sessionToken: 'AWS_SESSION_TOKEN',
  region: 'AWS_REGION',
  /** Shared-credentials INI, profile `default`. */
  credentials: 'credentials',
  /** The credential_process output: Version 1 with Expiration, so SDKs refresh before it. */
  credentialProcess: 'credential-process.json',
  /** A config file whose `default` profile runs credential_process over the mounted JSON. */
  config: 'config',
} as const;

function targets(cluster: ClusterSpec): KindTarget<S3Request>[] {
  return cluster.s3.map((grant) => ({
    kind: 's3',
    secretName: grant.secretName,
    ...(grant.namespaces ? { namespaces: grant.namespaces } : {}),
    requests: [{ cluster: cluster.name, grant }],
    serviceAccounts: [],
  }));
}

/** Sessions depend on the role, the region, the duration and what the policy allows: nothing else. */
function scopeKey({ grant }: S3Request): string {
  const buckets = grant.buckets.map((b) => `${b.access}:${b.bucket}/${b.prefix ?? ''}`).sort();
  const keys = [...(grant.kmsKeyArns ?? [])].sort();
  return JSON.stringify(['s3', grant.roleArn, grant.region, grant.durationSeconds, buckets, keys]);
}

async function mint({ cluster, grant }: S3Request, deps: MintDeps): Promise<Minted<S3Credential>> {
  const where = `cluster ${cluster}, S3 grant ${grant.secretName}`;
  let policy: string;
  try {
    policy = s3SessionPolicy(grant, cluster);
  } catch (error) {
    throw new MintError(`${where}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  let session: AssumedSession;
  try {
    session = await assumeRole(deps.aws.sts(grant.region), {
      roleArn: grant.roleArn,
      sessionName: roleSessionName(cluster, grant.secretName),
      policy,
      durationSeconds: grant.durationSeconds,
    });
  } catch (error) {
    throw new MintError(`${where}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const { credentials } = session;
  const secrets = [credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken];
  // Before the probe: an S3 or SDK error about it could quote the new credentials.
  deps.registerSecrets(...secrets);
  deps.info('S3 session minted', {
    cluster,
    grant: grant.secretName,
    policyCharacters: policy.length,
    ...(session.packedPolicySize === undefined ? {} : { packedPolicySizePercent: session.packedPolicySize }),
  });
  await probe(grant, credentials, deps, where);
  return {
    value: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      expiration: credentials.expiration,
      region: grant.region,
    },
    expiresAt: credentials.expiration,
    secrets,
  };
}

/**
 * One side-effect-free call per bucket with the new credentials: listing one key under the prefix for
 * grants that can read; for write-only grants, listing the parts of an upload that does not exist under
 * the prefix, which S3 answers NoSuchUpload when the session may write there and AccessDenied when not.
 * Credentials that mint but cannot do what the grant says (the role's own policy is narrower, the
 * bucket is gone) fail the grant and are never delivered.
 */
async function probe(
  grant: S3Grant,
  credentials: AssumedSession['credentials'],
  deps: MintDeps,
  where: string,
): Promise<void> {
  const s3 = deps.aws.s3(grant.region, credentials);
  // A client per session, so its connection is closed with the probe: kept, every grant of a fleet would
  // hold a socket and its buffers until the run ends.
  try {
    await probeBuckets(s3, grant, where);
  } finally {
    s3.destroy?.();
  }
}

async function probeBuckets(s3: S3Api, grant: S3Grant, where: string): Promise<void> {
  for (const { bucket, prefix, access } of grant.buckets) {
    const target = `s3://${bucket}/${prefix ?? ''}`;
    try {
      if (access === 'write') {
        await s3
          .send(
            new ListPartsCommand({
              Bucket: bucket,
              Key: `${prefix ?? ''}${PROBE_KEY}`,
              UploadId: PROBE_UPLOAD_ID,
              MaxParts: 1,
            }),
          )
          .catch((error: unknown) => {
            if ((error as { name?: string }).name !== 'NoSuchUpload') throw error;
          });
      } else {
        await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, ...(prefix ? { Prefix: prefix } : {}), MaxKeys: 1 }),
        );
      }
    } catch (error) {
      throw new MintError(
        `${where}: the new credentials cannot ${access === 'write' ? 'write to' : 'list'} ${target} ` +
          `(${awsErrorSummary(error)}); the role's own policy may be narrower than the grant; not delivered`,
        { cause: error },
      );
    }
  }
}

/** An upload that never exists: the write probe asks for its parts. */
const PROBE_KEY = '.cred-courier-probe';
const PROBE_UPLOAD_ID = 'cred-courier-probe-no-such-upload';

const ini = (section: string, entries: Record<string, string>) =>
  `[${section}]\n${Object.entries(entries)
    .map(([key, value]) => `${key} = ${value}`)
    .join('\n')}\n`;

function render({
  cluster,
  target,
  namespace,
  credentials,
  issuedAt,
}: RenderInput<S3Request, S3Credential>): SecretManifest {
  const minted = credentials[0];
  const grant = target.requests[0]?.grant;
  if (!minted || !grant) throw new MintError(`S3 grant ${target.secretName}: nothing minted to render`);
  const c = minted.value;
  const processJson = JSON.stringify({
    Version: 1,
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    SessionToken: c.sessionToken,
    Expiration: c.expiration.toISOString(),
  });
  const files: Record<string, string> = {
    [S3_SECRET_KEYS.accessKeyId]: c.accessKeyId,
    [S3_SECRET_KEYS.secretAccessKey]: c.secretAccessKey,
    [S3_SECRET_KEYS.sessionToken]: c.sessionToken,
    [S3_SECRET_KEYS.region]: c.region,
    [S3_SECRET_KEYS.credentials]: ini('default', {
      aws_access_key_id: c.accessKeyId,
      aws_secret_access_key: c.secretAccessKey,
      aws_session_token: c.sessionToken,
    }),
    [S3_SECRET_KEYS.credentialProcess]: `${processJson}\n`,
    [S3_SECRET_KEYS.config]: ini('default', {
      region: c.region,
      // Re-run by the SDK before Expiration; reads the file the kubelet keeps current in the volume.
      credential_process: `cat ${grant.mountPath}/${S3_SECRET_KEYS.credentialProcess}`,
    }),
  };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: target.secretName,
      namespace,
      labels: ownershipLabels(cluster.name, 's3'),
      annotations: {
        ...validityAnnotations(issuedAt, [minted.expiresAt]),
        [ANNOTATIONS.s3Scope]: grant.buckets
          .map((b) => `${b.bucket}/${b.prefix ?? ''}:${b.access}`)
          .join(','),
      },
    },
    type: 'Opaque',
    data: Object.fromEntries(
      Object.entries(files).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    ),
  };
}

export const s3Kind: CredentialKind<S3Request, S3Credential> = { id: 's3', targets, scopeKey, mint, render };
