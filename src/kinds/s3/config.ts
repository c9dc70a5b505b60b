/**
 * The `s3` part of the registration file: its schema (as written) and the checks that need the merged
 * cluster (defaults applied).
 */
import { z } from 'zod';
import {
  AWS_REGION_SOURCE,
  expecting,
  list,
  mapping,
  nonEmptyList,
  quote,
  ruled,
} from '../../config/fields.ts';
import type { KindCheckInput, Part, Path, Problem } from '../../config/problems.ts';
import {
  durationProblems,
  ecrPullSecret,
  grantListOwner,
  grantNamespacesProblems,
  secretNameProblems,
  sessionGrantFields,
  toSessionGrant,
} from '../session/config.ts';
import type { S3BucketGrant, S3Grant } from './types.ts';

/**
 * A KMS key ARN: `key/<key ID>` or `key/mrk-<multi-Region key ID>`. Never an alias ARN: as a policy
 * Resource an alias ARN does not grant use of the key it points to.
 */
const KMS_KEY_ARN = new RegExp(
  `^arn:aws[-a-z]*:kms:${AWS_REGION_SOURCE}:\\d{12}:key/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`,
);
/** A KMS alias ARN, recognised only to say why it is refused. */
const KMS_ALIAS_ARN = /^arn:aws[-a-z]*:kms:[^:]*:[^:]*:alias\//;
const KMS_KEY_WHAT =
  'a KMS key ARN such as arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** A KMS key ARN; an alias ARN gets its own message saying to use the key ARN instead. */
function kmsKeyArn() {
  const otherwise = expecting(KMS_KEY_WHAT);
  return z
    .string({
      error: (issue) =>
        typeof issue.input === 'string' && KMS_ALIAS_ARN.test(issue.input)
          ? `expected ${KMS_KEY_WHAT}; an alias ARN as a policy Resource does not grant use of the key it ` +
            `points to: use the key ARN the alias points to, got ${quote(issue.input)}`
          : otherwise(issue),
    })
    .regex(KMS_KEY_ARN);
}

// ---------------------------------------------------------------------------------------------------
// S3 names
// ---------------------------------------------------------------------------------------------------

/** Bucket-name prefixes AWS reserves, with what for. */
const RESERVED_BUCKET_PREFIXES = [
  ['xn--', 'reserved for punycode'],
  ['sthree-', 'reserved by S3'],
  ['amzn-s3-demo-', 'reserved for documentation examples'],
] as const;

/** Bucket-name suffixes AWS reserves for access points and other bucket types, with what for. */
const RESERVED_BUCKET_SUFFIXES = [
  ['-s3alias', 'reserved for access point aliases'],
  ['--ol-s3', 'reserved for Object Lambda access point aliases'],
  ['.mrap', 'reserved for Multi-Region Access Points'],
  ['--x-s3', 'reserved for directory buckets'],
  ['--table-s3', 'reserved for table buckets'],
] as const;

/** Why `name` is not an S3 general purpose bucket name, naming the rule broken; undefined when it is one. */
export function bucketNameProblem(name: string): string | undefined {
  if (/[*?]/.test(name)) return 'wildcards (* and ?) are not allowed: a grant names each bucket exactly';
  if (name.length < 3 || name.length > 63) return `it must be 3 to 63 characters long, not ${name.length}`;
  if (!/^[a-z0-9.-]+$/.test(name)) return "it may only contain lowercase letters, digits, '.' and '-'";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'it must start and end with a letter or digit';
  if (name.includes('..')) return 'it must not contain two adjacent periods';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'it must not be formatted as an IP address';
  for (const [prefix, why] of RESERVED_BUCKET_PREFIXES) {
    if (name.startsWith(prefix)) return `it must not start with ${quote(prefix)} (${why})`;
  }
  for (const [suffix, why] of RESERVED_BUCKET_SUFFIXES) {
    if (name.endsWith(suffix)) return `it must not end with ${quote(suffix)} (${why})`;
  }
  return undefined;
}

/** Longest key prefix accepted, as written. */
const MAX_PREFIX_CHARS = 512;

/**
 * Why `prefix` cannot scope a grant, or undefined when it can. Wildcards and policy variables would be
 * interpreted by IAM in the session policy and widen what the grant opens.
 */
