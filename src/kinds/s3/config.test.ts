import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { issuesOf, onlyIssueOf, yaml } from '../../../test/support/config-text.ts';
import { loadConfig, parseConfig } from '../../config/load.ts';
import { configJsonSchema, quote } from '../../config/schema.ts';

const EXAMPLE_FILE = fileURLToPath(new URL('../../../config/clusters.yaml', import.meta.url));
const ROLE = 'arn:aws:iam::111122223333:role/cred-courier-s3-reports';
const KMS_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const BUCKET_WHAT = 'expected an S3 bucket name (3-63 of a-z 0-9 . -)';
const PREFIX_WHAT = 'expected an S3 key prefix such as reports/2026/';
const MOUNT_WHAT = 'expected an absolute path such as /var/run/secrets/cred-courier/reports-reader';
const NOT_SELECTED = 'a grant delivers only into namespaces its cluster selects';

/**
 * A file with one cluster (namespaces [app, analytics]) and one S3 grant whose first lines are
 * secretName (line 7), roleArn (8) and region (9); `grantLines` follow from line 10 (8-space indent).
 */
function oneGrant(...grantLines: string[]): string {
  return yaml(
    'clusters:',
    '  - name: gke-prod',
    '    kubeconfigSecret: k/gke-prod',
    '    namespaces:',
    '      names: [app, analytics]',
    '    s3:',
    '      - secretName: reports-reader',
    `        roleArn: ${ROLE}`,
    '        region: eu-west-1',
    ...grantLines,
  );
}

/** The `buckets:` lines of a grant, one flow mapping per entry. */
function buckets(...entries: string[]): string[] {
  return ['        buckets:', ...entries.map((entry) => `          - ${entry}`)];
}

/** A grant with one bucket entry at line 11 and `extra` grant lines after it (line 12 on). */
function oneBucket(entry: string, ...extra: string[]): string {
  return oneGrant(...buckets(entry), ...extra);
}

