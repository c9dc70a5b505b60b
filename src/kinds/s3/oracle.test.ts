/**
 * An independent oracle for the S3 session policy: @cloud-copilot/iam-simulate (AGPL, a devDependency that
 * only tests import) evaluates the generated document against concrete requests, so the assertions below are
 * about what AWS's evaluation logic decides, not about the shape of the JSON.
 *
 * Every case is evaluated twice:
 *  - `session-only`: the generated policy as the only identity policy. Whatever it does not allow, a session
 *    limited by it cannot do, whatever the role allows.
 *  - `broad role`: a role policy allowing `*` on `*` and the generated policy as the session policy, the
 *    AssumeRole model; the session policy alone must still decide every case.
 *
 * KMS keys only honour IAM policies that their key policy delegates to, so KMS requests carry the default key
 * policy (the account root may do `kms:*`): that delegation is what makes the identity policy decisive.
 *
 * Every case also asserts which context keys the simulator ignored (keys AWS never sets for that action), so
 * a denial cannot come from a key silently dropped: only ListBucketMultipartUploads with `s3:prefix` drops
 * one, and it is there on purpose (see its cases).
 *
 * A prefixed grant cannot tell whether ListBucketMultipartUploads is in the document (its `s3:prefix`
 * condition never matches that action), so the whole-bucket tables, where the bucket statement has no
 * condition, are the ones that fail if the action comes back.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import type { S3Access } from '../../config/types.ts';
import { s3SessionPolicy } from './policy.ts';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const PRINCIPAL = `arn:aws:sts::${ACCOUNT}:assumed-role/cred-courier-s3/gke-prod-s3-reports`;
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const OTHER_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/9999ffff-12ab-34cd-56ef-1234567890ab`;
const VIA_S3 = { 'kms:ViaService': `s3.${REGION}.amazonaws.com` };
const OBJECT = 'arn:aws:s3:::acme-reports/';
const BUCKET = 'arn:aws:s3:::acme-reports';
const LEVELS = ['read', 'write', 'readwrite'] as const satisfies readonly S3Access[];

/** The key policy AWS creates by default: it delegates the key's use to the account's IAM policies. */
const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
  ],
};

const BROAD_ROLE_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

interface Request {
  readonly name: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string>;
  /** Context keys the simulator drops because AWS never sets them for the action. */
  readonly ignored?: readonly string[];
}

interface OracleCase extends Request {
  /** Which levels allow the request; every other level must not. */
  readonly allowed: readonly S3Access[];
}

const NONE: readonly S3Access[] = [];

