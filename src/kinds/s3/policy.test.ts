import { describe, expect, it } from 'vitest';
import type { S3BucketGrant } from '../../config/types.ts';
import { CredCourierError } from '../../errors.ts';
import {
  POLICY_PLAINTEXT_LIMIT,
  PolicyTooLargeError,
  S3_ACTIONS,
  type S3PolicyGrant,
  s3SessionPolicy,
} from './policy.ts';

interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

interface Policy {
  readonly Version: string;
  readonly Statement: Statement[];
}

const CLUSTER = 'gke-prod';
const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_2 = 'arn:aws:kms:eu-west-1:111122223333:key/0000aaaa-12ab-34cd-56ef-1234567890ab';

function grant(buckets: S3BucketGrant[], overrides: Partial<S3PolicyGrant> = {}): S3PolicyGrant {
  return { secretName: 's3-reports', region: 'eu-west-1', buckets, ...overrides };
}

const parsed = (policy: string): Policy => JSON.parse(policy) as Policy;

/** Every string value anywhere in the document. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

describe('Function: s3SessionPolicy', () => {
  it('grants read: Get on the objects under the prefix, ListBucket limited to the prefix', () => {
    // Prepare
    const input = grant([{ bucket: 'b', prefix: 'reports/', access: 'read' }]);

    // Act
    const policy = parsed(s3SessionPolicy(input, CLUSTER));

    // Assess
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:GetObjectVersion'],
          Resource: 'arn:aws:s3:::b/reports/*',
        },
        {
          Effect: 'Allow',
          Action: ['s3:ListBucket'],
          Resource: 'arn:aws:s3:::b',
          Condition: { StringLike: { 's3:prefix': ['reports/', 'reports/*'] } },
        },
      ],
    });
  });

  it('grants write: Put, abort and list parts on the objects, and no bucket statement at all', () => {
    // Prepare
    const input = grant([{ bucket: 'b', prefix: 'reports/', access: 'write' }]);

    // Act
    const policy = parsed(s3SessionPolicy(input, CLUSTER));

    // Assess
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          Resource: 'arn:aws:s3:::b/reports/*',
        },
      ],
    });
  });

  it('gives a whole-bucket write grant no bucket statement either, so nothing on the bucket ARN', () => {
    // Prepare
    const input = grant([{ bucket: 'b', access: 'write' }]);

    // Act
    const policy = parsed(s3SessionPolicy(input, CLUSTER));

    // Assess
    expect(policy.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: 'arn:aws:s3:::b/*',
      },
    ]);
  });

  it.each(['read', 'write', 'readwrite'] as const)(
    'never grants s3:ListBucketMultipartUploads at level %s, prefixed or whole-bucket',
    (access) => {
      // Prepare
      const inputs = [grant([{ bucket: 'b', prefix: 'reports/', access }]), grant([{ bucket: 'b', access }])];

      // Act
      const actions = inputs.flatMap((input) =>
        parsed(s3SessionPolicy(input, CLUSTER)).Statement.flatMap((s) => s.Action),
      );

      // Assess
      expect(actions).not.toContain('s3:ListBucketMultipartUploads');
      expect(strings(S3_ACTIONS[access])).not.toContain('s3:ListBucketMultipartUploads');
    },
  );

  it('grants readwrite: read and write plus DeleteObject, never DeleteObjectVersion', () => {
    // Prepare
    const input = grant([{ bucket: 'b', prefix: 'reports/', access: 'readwrite' }]);

    // Act
    const policy = parsed(s3SessionPolicy(input, CLUSTER));

    // Assess
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            's3:GetObject',
            's3:GetObjectVersion',
            's3:PutObject',
            's3:AbortMultipartUpload',
            's3:ListMultipartUploadParts',
            's3:DeleteObject',
          ],
          Resource: 'arn:aws:s3:::b/reports/*',
        },
        {
          Effect: 'Allow',
          Action: ['s3:ListBucket'],
          Resource: 'arn:aws:s3:::b',
          Condition: { StringLike: { 's3:prefix': ['reports/', 'reports/*'] } },
        },
      ],
    });
    expect(policy.Statement.flatMap((s) => s.Action)).not.toContain('s3:DeleteObjectVersion');
  });

  it('defines readwrite as exactly read ∪ write ∪ DeleteObject', () => {
    // Prepare
    const { read, write, readwrite } = S3_ACTIONS;

    // Act
    const union = (a: readonly string[], b: readonly string[], extra: string[] = []) =>
      [...new Set([...a, ...b, ...extra])].sort();

    // Assess
    expect([...readwrite.object].sort()).toEqual(union(read.object, write.object, ['s3:DeleteObject']));
    expect([...readwrite.bucket].sort()).toEqual(union(read.bucket, write.bucket));
    expect([...readwrite.kms].sort()).toEqual(union(read.kms, write.kms));
    const all = strings(S3_ACTIONS);
    expect(all.every((action) => /^(s3|kms):[A-Za-z]+$/.test(action))).toBe(true);
    expect(all).not.toContain('s3:DeleteObjectVersion');
  });

  it('scopes a whole-bucket grant to `<bucket>/*` and lists the bucket without a condition', () => {
    // Prepare
    const input = grant([{ bucket: 'b', access: 'readwrite' }]);

    // Act
    const policy = parsed(s3SessionPolicy(input, CLUSTER));

    // Assess
    expect(policy.Statement.map((s) => s.Resource)).toEqual(['arn:aws:s3:::b/*', 'arn:aws:s3:::b']);
    expect(policy.Statement.every((s) => s.Condition === undefined)).toBe(true);
  });

  it('treats an empty prefix as the whole bucket', () => {
    // Prepare
    const input = grant([{ bucket: 'b', prefix: '', access: 'read' }]);

    // Act
    const policy = s3SessionPolicy(input, CLUSTER);

    // Assess
    expect(policy).toBe(s3SessionPolicy(grant([{ bucket: 'b', access: 'read' }]), CLUSTER));
  });

  it('writes two statements per read bucket and prefix and one per write, sorted by bucket, prefix and access', () => {
    // Prepare
    const input = grant([
      { bucket: 'zeta', prefix: 'in/', access: 'write' },
      { bucket: 'alpha', prefix: 'out/', access: 'read' },
      { bucket: 'alpha', access: 'read' },
      { bucket: 'alpha', prefix: 'out/', access: 'write' },
    ]);

    // Act
    const policy = parsed(s3SessionPolicy(input, CLUSTER));

    // Assess
    expect(policy.Statement.map((s) => [s.Resource, s.Action.join(',')])).toEqual([
      ['arn:aws:s3:::alpha/*', 's3:GetObject,s3:GetObjectVersion'],
      ['arn:aws:s3:::alpha', 's3:ListBucket'],
      ['arn:aws:s3:::alpha/out/*', 's3:GetObject,s3:GetObjectVersion'],
      ['arn:aws:s3:::alpha', 's3:ListBucket'],
      ['arn:aws:s3:::alpha/out/*', 's3:PutObject,s3:AbortMultipartUpload,s3:ListMultipartUploadParts'],
      ['arn:aws:s3:::zeta/in/*', 's3:PutObject,s3:AbortMultipartUpload,s3:ListMultipartUploadParts'],
    ]);
    expect(policy.Statement[1]?.Condition).toBeUndefined();
    expect(policy.Statement[3]?.Condition).toEqual({ StringLike: { 's3:prefix': ['out/', 'out/*'] } });
    expect(policy.Statement.filter((s) => s.Condition !== undefined)).toHaveLength(1);
  });

  it('drops a bucket grant listed twice', () => {
    // Prepare
    const once = grant([{ bucket: 'b', prefix: 'reports/', access: 'read' }]);
    const twice = grant([
      { bucket: 'b', prefix: 'reports/', access: 'read' },
      { bucket: 'b', prefix: 'reports/', access: 'read' },
    ]);

    // Act
    const policy = s3SessionPolicy(twice, CLUSTER);

    // Assess
    expect(policy).toBe(s3SessionPolicy(once, CLUSTER));
  });

  it('adds no KMS statement without keys, whether kmsKeyArns is absent or empty', () => {
    // Prepare
    const buckets: S3BucketGrant[] = [{ bucket: 'b', prefix: 'reports/', access: 'readwrite' }];

    // Act
    const absent = parsed(s3SessionPolicy(grant(buckets), CLUSTER));
    const empty = parsed(s3SessionPolicy(grant(buckets, { kmsKeyArns: [] }), CLUSTER));

    // Assess
    for (const policy of [absent, empty]) {
      expect(policy.Statement).toHaveLength(2);
      expect(strings(policy).filter((s) => s.startsWith('kms:'))).toEqual([]);
    }
  });

  it.each([
    { levels: ['read'], actions: ['kms:Decrypt'] },
    { levels: ['write'], actions: ['kms:Decrypt', 'kms:GenerateDataKey'] },
    { levels: ['write', 'write'], actions: ['kms:Decrypt', 'kms:GenerateDataKey'] },
    { levels: ['readwrite'], actions: ['kms:Decrypt', 'kms:GenerateDataKey'] },
    { levels: ['write', 'read'], actions: ['kms:Decrypt', 'kms:GenerateDataKey'] },
    { levels: ['read', 'read'], actions: ['kms:Decrypt'] },
  ] as const)(
    'grants $actions on exactly the listed keys via S3 for buckets $levels',
    ({ levels, actions }) => {
      // Prepare
      const buckets = levels.map((access, i) => ({ bucket: `b${i}`, prefix: 'p/', access }));
      const input = grant(buckets, { kmsKeyArns: [KEY, KEY_2, KEY] });

      // Act
      const policy = parsed(s3SessionPolicy(input, CLUSTER));

      // Assess
      expect(policy.Statement.at(-1)).toEqual({
        Effect: 'Allow',
        Action: actions,
        Resource: [KEY_2, KEY],
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      });
      const s3Actions = policy.Statement.slice(0, -1).flatMap((s) => s.Action);
      expect(s3Actions.filter((action) => !action.startsWith('s3:'))).toEqual([]);
    },
  );

  it.each([
    { region: 'cn-north-1', partition: 'aws-cn', via: 's3.cn-north-1.amazonaws.com.cn' },
    { region: 'cn-northwest-1', partition: 'aws-cn', via: 's3.cn-northwest-1.amazonaws.com.cn' },
    { region: 'us-gov-west-1', partition: 'aws-us-gov', via: 's3.us-gov-west-1.amazonaws.com' },
    { region: 'us-east-1', partition: 'aws', via: 's3.us-east-1.amazonaws.com' },
  ])('writes $partition ARNs and ViaService $via for $region', ({ region, partition, via }) => {
    // Prepare
    const key = `arn:${partition}:kms:${region}:111122223333:key/k`;
    const input = grant([{ bucket: 'b', prefix: 'reports/', access: 'read' }], { region, kmsKeyArns: [key] });

    // Act
    const policy = parsed(s3SessionPolicy(input, CLUSTER));

    // Assess
    expect(policy.Statement.map((s) => s.Resource)).toEqual([
      `arn:${partition}:s3:::b/reports/*`,
      `arn:${partition}:s3:::b`,
      [key],
    ]);
    expect(policy.Statement[2]?.Condition).toEqual({ StringEquals: { 'kms:ViaService': via } });
  });

  it('has no `*` anywhere but after the prefix in object ARNs and in the s3:prefix pattern', () => {
    // Prepare
    const input = grant(
      [
        { bucket: 'b', prefix: 'reports/', access: 'readwrite' },
        { bucket: 'c', access: 'write' },
      ],
      { kmsKeyArns: [KEY] },
    );

    // Act
    const policy = parsed(s3SessionPolicy(input, CLUSTER));

    // Assess
    const starred = strings(policy).filter((s) => s.includes('*') || s.includes('?'));
    expect(starred).toEqual(['arn:aws:s3:::b/reports/*', 'reports/*', 'arn:aws:s3:::c/*']);
    expect(policy.Statement.every((s) => s.Effect === 'Allow')).toBe(true);
    const actions = policy.Statement.flatMap((s) => s.Action);
    expect(actions).not.toContain('s3:ListAllMyBuckets');
    expect(
      actions.filter((a) => /Bucket(Policy|Acl)|CreateBucket|DeleteBucket|Put.*Configuration/.test(a)),
    ).toEqual([]);
  });

  it('escapes a `$` in a prefix, so it is never read as a policy variable', () => {
    // Prepare
    const dollar = '$';
    const variable = `${dollar}{aws:userid}`;
    const escaped = `${dollar}{${dollar}}{aws:userid}`;
    const input = grant([{ bucket: 'b', prefix: `${variable}/`, access: 'read' }]);

    // Act
    const policy = parsed(s3SessionPolicy(input, CLUSTER));

    // Assess
    expect(policy.Statement[0]?.Resource).toBe(`arn:aws:s3:::b/${escaped}/*`);
    expect(policy.Statement[1]?.Condition).toEqual({
      StringLike: { 's3:prefix': [`${escaped}/`, `${escaped}/*`] },
    });
  });

  it('returns the identical string for the same grant, in any order, without reordering the caller’s list', () => {
    // Prepare
    const buckets: S3BucketGrant[] = [
      { bucket: 'b', prefix: 'x/', access: 'write' },
      { bucket: 'a', access: 'read' },
    ];
    const reversed = [...buckets].reverse();

    // Act
    const first = s3SessionPolicy(grant(buckets, { kmsKeyArns: [KEY, KEY_2] }), CLUSTER);
    const second = s3SessionPolicy(grant(buckets, { kmsKeyArns: [KEY, KEY_2] }), CLUSTER);
    const shuffled = s3SessionPolicy(grant(reversed, { kmsKeyArns: [KEY_2, KEY] }), CLUSTER);

    // Assess
    expect(second).toBe(first);
    expect(shuffled).toBe(first);
    expect(buckets[0]?.bucket).toBe('b');
    expect(first).toBe(JSON.stringify(JSON.parse(first)));
  });

  it('sets the STS plaintext limit to 2,048 characters', () => {
    // Prepare
    const limit = 2048;

    // Act
    const value = POLICY_PLAINTEXT_LIMIT;

    // Assess
    expect(value).toBe(limit);
  });

  it('accepts a policy of exactly 2,048 characters and refuses one of 2,049', () => {
    // Prepare
    const buckets = Array.from({ length: 4 }, (_, i) => ({
      bucket: `acme-bucket-${i}`,
      prefix: `team-${i}/data/`,
      access: 'readwrite' as const,
    }));
    const keyOf = (length: number) => `arn:aws:kms:eu-west-1:111122223333:key/`.padEnd(length, 'k');
    const base = s3SessionPolicy(grant(buckets, { kmsKeyArns: [keyOf(60)] }), CLUSTER).length;
    const fits = keyOf(60 + POLICY_PLAINTEXT_LIMIT - base);
    const over = keyOf(61 + POLICY_PLAINTEXT_LIMIT - base);

    // Act
    const policy = s3SessionPolicy(grant(buckets, { kmsKeyArns: [fits] }), CLUSTER);
    const refused = () => s3SessionPolicy(grant(buckets, { kmsKeyArns: [over] }), CLUSTER);

    // Assess
    expect(base).toBeLessThan(POLICY_PLAINTEXT_LIMIT);
    expect(policy).toHaveLength(2048);
    expect(refused).toThrow(PolicyTooLargeError);
  });

  it('throws PolicyTooLargeError naming the cluster, the grant, the size and the limit, and advising a split', () => {
    // Prepare
    const buckets = Array.from({ length: 8 }, (_, i) => ({
      bucket: `acme-bucket-${i}`,
      prefix: `team-${i}/data/`,
      access: 'readwrite' as const,
    }));
    const input = grant(buckets, { secretName: 's3-many', kmsKeyArns: [KEY] });

    // Act
    let error: unknown;
    try {
      s3SessionPolicy(input, 'eks-eu');
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(PolicyTooLargeError);
    expect(error).toBeInstanceOf(CredCourierError);
    const tooLarge = error as PolicyTooLargeError;
    expect(tooLarge.name).toBe('PolicyTooLargeError');
    expect(tooLarge.cluster).toBe('eks-eu');
    expect(tooLarge.secretName).toBe('s3-many');
    expect(tooLarge.limit).toBe(2048);
    expect(tooLarge.size).toBeGreaterThan(2048);
    expect(tooLarge.message).toContain('cluster eks-eu');
    expect(tooLarge.message).toContain('S3 grant s3-many');
    expect(tooLarge.message).toContain(`${tooLarge.size} characters`);
    expect(tooLarge.message).toContain('2048');
    expect(tooLarge.message).toMatch(/split the grant/);
  });

  it.each([
    {
      what: 'a bucket with *',
      buckets: [{ bucket: 'acme-*', access: 'read' as const }],
      pattern: /bucket "acme-\*"/,
    },
    {
      what: 'a bucket with ?',
      buckets: [{ bucket: 'acme-?', access: 'read' as const }],
      pattern: /bucket "acme-\?"/,
    },
    { what: 'an empty bucket', buckets: [{ bucket: '', access: 'read' as const }], pattern: /bucket ""/ },
    {
      what: 'a prefix with *',
      buckets: [{ bucket: 'b', prefix: 'team-*/', access: 'read' as const }],
      pattern: /prefix "team-\*\/"/,
    },
    {
      what: 'a prefix with ?',
      buckets: [{ bucket: 'b', prefix: 'team-?/', access: 'write' as const }],
      pattern: /prefix "team-\?\/"/,
    },
    {
      what: 'a prefix without its trailing slash',
      buckets: [{ bucket: 'b', prefix: 'reports', access: 'read' as const }],
      pattern: /does not end in '\/'/,
    },
    { what: 'no buckets', buckets: [], pattern: /no buckets/ },
  ])('refuses $what with a CredCourierError naming the grant', ({ buckets, pattern }) => {
    // Prepare
    const input = grant(buckets, { secretName: 's3-bad' });

    // Act
    const act = () => s3SessionPolicy(input, CLUSTER);

    // Assess
    expect(act).toThrow(CredCourierError);
    expect(act).toThrow(/cluster gke-prod, S3 grant s3-bad: /);
    expect(act).toThrow(pattern);
    expect(act).not.toThrow(PolicyTooLargeError);
  });

  it('refuses a KMS key ARN with a wildcard', () => {
    // Prepare
    const input = grant([{ bucket: 'b', access: 'read' }], {
      kmsKeyArns: ['arn:aws:kms:eu-west-1:111122223333:key/*'],
    });

    // Act
    const act = () => s3SessionPolicy(input, CLUSTER);

    // Assess
    expect(act).toThrow(CredCourierError);
    expect(act).toThrow(/S3 grant s3-reports: KMS key "arn:aws:kms:eu-west-1:111122223333:key\/\*"/);
  });
});