describe('S3 grants: resolving', () => {
  it('resolves a grant with every default filled in', () => {
    // Prepare
    const text = oneBucket('{ bucket: acme-reports, prefix: reports/2026, access: read }');

    // Act
    const config = parseConfig(text, 'clusters.yaml');

    // Assess
    expect(config.settings.s3IntervalMinutes).toBe(15);
    expect(config.clusters[0]?.s3).toEqual([
      {
        secretName: 'reports-reader',
        roleArn: ROLE,
        buckets: [{ bucket: 'acme-reports', prefix: 'reports/2026/', access: 'read' }],
        durationSeconds: 3600,
        region: 'eu-west-1',
        mountPath: '/var/run/secrets/cred-courier/reports-reader',
        longSessions: false,
      },
    ]);
    const grant = config.clusters[0]?.s3[0];
    expect(grant && 'namespaces' in grant).toBe(false);
    expect(grant && 'kmsKeyArns' in grant).toBe(false);
  });

  it('keeps every field the grant sets', () => {
    // Prepare
    const text = oneGrant(
      '        namespaces: [analytics]',
      '        durationSeconds: 7200',
      '        longSessions: true',
      '        mountPath: /etc/aws/reports',
      `        kmsKeyArns: [${KMS_KEY}]`,
      ...buckets(
        '{ bucket: acme-reports, access: readwrite }',
        '{ bucket: acme-exports, prefix: out/, access: write }',
      ),
    );

    // Act
    const config = parseConfig(text, 'clusters.yaml');

    // Assess
    expect(config.clusters[0]?.s3).toEqual([
      {
        secretName: 'reports-reader',
        roleArn: ROLE,
        namespaces: ['analytics'],
        buckets: [
          { bucket: 'acme-reports', access: 'readwrite' },
          { bucket: 'acme-exports', prefix: 'out/', access: 'write' },
        ],
        durationSeconds: 7200,
        region: 'eu-west-1',
        kmsKeyArns: [KMS_KEY],
        mountPath: '/etc/aws/reports',
        longSessions: true,
      },
    ]);
  });

  it('gives a cluster without s3 an empty list', () => {
    // Prepare
    const text = yaml('clusters:', '  - { name: a, kubeconfigSecret: k/a, namespaces: { names: [app] } }');

    // Act
    const config = parseConfig(text, 'clusters.yaml');

    // Assess
    expect(config.clusters[0]?.s3).toEqual([]);
  });

  it.each([
    ['reports', 'reports/'],
    ['reports/', 'reports/'],
    ['reports/2026', 'reports/2026/'],
    ['a b/c', 'a b/c/'],
    ['reports..old', 'reports..old/'],
  ])('normalises the prefix %j to %j', (prefix, expected) => {
    // Prepare
    const text = oneBucket(`{ bucket: acme-reports, prefix: ${JSON.stringify(prefix)}, access: read }`);

    // Act
    const config = parseConfig(text, 'clusters.yaml');

    // Assess
    expect(config.clusters[0]?.s3[0]?.buckets[0]?.prefix).toBe(expected);
  });

  it.each([
    ['absent', '{ bucket: acme-reports, access: read }'],
    ['empty', '{ bucket: acme-reports, prefix: "", access: read }'],
  ])('treats an %s prefix as the whole bucket (no prefix)', (_case, entry) => {
    // Prepare
    const text = oneBucket(entry);

    // Act
    const config = parseConfig(text, 'clusters.yaml');

    // Assess
    expect(config.clusters[0]?.s3[0]?.buckets).toEqual([{ bucket: 'acme-reports', access: 'read' }]);
  });

  it.each(['abc', 'a'.repeat(63), 'my.bucket.name', '1.2.3', 'acme-reports-2026', 'xn-acme'])(
    'accepts the bucket name %j',
    (bucket) => {
      // Prepare
      const text = oneBucket(`{ bucket: ${JSON.stringify(bucket)}, access: read }`);

      // Act
      const config = parseConfig(text, 'clusters.yaml');

      // Assess
      expect(config.clusters[0]?.s3[0]?.buckets[0]?.bucket).toBe(bucket);
    },
  );

  it.each([
    KMS_KEY,
    'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab',
    'arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    'arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab',
  ])('accepts the KMS key ARN %j', (arn) => {
    // Prepare
    const text = oneGrant(
      `        kmsKeyArns: [${JSON.stringify(arn)}]`,
      ...buckets('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const config = parseConfig(text, 'clusters.yaml');

    // Assess
    expect(config.clusters[0]?.s3[0]?.kmsKeyArns).toEqual([arn]);
  });
});

describe('S3 grants: bucket and prefix rules', () => {
  it.each([
    ['acme-*', 'wildcards (* and ?) are not allowed: a grant names each bucket exactly'],
    ['acme?', 'wildcards (* and ?) are not allowed: a grant names each bucket exactly'],
    ['*', 'wildcards (* and ?) are not allowed: a grant names each bucket exactly'],
    ['ab', 'it must be 3 to 63 characters long, not 2'],
    ['Acme-reports', "it may only contain lowercase letters, digits, '.' and '-'"],
    ['acme_reports', "it may only contain lowercase letters, digits, '.' and '-'"],
    ['acme/reports', "it may only contain lowercase letters, digits, '.' and '-'"],
    ['-acme', 'it must start and end with a letter or digit'],
    ['acme.', 'it must start and end with a letter or digit'],
    ['acme..reports', 'it must not contain two adjacent periods'],
    ['192.168.5.4', 'it must not be formatted as an IP address'],
    ['xn--acme', 'it must not start with "xn--" (reserved for punycode)'],
    ['sthree-acme', 'it must not start with "sthree-" (reserved by S3)'],
    ['amzn-s3-demo-acme', 'it must not start with "amzn-s3-demo-" (reserved for documentation examples)'],
    ['acme-s3alias', 'it must not end with "-s3alias" (reserved for access point aliases)'],
    ['acme--ol-s3', 'it must not end with "--ol-s3" (reserved for Object Lambda access point aliases)'],
    ['acme.mrap', 'it must not end with ".mrap" (reserved for Multi-Region Access Points)'],
    ['acme--x-s3', 'it must not end with "--x-s3" (reserved for directory buckets)'],
    ['acme--table-s3', 'it must not end with "--table-s3" (reserved for table buckets)'],
  ])('reports the bucket name %j, naming the rule broken', (bucket, rule) => {
    // Prepare
    const text = oneBucket(`{ bucket: ${JSON.stringify(bucket)}, access: read }`);

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      `clusters[0].s3[0].buckets[0].bucket (line 11): ${BUCKET_WHAT}; ${rule}, got ${quote(bucket)}`,
    );
  });

  it('reports an overlong bucket, prefix and mountPath with their lengths', () => {
    // Prepare
    const bucket = 'a'.repeat(64);
    const prefix = 'x'.repeat(513);
    const mountPath = `/${'m'.repeat(200)}`;
    const text = oneGrant(
      `        mountPath: ${mountPath}`,
      ...buckets(`{ bucket: ${bucket}, prefix: ${prefix}, access: read }`),
    );

    // Act
    const issues = issuesOf(text);

    // Assess
    expect(issues).toEqual([
      `clusters[0].s3[0].mountPath (line 10): ${MOUNT_WHAT}; it must be at most 200 characters, not 201, got ${quote(mountPath)}`,
      `clusters[0].s3[0].buckets[0].bucket (line 12): ${BUCKET_WHAT}; it must be 3 to 63 characters long, not 64, got ${quote(bucket)}`,
      `clusters[0].s3[0].buckets[0].prefix (line 12): ${PREFIX_WHAT}; it must be at most 512 characters, not 513, got ${quote(prefix)}`,
    ]);
  });

  it('reports a bucket that is not a string', () => {
    // Prepare
    const text = oneBucket('{ bucket: 123, access: read }');

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(`clusters[0].s3[0].buckets[0].bucket (line 11): ${BUCKET_WHAT}, got number 123`);
  });

  it.each([
    ['reports/*', 'wildcards (* and ?) are not allowed: IAM would expand them and widen the grant'],
    ['report?', 'wildcards (* and ?) are not allowed: IAM would expand them and widen the grant'],
    [`\${aws:username}/`, "'${' is not allowed: IAM would read it as a policy variable"],
    ['/reports', "it must not start with '/': S3 keys do not (write reports/, not /reports/)"],
    ['reports//2026', "it must not contain '//'"],
    ['reports/../secrets', "it must not contain a '..' segment"],
    ['..', "it must not contain a '..' segment"],
    ['reports/..', "it must not contain a '..' segment"],
    ['reports\u0000', 'control characters are not allowed'],
    ['reports\n2026', 'control characters are not allowed'],
  ])('reports the prefix %j, naming the rule broken', (prefix, rule) => {
    // Prepare
    const text = oneBucket(`{ bucket: acme-reports, prefix: ${JSON.stringify(prefix)}, access: read }`);

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      `clusters[0].s3[0].buckets[0].prefix (line 11): ${PREFIX_WHAT}; ${rule}, got ${quote(prefix)}`,
    );
  });

  it('reports an unknown access level', () => {
    // Prepare
    const text = oneBucket('{ bucket: acme-reports, access: admin }');

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].buckets[0].access (line 11): expected read, write or readwrite, got "admin"',
    );
  });

  it('reports the same bucket and prefix twice in one grant, comparing normalised prefixes', () => {
    // Prepare
    const text = oneGrant(
      ...buckets(
        '{ bucket: acme-reports, prefix: reports, access: read }',
        '{ bucket: acme-reports, prefix: reports-old, access: read }',
        '{ bucket: acme-exports, prefix: reports, access: read }',
        '{ bucket: acme-reports, prefix: reports/, access: write }',
      ),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].buckets[3] (line 14): duplicates buckets[0] (bucket "acme-reports", prefix "reports/"; ' +
        "prefixes are compared after normalising them to end in '/')",
    );
  });

  it('reports the same whole bucket twice, an absent and an empty prefix being the same', () => {
    // Prepare
    const text = oneGrant(
      ...buckets(
        '{ bucket: acme-reports, access: read }',
        '{ bucket: acme-reports, prefix: "", access: write }',
      ),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].buckets[1] (line 12): duplicates buckets[0] (bucket "acme-reports", the whole bucket; ' +
        "prefixes are compared after normalising them to end in '/')",
    );
  });

  it('reports an empty buckets list', () => {
    // Prepare
    const text = oneGrant('        buckets: []');

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].buckets (line 10): expected at least one bucket, got an empty list',
    );
  });
});