/** One grant on `acme-reports/reports/` plus one KMS key; each level runs the whole table. */
const CASES: readonly OracleCase[] = [
  // Objects under the prefix, as the level permits.
  {
    name: 'GetObject under the prefix',
    action: 's3:GetObject',
    resource: `${OBJECT}reports/2026/q1.csv`,
    allowed: ['read', 'readwrite'],
  },
  {
    name: 'GetObject directly in the prefix',
    action: 's3:GetObject',
    resource: `${OBJECT}reports/q1.csv`,
    allowed: ['read', 'readwrite'],
  },
  {
    name: 'GetObjectVersion under the prefix',
    action: 's3:GetObjectVersion',
    resource: `${OBJECT}reports/q1.csv`,
    allowed: ['read', 'readwrite'],
  },
  {
    name: 'PutObject under the prefix',
    action: 's3:PutObject',
    resource: `${OBJECT}reports/2026/q1.csv`,
    allowed: ['write', 'readwrite'],
  },
  {
    name: 'AbortMultipartUpload under the prefix',
    action: 's3:AbortMultipartUpload',
    resource: `${OBJECT}reports/big.bin`,
    allowed: ['write', 'readwrite'],
  },
  {
    name: 'ListMultipartUploadParts under the prefix',
    action: 's3:ListMultipartUploadParts',
    resource: `${OBJECT}reports/big.bin`,
    allowed: ['write', 'readwrite'],
  },
  {
    name: 'DeleteObject under the prefix',
    action: 's3:DeleteObject',
    resource: `${OBJECT}reports/q1.csv`,
    allowed: ['readwrite'],
  },
  {
    name: 'DeleteObjectVersion under the prefix (versions stay recoverable)',
    action: 's3:DeleteObjectVersion',
    resource: `${OBJECT}reports/q1.csv`,
    allowed: NONE,
  },
  {
    name: 'PutObjectAcl under the prefix',
    action: 's3:PutObjectAcl',
    resource: `${OBJECT}reports/q1.csv`,
    allowed: NONE,
  },
  {
    name: 'GetObjectAcl under the prefix',
    action: 's3:GetObjectAcl',
    resource: `${OBJECT}reports/q1.csv`,
    allowed: NONE,
  },
  {
    name: 'PutObjectTagging under the prefix',
    action: 's3:PutObjectTagging',
    resource: `${OBJECT}reports/q1.csv`,
    allowed: NONE,
  },
  // Objects outside the prefix or the bucket.
  {
    name: 'GetObject in the sibling prefix reports-old/',
    action: 's3:GetObject',
    resource: `${OBJECT}reports-old/x`,
    allowed: NONE,
  },
  {
    name: 'PutObject in the sibling prefix reports-old/',
    action: 's3:PutObject',
    resource: `${OBJECT}reports-old/x`,
    allowed: NONE,
  },
  {
    name: 'DeleteObject in the sibling prefix reports-old/',
    action: 's3:DeleteObject',
    resource: `${OBJECT}reports-old/x`,
    allowed: NONE,
  },
  {
    name: 'GetObject under reportsX/',
    action: 's3:GetObject',
    resource: `${OBJECT}reportsX/x`,
    allowed: NONE,
  },
  {
    name: 'PutObject of the key `reports` (the prefix without its slash)',
    action: 's3:PutObject',
    resource: `${OBJECT}reports`,
    allowed: NONE,
  },
  {
    name: 'GetObject at the bucket root',
    action: 's3:GetObject',
    resource: `${OBJECT}q1.csv`,
    allowed: NONE,
  },
  {
    name: 'GetObject in another bucket, same prefix',
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::acme-other/reports/x',
    allowed: NONE,
  },
  {
    name: 'PutObject in another bucket, same prefix',
    action: 's3:PutObject',
    resource: 'arn:aws:s3:::acme-other/reports/x',
    allowed: NONE,
  },
  {
    name: 'GetObject in bucket acme-reportsx',
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::acme-reportsx/reports/x',
    allowed: NONE,
  },
  // Listing.
  {
    name: 'ListBucket with s3:prefix reports/2026',
    action: 's3:ListBucket',
    resource: BUCKET,
    context: { 's3:prefix': 'reports/2026' },
    allowed: ['read', 'readwrite'],
  },
  {
    name: 'ListBucket with s3:prefix reports/',
    action: 's3:ListBucket',
    resource: BUCKET,
    context: { 's3:prefix': 'reports/' },
    allowed: ['read', 'readwrite'],
  },
  {
    name: 'ListBucket with s3:prefix reports-old/',
    action: 's3:ListBucket',
    resource: BUCKET,
    context: { 's3:prefix': 'reports-old/' },
    allowed: NONE,
  },
  {
    name: 'ListBucket with s3:prefix reports (no slash)',
    action: 's3:ListBucket',
    resource: BUCKET,
    context: { 's3:prefix': 'reports' },
    allowed: NONE,
  },
  { name: 'ListBucket without s3:prefix', action: 's3:ListBucket', resource: BUCKET, allowed: NONE },
  {
    name: 'ListBucket of another bucket with s3:prefix reports/',
    action: 's3:ListBucket',
    resource: 'arn:aws:s3:::acme-other',
    context: { 's3:prefix': 'reports/' },
    allowed: NONE,
  },
  {
    name: 'ListBucketVersions with s3:prefix reports/',
    action: 's3:ListBucketVersions',
    resource: BUCKET,
    context: { 's3:prefix': 'reports/' },
    allowed: NONE,
  },
  // No level grants ListBucketMultipartUploads: AWS sets no s3:prefix for it (the simulator drops the key,
  // as AWS would not supply it), so a prefix condition could never match it, and unconditioned it would
  // reveal in-progress upload names across the bucket. Uploading, aborting and listing parts do not need it.
  {
    name: 'ListBucketMultipartUploads with s3:prefix reports/',
    action: 's3:ListBucketMultipartUploads',
    resource: BUCKET,
    context: { 's3:prefix': 'reports/' },
    allowed: NONE,
    ignored: ['s3:prefix'],
  },
  {
    name: 'ListBucketMultipartUploads without s3:prefix',
    action: 's3:ListBucketMultipartUploads',
    resource: BUCKET,
    allowed: NONE,
  },
  // Bucket-level and account-level actions.
  { name: 'PutBucketPolicy', action: 's3:PutBucketPolicy', resource: BUCKET, allowed: NONE },
  { name: 'GetBucketPolicy', action: 's3:GetBucketPolicy', resource: BUCKET, allowed: NONE },
  { name: 'DeleteBucket', action: 's3:DeleteBucket', resource: BUCKET, allowed: NONE },
  { name: 'PutBucketVersioning', action: 's3:PutBucketVersioning', resource: BUCKET, allowed: NONE },
  {
    name: 'PutLifecycleConfiguration',
    action: 's3:PutLifecycleConfiguration',
    resource: BUCKET,
    allowed: NONE,
  },
  { name: 'CreateBucket', action: 's3:CreateBucket', resource: 'arn:aws:s3:::acme-new', allowed: NONE },
  // ListAllMyBuckets has no resource type: `*` is the only resource it can be asked on.
  { name: 'ListAllMyBuckets', action: 's3:ListAllMyBuckets', resource: '*', allowed: NONE },
  // KMS.
  // Decrypt at every level: reading needs it, and so does a multipart upload to an SSE-KMS object.
  {
    name: 'kms:Decrypt on the key via S3',
    action: 'kms:Decrypt',
    resource: KEY,
    context: VIA_S3,
    allowed: LEVELS,
  },
  {
    name: 'kms:GenerateDataKey on the key via S3',
    action: 'kms:GenerateDataKey',
    resource: KEY,
    context: VIA_S3,
    allowed: ['write', 'readwrite'],
  },
  {
    name: 'kms:Decrypt on another key via S3',
    action: 'kms:Decrypt',
    resource: OTHER_KEY,
    context: VIA_S3,
    allowed: NONE,
  },
  {
    name: 'kms:GenerateDataKey on another key via S3',
    action: 'kms:GenerateDataKey',
    resource: OTHER_KEY,
    context: VIA_S3,
    allowed: NONE,
  },
  { name: 'kms:Decrypt on the key without ViaService', action: 'kms:Decrypt', resource: KEY, allowed: NONE },
  {
    name: 'kms:GenerateDataKey on the key without ViaService',
    action: 'kms:GenerateDataKey',
    resource: KEY,
    allowed: NONE,
  },
  {
    name: 'kms:Decrypt on the key via S3 in another region',
    action: 'kms:Decrypt',
    resource: KEY,
    context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
    allowed: NONE,
  },
  {
    name: 'kms:GenerateDataKey on the key via S3 in another region',
    action: 'kms:GenerateDataKey',
    resource: KEY,
    context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
    allowed: NONE,
  },
  {
    name: 'kms:Decrypt on the key via EC2',
    action: 'kms:Decrypt',
    resource: KEY,
    context: { 'kms:ViaService': `ec2.${REGION}.amazonaws.com` },
    allowed: NONE,
  },
  {
    name: 'kms:GenerateDataKey on the key via EC2',
    action: 'kms:GenerateDataKey',
    resource: KEY,
    context: { 'kms:ViaService': `ec2.${REGION}.amazonaws.com` },
    allowed: NONE,
  },
  {
    name: 'kms:Encrypt on the key via S3',
    action: 'kms:Encrypt',
    resource: KEY,
    context: VIA_S3,
    allowed: NONE,
  },
  {
    name: 'kms:ReEncryptFrom on the key via S3',
    action: 'kms:ReEncryptFrom',
    resource: KEY,
    context: VIA_S3,
    allowed: NONE,
  },
  {
    name: 'kms:ScheduleKeyDeletion on the key',
    action: 'kms:ScheduleKeyDeletion',
    resource: KEY,
    allowed: NONE,
  },
  // Escalation.
  {
    name: 'iam:PassRole',
    action: 'iam:PassRole',
    resource: `arn:aws:iam::${ACCOUNT}:role/admin`,
    allowed: NONE,
  },
  {
    name: 'sts:AssumeRole',
    action: 'sts:AssumeRole',
    resource: `arn:aws:iam::${ACCOUNT}:role/admin`,
    allowed: NONE,
  },
];

