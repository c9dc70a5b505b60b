/**
 * The session policy of an S3 grant (pure). The assumed session can do the intersection of the role's own
 * policies and this document, so this is what keeps a cluster inside its buckets and prefixes even when the
 * role is broad. Only `Allow` statements, only the actions below, only on the grant's exact ARNs.
 */
import type { S3Access, S3BucketGrant, S3Grant } from '../../config/types.ts';
import { CredCourierError } from '../../errors.ts';
import { dnsSuffixOf, partitionOf } from '../ecr/policy.ts';

/** STS refuses a plaintext session policy longer than this many characters. */
export const POLICY_PLAINTEXT_LIMIT = 2048;

/**
 * The exact actions of each access level: `object` on `<bucket>/<prefix>*`, `bucket` on the bucket with an
 * `s3:prefix` condition for prefixed grants (no bucket statement when the level has none), `kms` on the
 * grant's keys through S3 only.
 *
 * No level grants `s3:ListBucketMultipartUploads`. AWS sets no `s3:prefix` context key for that action, so a
 * prefix-conditioned grant of it never matches, and an unconditioned one would reveal the key names of
 * in-progress uploads across the whole bucket. Uploading (single-part or multipart: create, upload parts and
 * complete are all `s3:PutObject`), aborting an upload and listing an upload's parts do not need it.
 *
 * KMS: reading an SSE-KMS object needs `kms:Decrypt`; writing one needs `kms:GenerateDataKey`, and a
 * multipart upload to one also needs `kms:Decrypt` (AWS's S3 documentation; the AWS CLI switches to multipart
 * above 8 MB), so write has both.
 */
export const S3_ACTIONS = {
  /** Download objects under the prefix (current and earlier versions), list keys under it, decrypt them. */
  read: {
    object: ['s3:GetObject', 's3:GetObjectVersion'],
    bucket: ['s3:ListBucket'],
    kms: ['kms:Decrypt'],
  },
  /**
   * Upload under the prefix, single-part or multipart (abort an upload, list its parts); no read, no delete,
   * no listing. Decrypt is there for multipart uploads to SSE-KMS objects; without s3:GetObject it reads none.
   */
  write: {
    object: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
    bucket: [],
    kms: ['kms:GenerateDataKey', 'kms:Decrypt'],
  },
  /** Read and write, plus deleting current objects; never DeleteObjectVersion, so versions stay recoverable. */
  readwrite: {
    object: [
      's3:GetObject',
      's3:GetObjectVersion',
      's3:PutObject',
      's3:AbortMultipartUpload',
      's3:ListMultipartUploadParts',
      's3:DeleteObject',
    ],
    bucket: ['s3:ListBucket'],
    kms: ['kms:Decrypt', 'kms:GenerateDataKey'],
  },
} as const satisfies Record<
  S3Access,
  { readonly object: readonly string[]; readonly bucket: readonly string[]; readonly kms: readonly string[] }
>;

/** Thrown when a grant's session policy is longer than STS accepts; the grant must be split. */
export class PolicyTooLargeError extends CredCourierError {
  readonly cluster: string;
  readonly secretName: string;
  readonly size: number;
  readonly limit: number;
  constructor(cluster: string, secretName: string, size: number, limit: number = POLICY_PLAINTEXT_LIMIT) {
    super(
      `cluster ${cluster}, S3 grant ${secretName}: the session policy is ${size} characters, over the STS ` +
        `limit of ${limit} for a plaintext session policy; split the grant into several grants with fewer ` +
        'buckets or prefixes each',
    );
    this.name = 'PolicyTooLargeError';
    this.cluster = cluster;
    this.secretName = secretName;
    this.size = size;
    this.limit = limit;
  }
}

export type S3PolicyGrant = Pick<S3Grant, 'buckets' | 'region' | 'kmsKeyArns' | 'secretName'>;

interface Statement {
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Record<string, Record<string, string | readonly string[]>>;
}