export function keyPrefixProblem(prefix: string): string | undefined {
  if (/[*?]/.test(prefix))
    return 'wildcards (* and ?) are not allowed: IAM would expand them and widen the grant';
  if (prefix.includes('${')) return "'${' is not allowed: IAM would read it as a policy variable";
  if (prefix.length > MAX_PREFIX_CHARS)
    return `it must be at most ${MAX_PREFIX_CHARS} characters, not ${prefix.length}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f]/.test(prefix)) return 'control characters are not allowed';
  if (prefix.startsWith('/'))
    return "it must not start with '/': S3 keys do not (write reports/, not /reports/)";
  if (prefix.includes('//')) return "it must not contain '//'";
  if (prefix.split('/').includes('..')) return "it must not contain a '..' segment";
  return undefined;
}

/**
 * A prefix as the grant uses it: ending in `/`, so `reports` never opens `reports-old/`. An empty or
 * absent prefix means the whole bucket and stays absent.
 */
export function normalizeKeyPrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined || prefix === '') return undefined;
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

const S3BucketSchema = mapping({
  bucket: ruled('an S3 bucket name (3-63 of a-z 0-9 . -)', bucketNameProblem).meta({
    description:
      'Bucket name, exactly (no wildcards): 3-63 of a-z 0-9 . -, starting and ending with a letter or digit.',
    examples: ['acme-reports'],
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
  }),
  prefix: ruled('an S3 key prefix such as reports/2026/', keyPrefixProblem)
    .optional()
    .meta({
      description:
        "Key prefix the grant is limited to, normalised to end in '/' (reports becomes reports/, so it never opens reports-old/). No * or ?, no leading '/', no '//', no '..' segment, at most 512 characters. Absent or empty: the whole bucket.",
      examples: ['reports/2026/'],
      maxLength: MAX_PREFIX_CHARS,
      pattern: '^(?:[^*?/][^*?]*)?$',
    }),
  access: z.enum(['read', 'write', 'readwrite'], { error: expecting('read, write or readwrite') }).meta({
    description: 'What the session may do under the prefix: read, write, or readwrite (both).',
  }),
}).meta({
  id: 'S3BucketGrant',
  title: 'S3 bucket grant',
  description: 'One bucket, optionally one prefix in it, and what the session may do there.',
});

export const S3GrantSchema = mapping({
  ...sessionGrantFields({
    secretNameDescription:
      "Name of the Opaque Secret written into each of the grant's namespaces; unique among the cluster's S3 grants and different from its ecr.secretName.",
    secretNameExample: 'reports-reader',
    roleArnWhat: 'an IAM role ARN such as arn:aws:iam::111122223333:role/s3-reports',
    roleArnDescription:
      "Role assumed for the session; its own policy is the ceiling, the session policy narrows it to the grant's buckets.",
    roleArnExample: 'arn:aws:iam::111122223333:role/cred-courier-s3-reports',
    mountPathWhat: 'an absolute path such as /var/run/secrets/cred-courier/reports-reader',
    mountPathExample: '/var/run/secrets/cred-courier/reports-reader',
  }),
  kmsKeyArns: list(kmsKeyArn(), 'KMS key ARNs')
    .optional()
    .meta({
      description:
        "KMS key ARNs (key/<id> or key/mrk-<id>) the objects are encrypted with; kms actions are granted on these keys only, through S3 in the grant's region. Not alias ARNs: as a policy Resource an alias ARN does not grant use of the key it points to, so use the key ARN the alias points to.",
      examples: [['arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab']],
    }),
  buckets: nonEmptyList(S3BucketSchema, 'bucket grants', 'bucket').meta({
    description:
      'Buckets and prefixes the session may use (at least one); the same bucket and prefix at most once.',
  }),
}).meta({
  id: 'S3Grant',
  title: 'S3 grant',
  description:
    'An STS session limited to some buckets and prefixes, delivered as one Opaque Secret (environment, credentials file and credential_process forms).',
});

export type S3GrantEntry = z.output<typeof S3GrantSchema>;
export type S3BucketEntry = z.output<typeof S3BucketSchema>;

/** The S3 grants of a cluster (its own list, or the one in defaults), checked against the merged cluster. */
export function resolveS3(input: KindCheckInput): Part<S3Grant[]> {
  const grants = input.cluster.s3 ?? input.defaults?.s3 ?? [];
  const owner = grantListOwner('s3', input.cluster.s3, input.at);
  const problems: Problem[] = [];
  grants.forEach((grant, index) => {
    const grantPath = [...owner, index];
    problems.push(...durationProblems(grant, grantPath, input.s3IntervalMinutes));
    problems.push(...duplicateBucketProblems(grant.buckets, [...grantPath, 'buckets']));
    problems.push(...grantNamespacesProblems(grant, grantPath, input));
  });
  problems.push(...secretNameProblems(grants, owner, 'S3', [ecrPullSecret(input)]));
  if (problems.length > 0) return { problems };
  return { value: grants.map(toS3Grant), problems };
}

function toS3Grant(entry: S3GrantEntry): S3Grant {
  const kmsKeyArns = entry.kmsKeyArns ?? [];
  return {
    ...toSessionGrant(entry),
    buckets: entry.buckets.map(toBucketGrant),
    ...(kmsKeyArns.length === 0 ? {} : { kmsKeyArns: [...kmsKeyArns] }),
  };
}

function toBucketGrant(entry: S3BucketEntry): S3BucketGrant {
  const prefix = normalizeKeyPrefix(entry.prefix);
  return { bucket: entry.bucket, ...(prefix === undefined ? {} : { prefix }), access: entry.access };
}

/** The same bucket and prefix twice in one grant is a mistake (prefixes compared once normalised). */
function duplicateBucketProblems(buckets: readonly S3BucketEntry[], bucketsPath: Path): Problem[] {
  const seen = new Map<string, number>();
  const problems: Problem[] = [];
  buckets.forEach((entry, index) => {
    const prefix = normalizeKeyPrefix(entry.prefix);
    const key = JSON.stringify([entry.bucket, prefix ?? '']);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, index);
    } else {
      const scope = prefix === undefined ? 'the whole bucket' : `prefix ${quote(prefix)}`;
      problems.push({
        path: [...bucketsPath, index],
        message: `duplicates buckets[${first}] (bucket ${quote(entry.bucket)}, ${scope}; prefixes are compared after normalising them to end in '/')`,
      });
    }
  });
  return problems;
}