function policyFor(access: S3Access): unknown {
  return JSON.parse(
    s3SessionPolicy(
      {
        secretName: 's3-reports',
        region: REGION,
        kmsKeyArns: [KEY],
        buckets: [{ bucket: 'acme-reports', prefix: 'reports/', access }],
      },
      'gke-prod',
    ),
  );
}

type Model = 'session-only' | 'broad role';

interface Outcome {
  readonly result: string;
  readonly ignored: readonly string[] | undefined;
}

async function evaluate(policy: unknown, model: Model, c: Request): Promise<Outcome> {
  const simulation: Simulation = {
    request: {
      principal: PRINCIPAL,
      action: c.action,
      resource: { resource: c.resource, accountId: ACCOUNT },
      contextVariables: { ...c.context },
    },
    identityPolicies:
      model === 'session-only'
        ? [{ name: 'session', policy }]
        : [{ name: 'broad-role', policy: BROAD_ROLE_POLICY }],
    ...(model === 'broad role' ? { sessionPolicy: policy } : {}),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(c.action.startsWith('kms:') ? { resourcePolicy: DEFAULT_KEY_POLICY } : {}),
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') {
    throw new Error(`iam-simulate could not evaluate ${c.name}: ${JSON.stringify(response.errors)}`);
  }
  if (response.resultType !== 'single')
    throw new Error(`${c.name}: expected one resource, got ${response.resultType}`);
  return { result: response.overallResult, ignored: response.result.ignoredContextKeys };
}

