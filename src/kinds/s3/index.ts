/**
 * Scoped S3 session credentials: per grant, an STS session limited by a session policy to the grant's
 * buckets and prefixes, probed before delivery, and written as one Opaque Secret per namespace in every
 * form a workload may consume (environment, shared credentials file, credential_process).
 */
import { ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3';
import { awsErrorSummary } from '../../aws/assume-role.ts';
import type { S3Api } from '../../aws/clients.ts';
import type { ClusterSpec } from '../../config/types.ts';
import { MintError } from '../../errors.ts';
import type { CredentialKind, KindTarget, MintDeps, Minted, RenderInput, SecretManifest } from '../kind.ts';
import { ANNOTATIONS } from '../metadata.ts';
import {
  grantWhere,
  mintRoleSession,
  type SessionCredential,
  type SessionKeys,
  scoped,
} from '../session/mint.ts';
import { renderGrantSecret, SESSION_SECRET_KEYS } from '../session/render.ts';
import { grantTargets } from '../session/targets.ts';
import { s3SessionPolicy } from './policy.ts';
import type { S3Grant } from './types.ts';

export interface S3Request {
  /** The cluster that asked first; names the session. Grants equal in scope share one session. */
  readonly cluster: string;
  readonly grant: S3Grant;
}

export type S3Credential = SessionCredential;

/** File names inside the Secret (and so inside the mounted volume): those of every role session. */
export const S3_SECRET_KEYS = SESSION_SECRET_KEYS;

function targets(cluster: ClusterSpec): KindTarget<S3Request>[] {
  return grantTargets('s3', cluster.name, cluster.s3);
}

/** Sessions depend on the role, the region, the duration and what the policy allows: nothing else. */
function scopeKey({ grant }: S3Request): string {
  const buckets = grant.buckets.map((b) => `${b.access}:${b.bucket}/${b.prefix ?? ''}`).sort();
  const keys = [...(grant.kmsKeyArns ?? [])].sort();
  return JSON.stringify(['s3', grant.roleArn, grant.region, grant.durationSeconds, buckets, keys]);
}

async function mint({ cluster, grant }: S3Request, deps: MintDeps): Promise<Minted<S3Credential>> {
  const where = grantWhere(cluster, 'S3', grant.secretName);
  const policy = scoped(where, () => s3SessionPolicy(grant, cluster));
  return mintRoleSession(
    {
      cluster,
      secretName: grant.secretName,
      label: 'S3',
      roleArn: grant.roleArn,
      region: grant.region,
      durationSeconds: grant.durationSeconds,
      policy,
    },
    deps,
    (credentials, at) => probe(grant, credentials, deps, at),
  );
}

/**
 * One side-effect-free call per bucket with the new credentials: listing one key under the prefix for
 * grants that can read; for write-only grants, listing the parts of an upload that does not exist under
 * the prefix, which S3 answers NoSuchUpload when the session may write there and AccessDenied when not.
 * Credentials that mint but cannot do what the grant says (the role's own policy is narrower, the
 * bucket is gone) fail the grant and are never delivered.
 */
async function probe(grant: S3Grant, credentials: SessionKeys, deps: MintDeps, where: string): Promise<void> {
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

function render(input: RenderInput<S3Request, S3Credential>): SecretManifest {
  return renderGrantSecret(input, 's3', 'S3', (grant) => ({
    [ANNOTATIONS.s3Scope]: grant.buckets.map((b) => `${b.bucket}/${b.prefix ?? ''}:${b.access}`).join(','),
  }));
}

export const s3Kind: CredentialKind<S3Request, S3Credential> = { id: 's3', targets, scopeKey, mint, render };