describe('S3 grants: other fields', () => {
  it('reports a missing roleArn and region', () => {
    // Prepare
    const text = yaml(
      'clusters:',
      '  - name: gke-prod',
      '    kubeconfigSecret: k/gke-prod',
      '    namespaces: { names: [app] }',
      '    s3:',
      '      - secretName: reports-reader',
      '        buckets: [{ bucket: acme-reports, access: read }]',
    );

    // Act
    const issues = issuesOf(text);

    // Assess
    expect(issues).toEqual([
      'clusters[0].s3[0].roleArn (line 6): missing (expected an IAM role ARN such as arn:aws:iam::111122223333:role/s3-reports)',
      'clusters[0].s3[0].region (line 6): missing (expected an AWS region such as eu-west-1)',
    ]);
  });

  it.each([
    ['arn:aws:kms:eu-west-1:111122223333:key/*'],
    ['arn:aws:kms:eu-west-1:1111222233:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
    ['arn:aws:kms:eu-west-1:111122223333:key/not-a-key-id'],
    ['arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd'],
    ['arn:aws:kms:eu-west:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
    ['arn:aws:kms:eu-west-1:111122223333:key/1234ABCD-12AB-34CD-56EF-1234567890AB'],
    ['arn:aws:kms:eu-west-1:111122223333:1234abcd-12ab-34cd-56ef-1234567890ab'],
    ['arn:aws:s3:::acme-reports'],
    ['1234abcd-12ab-34cd-56ef-1234567890ab'],
    ['alias/reports'],
  ])('reports the KMS ARN %j', (arn) => {
    // Prepare
    const text = oneGrant(
      `        kmsKeyArns: [${JSON.stringify(KMS_KEY)}, ${JSON.stringify(arn)}]`,
      ...buckets('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].kmsKeyArns[1] (line 10): expected a KMS key ARN such as ' +
        `arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, got ${quote(arn)}`,
    );
  });

  it.each([
    ['arn:aws:kms:eu-west-1:111122223333:alias/reports'],
    ['arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/team/reports_key-1'],
    ['arn:aws:kms:eu-west-1:111122223333:alias/aws/s3'],
    ['arn:aws:kms:eu-west:111122223333:alias/reports'],
  ])('refuses the KMS alias ARN %j: the key ARN it points to is needed', (arn) => {
    // Prepare
    const text = oneGrant(
      `        kmsKeyArns: [${JSON.stringify(KMS_KEY)}, ${JSON.stringify(arn)}]`,
      ...buckets('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].kmsKeyArns[1] (line 10): expected a KMS key ARN such as ' +
        'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab; an alias ARN as a ' +
        'policy Resource does not grant use of the key it points to: use the key ARN the alias points to, ' +
        `got ${quote(arn)}`,
    );
  });

  it.each([
    ['var/run/reports', "it must be absolute (start with '/')"],
    ['/var/run/../etc', "it must not contain a '..' segment"],
    [
      '/var/run/my secrets',
      "it may only contain letters, digits, '.', '_', '-' and '/' (no whitespace): it is written into a credential_process command line",
    ],
    [
      '/var/run/$(id)',
      "it may only contain letters, digits, '.', '_', '-' and '/' (no whitespace): it is written into a credential_process command line",
    ],
    ['/', "it must name a directory below '/'"],
  ])('reports the mountPath %j', (mountPath, rule) => {
    // Prepare
    const text = oneGrant(
      `        mountPath: ${JSON.stringify(mountPath)}`,
      ...buckets('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      `clusters[0].s3[0].mountPath (line 10): ${MOUNT_WHAT}; ${rule}, got ${quote(mountPath)}`,
    );
  });
});

describe('S3 grants: session duration', () => {
  it('reports a duration above 3600 without longSessions, explaining role chaining', () => {
    // Prepare
    const text = oneGrant(
      '        durationSeconds: 7200',
      ...buckets('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].durationSeconds (line 10): expected at most 3600 without longSessions: true, got number 7200; ' +
        "cred-courier mints from a role session (the Lambda's role), and assuming a role from a role session is role " +
        'chaining, which AWS caps at 3600 s; set longSessions: true only if the minting identity is an IAM user',
    );
  });

  it('accepts a duration above 3600 with longSessions: true, and exactly 3600 without', () => {
    // Prepare
    const long = oneGrant(
      '        durationSeconds: 43200',
      '        longSessions: true',
      ...buckets('{ bucket: acme-reports, access: read }'),
    );
    const capped = oneGrant(
      '        durationSeconds: 3600',
      ...buckets('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const longConfig = parseConfig(long, 'clusters.yaml');
    const cappedConfig = parseConfig(capped, 'clusters.yaml');

    // Assess
    expect(longConfig.clusters[0]?.s3[0]?.durationSeconds).toBe(43200);
    expect(longConfig.clusters[0]?.s3[0]?.longSessions).toBe(true);
    expect(cappedConfig.clusters[0]?.s3[0]?.durationSeconds).toBe(3600);
  });

  it.each([899, 43201])('reports the duration %i as out of range', (duration) => {
    // Prepare
    const text = oneGrant(
      `        durationSeconds: ${duration}`,
      '        longSessions: true',
      ...buckets('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      `clusters[0].s3[0].durationSeconds (line 10): expected an integer from 900 to 43200, got number ${duration}`,
    );
  });

  it('rejects 2220 s and accepts 2221 s with the default 15-minute schedule, naming the grant', () => {
    // Prepare
    const twoGrants = (duration: number) =>
      oneGrant(
        ...buckets('{ bucket: acme-reports, access: read }'),
        '      - secretName: exports-writer',
        `        roleArn: ${ROLE}`,
        '        region: eu-west-1',
        `        durationSeconds: ${duration}`,
        '        buckets: [{ bucket: acme-exports, access: write }]',
      );

    // Act
    const issue = onlyIssueOf(twoGrants(2220));
    const config = parseConfig(twoGrants(2221), 'clusters.yaml');

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[1].durationSeconds (line 15): 2220 s is too short for an S3 schedule every 15 min: ' +
        '15 min × 60 + 120 s kubelet lag + 900 s SDK refresh window + 300 s margin = 2220 s, and durationSeconds must be ' +
        "greater: a delivered credential must still be valid when the consumer's SDK next decides to refresh after the " +
        'kubelet updated the file; set durationSeconds to at least 2221 (at most 3600 without longSessions), or lower ' +
        'settings.s3IntervalMinutes to 14 or less',
    );
    expect(config.clusters[0]?.s3[1]?.durationSeconds).toBe(2221);
  });

  it('checks the cadence against settings.s3IntervalMinutes (5 min: 1620 rejected, 1621 accepted)', () => {
    // Prepare
    const withInterval = (duration: number) =>
      yaml(
        'settings:',
        '  s3IntervalMinutes: 5',
        oneGrant(
          `        durationSeconds: ${duration}`,
          ...buckets('{ bucket: acme-reports, access: read }'),
        ),
      );

    // Act
    const issue = onlyIssueOf(withInterval(1620));
    const config = parseConfig(withInterval(1621), 'clusters.yaml');

    // Assess
    expect(issue).toMatch(
      /^clusters\[0\]\.s3\[0\]\.durationSeconds \(line 12\): 1620 s is too short for an S3 schedule every 5 min: /,
    );
    expect(issue).toContain(
      '5 min × 60 + 120 s kubelet lag + 900 s SDK refresh window + 300 s margin = 1620 s',
    );
    expect(config.settings.s3IntervalMinutes).toBe(5);
    expect(config.clusters[0]?.s3[0]?.durationSeconds).toBe(1621);
  });

  it('says when the duration checked against the schedule is the default', () => {
    // Prepare
    const text = yaml(
      'settings:',
      '  s3IntervalMinutes: 38',
      oneBucket('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toMatch(
      /^clusters\[0\]\.s3\[0\]\.durationSeconds \(line 9\): not set, so 3600 \(the default\): 3600 s is too short for an S3 schedule every 38 min: /,
    );
  });

  it('reports both the role-chaining cap and the cadence when both are broken', () => {
    // Prepare
    const text = yaml(
      'settings:',
      '  s3IntervalMinutes: 60',
      oneGrant('        durationSeconds: 4000', ...buckets('{ bucket: acme-reports, access: read }')),
    );

    // Act
    const issues = issuesOf(text);

    // Assess
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(
      /^clusters\[0\]\.s3\[0\]\.durationSeconds \(line 12\): expected at most 3600 without longSessions/,
    );
    expect(issues[1]).toMatch(/^clusters\[0\]\.s3\[0\]\.durationSeconds \(line 12\): 4000 s is too short/);
  });

  it('reports an s3IntervalMinutes out of range and skips the cadence check', () => {
    // Prepare
    const text = yaml(
      'settings:',
      '  s3IntervalMinutes: 61',
      oneBucket('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'settings.s3IntervalMinutes (line 2): expected an integer from 1 to 60, got number 61',
    );
  });
});

describe('S3 grants: secret names', () => {
  it('reports a secretName used by two grants of a cluster', () => {
    // Prepare
    const text = oneGrant(
      ...buckets('{ bucket: acme-reports, access: read }'),
      '      - secretName: reports-reader',
      `        roleArn: ${ROLE}`,
      '        region: eu-west-1',
      '        buckets: [{ bucket: acme-exports, access: write }]',
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[1].secretName (line 12): duplicate secretName "reports-reader", already used by clusters[0].s3[0]; ' +
        'each S3 grant writes its own Secret, so names must be unique within a cluster',
    );
  });

  it("reports a secretName equal to the cluster's ecr.secretName", () => {
    // Prepare
    const text = oneBucket(
      '{ bucket: acme-reports, access: read }',
      '    ecr:',
      '      secretName: reports-reader',
      '      registries: [{ region: eu-west-1 }]',
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].secretName (line 7): "reports-reader" is also clusters[0].ecr.secretName; ' +
        "the ECR pull Secret and an S3 grant's Secret cannot share a name",
    );
  });

  it('reports a secretName equal to an ecr.secretName inherited from defaults, saying so', () => {
    // Prepare
    const text = yaml(
      'defaults:',
      '  ecr: { secretName: reports-reader, registries: [{ region: eu-west-1 }] }',
      oneBucket('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].secretName (line 9): "reports-reader" is also clusters[0].ecr.secretName ' +
        "(from defaults.ecr.secretName); the ECR pull Secret and an S3 grant's Secret cannot share a name",
    );
  });
});

describe('S3 grants: namespaces', () => {
  it('reports a grant namespace the exact names do not select', () => {
    // Prepare
    const text = oneGrant(
      '        namespaces: [analytics, billing]',
      ...buckets('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].namespaces[1] (line 10): namespace "billing" is not selected by clusters[0].namespaces.names ' +
        `("app", "analytics"); ${NOT_SELECTED}`,
    );
  });

  it('accepts any namespace when the cluster selects by glob or label selector', () => {
    // Prepare
    const byGlob = oneGrant(
      '        namespaces: [billing]',
      ...buckets('{ bucket: acme-reports, access: read }'),
    ).replace('names: [app, analytics]', 'names: [app, "team-*"]');
    const bySelector = oneGrant(
      '        namespaces: [billing]',
      ...buckets('{ bucket: acme-reports, access: read }'),
    ).replace('names: [app, analytics]', 'selector: env=prod');

    // Act
    const globConfig = parseConfig(byGlob, 'clusters.yaml');
    const selectorConfig = parseConfig(bySelector, 'clusters.yaml');

    // Assess
    expect(globConfig.clusters[0]?.s3[0]?.namespaces).toEqual(['billing']);
    expect(selectorConfig.clusters[0]?.s3[0]?.namespaces).toEqual(['billing']);
  });

  it("reports a grant namespace the cluster's exclude removes", () => {
    // Prepare
    const text = oneGrant(
      '        namespaces: [team-legacy-a]',
      ...buckets('{ bucket: acme-reports, access: read }'),
    ).replace('names: [app, analytics]', 'names: ["team-*"]\n      exclude: ["team-legacy*"]');

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].namespaces[0] (line 11): namespace "team-legacy-a" is excluded by "team-legacy*" in ' +
        `clusters[0].namespaces.exclude; ${NOT_SELECTED}`,
    );
  });

  it('reports a glob in a grant namespace', () => {
    // Prepare
    const text = oneGrant(
      '        namespaces: ["team-*"]',
      ...buckets('{ bucket: acme-reports, access: read }'),
    );

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'clusters[0].s3[0].namespaces[0] (line 10): expected an exact namespace name (a DNS label: a-z 0-9 -, ' +
        'alphanumeric at both ends, at most 63 characters); globs are not allowed in a grant\'s namespaces, got "team-*"',
    );
  });

  it('reports a namespace listed twice in a grant, and an empty list', () => {
    // Prepare
    const twice = oneGrant(
      '        namespaces: [app, analytics, app]',
      ...buckets('{ bucket: acme-reports, access: read }'),
    );
    const empty = oneGrant('        namespaces: []', ...buckets('{ bucket: acme-reports, access: read }'));

    // Act
    const twiceIssue = onlyIssueOf(twice);
    const emptyIssue = onlyIssueOf(empty);

    // Assess
    expect(twiceIssue).toBe(
      'clusters[0].s3[0].namespaces[2] (line 10): duplicate namespace "app", already at namespaces[0]',
    );
    expect(emptyIssue).toBe(
      'clusters[0].s3[0].namespaces (line 10): expected at least one namespace, got an empty list',
    );
  });
});

describe('S3 grants: defaults', () => {
  /** defaults.s3 holds one grant (secretName shared, line 5); clusters a, b, c follow. */
  const withDefaults = (...clusterLines: string[]) =>
    yaml(
      'defaults:',
      '  namespaces: { names: [app] }',
      '  s3:',
      '    - secretName: shared',
      `      roleArn: ${ROLE}`,
      '      region: eu-west-1',
      '      buckets: [{ bucket: acme-shared, prefix: common, access: read }]',
      'clusters:',
      ...clusterLines,
    );

  it("inherits defaults.s3 when the cluster has none; a cluster's own list replaces it, and [] turns it off", () => {
    // Prepare
    const text = withDefaults(
      '  - { name: a, kubeconfigSecret: k/a }',
      '  - name: b',
      '    kubeconfigSecret: k/b',
      '    s3:',
      '      - secretName: own',
      `        roleArn: ${ROLE}`,
      '        region: us-east-1',
      '        buckets: [{ bucket: acme-own, access: write }]',
      '  - { name: c, kubeconfigSecret: k/c, s3: [] }',
    );

    // Act
    const config = parseConfig(text, 'clusters.yaml');

    // Assess
    const [a, b, c] = config.clusters;
    expect(a?.s3.map((grant) => grant.secretName)).toEqual(['shared']);
    expect(a?.s3[0]?.buckets).toEqual([{ bucket: 'acme-shared', prefix: 'common/', access: 'read' }]);
    expect(b?.s3.map((grant) => grant.secretName)).toEqual(['own']);
    expect(c?.s3).toEqual([]);
  });

  it('reports a problem of an inherited grant once, at defaults.s3', () => {
    // Prepare
    const text = withDefaults(
      '  - { name: a, kubeconfigSecret: k/a }',
      '  - { name: b, kubeconfigSecret: k/b }',
    ).replace('      region: eu-west-1', '      region: eu-west-1\n      durationSeconds: 7200');

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toMatch(
      /^defaults\.s3\[0\]\.durationSeconds \(line 7\): expected at most 3600 without longSessions: true, got number 7200; /,
    );
  });

  it('reports an inherited grant whose namespace one cluster does not select, naming that cluster', () => {
    // Prepare
    const text = withDefaults(
      '  - { name: a, kubeconfigSecret: k/a, namespaces: { names: [app, analytics] } }',
      '  - { name: b, kubeconfigSecret: k/b }',
    ).replace('      region: eu-west-1', '      region: eu-west-1\n      namespaces: [analytics]');

    // Act
    const issue = onlyIssueOf(text);

    // Assess
    expect(issue).toBe(
      'defaults.s3[0].namespaces[0] (line 7): namespace "analytics" is not selected by clusters[1].namespaces.names ' +
        `(from defaults.namespaces.names) ("app"); ${NOT_SELECTED}`,
    );
  });
});

describe('S3 grants: kmsKeyArns in the JSON Schema', () => {
  /** The kmsKeyArns property of the S3Grant definition editors check files against. */
  function kmsProperty(): { description: string; items: { pattern: string } } {
    const schema = configJsonSchema() as {
      definitions: {
        S3Grant: { properties: { kmsKeyArns: { description: string; items: { pattern: string } } } };
      };
    };
    return schema.definitions.S3Grant.properties.kmsKeyArns;
  }

  it.each([
    [KMS_KEY, true],
    ['arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab', true],
    ['arn:aws:kms:eu-west-1:111122223333:alias/reports', false],
    ['arn:aws:kms:eu-west-1:111122223333:alias/aws/s3', false],
  ])('matches %j with its pattern: %s', (arn, matches) => {
    // Prepare
    const pattern = new RegExp(kmsProperty().items.pattern);

    // Act
    const matched = pattern.test(arn);

    // Assess
    expect(matched).toBe(matches);
  });

  it('describes key ARNs only and says to use the key ARN an alias points to', () => {
    // Prepare
    const property = kmsProperty();

    // Act
    const description = property.description;

    // Assess
    expect(description).toContain('key/<id> or key/mrk-<id>');
    expect(description).not.toContain('alias/<name>');
    expect(description).toContain('use the key ARN the alias points to');
  });
});

describe('S3 grants: the committed example', () => {
  it('loads config/clusters.yaml with two grants on gke-prod', async () => {
    // Prepare
    const file = EXAMPLE_FILE;

    // Act
    const config = await loadConfig(file);

    // Assess
    expect(config.settings.s3IntervalMinutes).toBe(15);
    const [gke, aks] = config.clusters;
    expect(gke?.s3).toHaveLength(2);
    const [reader, writer] = gke?.s3 ?? [];
    expect(reader).toMatchObject({
      secretName: 'reports-reader',
      buckets: [{ bucket: 'acme-reports', prefix: 'reports/2026/', access: 'read' }],
      kmsKeyArns: [KMS_KEY],
      longSessions: false,
    });
    expect(reader?.namespaces).toBeUndefined();
    expect(writer).toMatchObject({
      secretName: 'exports-writer',
      namespaces: ['team-data'],
      buckets: [{ bucket: 'acme-exports', access: 'readwrite' }],
      durationSeconds: 3600,
      mountPath: '/var/run/secrets/cred-courier/exports-writer',
    });
    expect(aks?.s3).toEqual([]);
  });
});