describe('Oracle: s3SessionPolicy under @cloud-copilot/iam-simulate', () => {
  describe.each(LEVELS)('access %s on acme-reports/reports/ with one KMS key', (access) => {
    const policy = policyFor(access);
    const cases = CASES.map((c) => ({ ...c, expected: c.allowed.includes(access) ? 'Allowed' : 'denied' }));

    it('evaluates at least 20 requests', () => {
      // Prepare
      const count = cases.length;

      // Act
      const allowed = cases.filter((c) => c.expected === 'Allowed').length;

      // Assess
      expect(count).toBeGreaterThanOrEqual(20);
      expect(allowed).toBeGreaterThan(0);
      expect(count - allowed).toBeGreaterThan(0);
    });

    it.each(cases)('$name: $expected', async (c) => {
      // Prepare
      const models: readonly Model[] = ['session-only', 'broad role'];

      // Act
      const outcomes = await Promise.all(models.map((model) => evaluate(policy, model, c)));

      // Assess
      for (const [i, outcome] of outcomes.entries()) {
        const label = `${models[i]}: ${c.name}`;
        expect(outcome.ignored, label).toEqual(c.ignored ?? []);
        if (c.expected === 'Allowed') expect(outcome.result, label).toBe('Allowed');
        else expect(outcome.result, label).toMatch(/^(ImplicitlyDenied|ExplicitlyDenied)$/);
      }
    });
  });

  describe.each(LEVELS)('access %s on the whole of acme-reports, no KMS keys', (access) => {
    const policy = JSON.parse(
      s3SessionPolicy(
        { secretName: 's3-all', region: REGION, buckets: [{ bucket: 'acme-reports', access }] },
        'gke-prod',
      ),
    );
    const cases: readonly OracleCase[] = [
      // Unconditioned on a whole-bucket grant: these fail if ListBucketMultipartUploads is ever granted.
      {
        name: 'ListBucketMultipartUploads without s3:prefix',
        action: 's3:ListBucketMultipartUploads',
        resource: BUCKET,
        allowed: NONE,
      },
      {
        name: 'ListBucketMultipartUploads with s3:prefix reports/',
        action: 's3:ListBucketMultipartUploads',
        resource: BUCKET,
        context: { 's3:prefix': 'reports/' },
        allowed: NONE,
        ignored: ['s3:prefix'],
      },
      // Controls: the bucket and object statements do apply here.
      {
        name: 'ListBucket without s3:prefix',
        action: 's3:ListBucket',
        resource: BUCKET,
        allowed: ['read', 'readwrite'],
      },
      {
        name: 'ListBucketVersions without s3:prefix',
        action: 's3:ListBucketVersions',
        resource: BUCKET,
        allowed: NONE,
      },
      {
        name: 'PutObject at the root',
        action: 's3:PutObject',
        resource: `${OBJECT}big.bin`,
        allowed: ['write', 'readwrite'],
      },
      {
        name: 'ListMultipartUploadParts at the root',
        action: 's3:ListMultipartUploadParts',
        resource: `${OBJECT}big.bin`,
        allowed: ['write', 'readwrite'],
      },
      {
        name: 'AbortMultipartUpload at the root',
        action: 's3:AbortMultipartUpload',
        resource: `${OBJECT}big.bin`,
        allowed: ['write', 'readwrite'],
      },
      {
        name: 'GetObject at the root',
        action: 's3:GetObject',
        resource: `${OBJECT}q1.csv`,
        allowed: ['read', 'readwrite'],
      },
    ];

    it.each(cases.map((c) => ({ ...c, expected: c.allowed.includes(access) ? 'Allowed' : 'denied' })))(
      '$name: $expected',
      async (c) => {
        // Prepare
        const models: readonly Model[] = ['session-only', 'broad role'];

        // Act
        const outcomes = await Promise.all(models.map((model) => evaluate(policy, model, c)));

        // Assess
        for (const [i, outcome] of outcomes.entries()) {
          const label = `${models[i]}: ${c.name}`;
          expect(outcome.ignored, label).toEqual(c.ignored ?? []);
          if (c.expected === 'Allowed') expect(outcome.result, label).toBe('Allowed');
          else expect(outcome.result, label).toMatch(/^(ImplicitlyDenied|ExplicitlyDenied)$/);
        }
      },
    );
  });

  describe('whole-bucket read grant, no KMS keys', () => {
    const policy = JSON.parse(
      s3SessionPolicy(
        { secretName: 's3-all', region: REGION, buckets: [{ bucket: 'acme-reports', access: 'read' }] },
        'gke-prod',
      ),
    );
    const cases: readonly (Request & { readonly expected: 'Allowed' | 'denied' })[] = [
      {
        name: 'GetObject at the root',
        action: 's3:GetObject',
        resource: `${OBJECT}q1.csv`,
        expected: 'Allowed',
      },
      { name: 'GetObject anywhere', action: 's3:GetObject', resource: `${OBJECT}a/b/c`, expected: 'Allowed' },
      {
        name: 'ListBucket without s3:prefix',
        action: 's3:ListBucket',
        resource: BUCKET,
        expected: 'Allowed',
      },
      {
        name: 'ListBucket with any s3:prefix',
        action: 's3:ListBucket',
        resource: BUCKET,
        context: { 's3:prefix': 'x/' },
        expected: 'Allowed',
      },
      { name: 'PutObject', action: 's3:PutObject', resource: `${OBJECT}q1.csv`, expected: 'denied' },
      {
        name: 'GetObject in another bucket',
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::acme-other/q1.csv',
        expected: 'denied',
      },
      {
        name: 'ListBucket of acme-reportsx',
        action: 's3:ListBucket',
        resource: 'arn:aws:s3:::acme-reportsx',
        expected: 'denied',
      },
      {
        name: 'kms:Decrypt via S3 (no keys listed)',
        action: 'kms:Decrypt',
        resource: KEY,
        context: VIA_S3,
        expected: 'denied',
      },
    ];

    it.each(cases)('$name: $expected', async (c) => {
      // Prepare
      const model: Model = 'broad role';

      // Act
      const outcome = await evaluate(policy, model, c);

      // Assess
      expect(outcome.ignored).toEqual([]);
      if (c.expected === 'Allowed') expect(outcome.result).toBe('Allowed');
      else expect(outcome.result).toMatch(/^(ImplicitlyDenied|ExplicitlyDenied)$/);
    });
  });
});