/**
 * `$` starts a policy variable (`${aws:userid}`) in resources and condition values; `${$}` is its literal
 * form, so a key prefix containing `$` grants exactly that prefix and nothing a variable expands to.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: IAM's escape for `$`, not a template placeholder.
const ESCAPED_DOLLAR = '${$}';
const literal = (text: string): string => text.replaceAll('$', () => ESCAPED_DOLLAR);

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Rejects what config validation should already have rejected: anything that could widen an ARN. */
function checked(grant: S3PolicyGrant, cluster: string): S3BucketGrant[] {
  const where = `cluster ${cluster}, S3 grant ${grant.secretName}`;
  if (grant.buckets.length === 0) throw new CredCourierError(`${where}: no buckets; nothing to grant`);
  for (const { bucket, prefix } of grant.buckets) {
    if (bucket === '' || /[*?/]/.test(bucket)) {
      throw new CredCourierError(`${where}: bucket "${bucket}" is empty or contains '*', '?' or '/'`);
    }
    if (prefix !== undefined && /[*?]/.test(prefix)) {
      throw new CredCourierError(`${where}: prefix "${prefix}" of bucket ${bucket} contains '*' or '?'`);
    }
    if (prefix && !prefix.endsWith('/')) {
      // Without the slash, `reports*` would also open `reports-old/`.
      throw new CredCourierError(`${where}: prefix "${prefix}" of bucket ${bucket} does not end in '/'`);
    }
  }
  for (const key of grant.kmsKeyArns ?? []) {
    if (/[*?]/.test(key)) throw new CredCourierError(`${where}: KMS key "${key}" contains '*' or '?'`);
  }
  // Sorted and deduplicated so the same grant in any order gives the same document.
  const unique = new Map(grant.buckets.map((b) => [`${b.bucket}\n${b.prefix ?? ''}\n${b.access}`, b]));
  return [...unique.entries()].sort(([a], [b]) => compare(a, b)).map(([, b]) => b);
}

/**
 * The minified session policy for one grant, for `AssumeRole`'s `Policy`. Per bucket and prefix, one
 * statement on the objects (`<bucket>/<prefix>*`) and, for read and readwrite, one on the bucket
 * (`s3:ListBucket`), limited by `s3:prefix` to `<prefix>` and `<prefix>*` when the grant has a prefix; write
 * has no bucket statement. KMS actions only when the grant names keys: on exactly those keys, only through
 * S3 in the grant's region, for the union of the buckets' levels.
 * Throws a `PolicyTooLargeError` above `POLICY_PLAINTEXT_LIMIT` characters.
 */
export function s3SessionPolicy(grant: S3PolicyGrant, clusterName: string): string {
  const buckets = checked(grant, clusterName);
  const partition = partitionOf(grant.region);
  const statements: Statement[] = [];
  for (const { bucket, prefix, access } of buckets) {
    const actions = S3_ACTIONS[access];
    const bucketArn = `arn:${partition}:s3:::${literal(bucket)}`;
    statements.push({
      Effect: 'Allow',
      Action: actions.object,
      Resource: `${bucketArn}/${literal(prefix ?? '')}*`,
    });
    if (actions.bucket.length === 0) continue;
    statements.push({
      Effect: 'Allow',
      Action: actions.bucket,
      Resource: bucketArn,
      // A request without `s3:prefix`, or with another prefix, does not match: the statement does not apply.
      ...(prefix
        ? { Condition: { StringLike: { 's3:prefix': [literal(prefix), `${literal(prefix)}*`] } } }
        : {}),
    });
  }
  const keys = [...new Set(grant.kmsKeyArns ?? [])].sort(compare);
  if (keys.length > 0) {
    const granted = new Set<string>(buckets.flatMap(({ access }) => S3_ACTIONS[access].kms));
    statements.push({
      Effect: 'Allow',
      Action: S3_ACTIONS.readwrite.kms.filter((action) => granted.has(action)),
      Resource: keys,
      Condition: { StringEquals: { 'kms:ViaService': `s3.${grant.region}.${dnsSuffixOf(grant.region)}` } },
    });
  }
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: statements });
  if (policy.length > POLICY_PLAINTEXT_LIMIT) {
    throw new PolicyTooLargeError(clusterName, grant.secretName, policy.length);
  }
  return policy;
}
