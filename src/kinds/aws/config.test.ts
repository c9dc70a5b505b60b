/** The `aws` part of the registration file: what it resolves to, and what it refuses, at which path. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import { ConfigError } from '../../errors.ts';
import { SESSION_POLICY_PLAINTEXT_LIMIT } from './policy-document.ts';

const ROLE = 'arn:aws:iam::111122223333:role/cred-courier-orders';
const TABLE = 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders';

function file(grants: string, extra = ''): string {
  return `clusters:
  - name: gke-prod
    kubeconfigSecret: k
    namespaces: { names: [app, jobs] }
    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }
    s3:
      - { secretName: reports, roleArn: "${ROLE}", region: eu-west-1, buckets: [{ bucket: acme-reports, access: read }] }
${extra}    aws:
${grants}`;
}

function issues(text: string): readonly string[] {
  try {
    parseConfig(text, 'clusters.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const YAML_POLICY = `        policy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: dynamodb:GetItem
              Resource: ${TABLE}`;

describe('aws grants in the registration file', () => {
  it('resolves a grant with a YAML policy to the minified JSON AssumeRole receives, with the session defaults', () => {
    // Prepare
    const text = file(
      `      - secretName: orders\n        roleArn: ${ROLE}\n        region: eu-west-1\n${YAML_POLICY}\n`,
    );

    // Act
    const grant = parseConfig(text, 'clusters.yaml').clusters[0]?.aws?.[0];

    // Assess
    expect(grant).toEqual({
      secretName: 'orders',
      roleArn: ROLE,
      region: 'eu-west-1',
      durationSeconds: 3600,
      longSessions: false,
      mountPath: '/var/run/secrets/cred-courier/orders',
      policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"${TABLE}"}]}`,
      fullRole: false,
    });
  });

  it('reads a policy written as JSON text the same as the YAML one', () => {
    // Prepare
    const json = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"${TABLE}"}]}`;
    const asYaml = file(
      `      - secretName: orders\n        roleArn: ${ROLE}\n        region: eu-west-1\n${YAML_POLICY}\n`,
    );
    const asJson = file(
      `      - secretName: orders\n        roleArn: ${ROLE}\n        region: eu-west-1\n        policy: '${json}'\n`,
    );

    // Act
    const [fromYaml, fromJson] = [asYaml, asJson].map(
      (t) => parseConfig(t, 'clusters.yaml').clusters[0]?.aws?.[0],
    );

    // Assess
    expect(fromJson?.policy).toBe(fromYaml?.policy);
  });

  it('inherits defaults.aws, and a cluster without aws grants has no aws part', () => {
    // Prepare
    const grant = `  aws:\n    - secretName: orders\n      roleArn: ${ROLE}\n      region: eu-west-1\n      fullRole: true\n`;
    const text = `defaults:\n${grant}clusters:\n  - name: a\n    kubeconfigSecret: k\n    namespaces: { names: [app] }\n  - name: b\n    kubeconfigSecret: k2\n    namespaces: { names: [app] }\n    aws: []\n`;

    // Act
    const [a, b] = parseConfig(text, 'clusters.yaml').clusters;

    // Assess
    expect(a?.aws?.map((g) => [g.secretName, g.fullRole])).toEqual([['orders', true]]);
    expect(b?.aws).toBeUndefined();
  });

  it('refuses a grant with no written scope unless it says fullRole: true, and both at once', () => {
    // Prepare
    const none = file(`      - secretName: orders\n        roleArn: ${ROLE}\n        region: eu-west-1\n`);
    const both = file(
      `      - secretName: orders\n        roleArn: ${ROLE}\n        region: eu-west-1\n        fullRole: true\n${YAML_POLICY}\n`,
    );

    // Act
    const [noneIssues, bothIssues] = [issues(none), issues(both)];

    // Assess
    expect(noneIssues).toEqual([
      "clusters[0].aws[0] (line 9): has neither policy nor policyArns, so the session would have the role's whole policy: write the session's scope as policy and/or policyArns, or set fullRole: true to mean the role's own policy alone",
    ]);
    expect(bothIssues).toEqual([
      'clusters[0].aws[0].fullRole (line 12): true contradicts the policy or policyArns of the grant: a session with a written scope is not the full role; remove one',
    ]);
  });

  it('refuses session policies over STS plaintext limit before any call, naming the grant', () => {
    // Prepare
    const arns = Array.from(
      { length: 10 },
      (_, i) => `arn:aws:iam::111122223333:policy/${'p'.repeat(120)}${i}`,
    );
    const resources = Array.from({ length: 12 }, (_, i) => `"${TABLE}-${i}"`).join(', ');
    const text = file(
      `      - secretName: orders\n        roleArn: ${ROLE}\n        region: eu-west-1\n        policyArns: [${arns.join(', ')}]\n        policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":[${resources}]}]}'\n`,
    );

    // Act
    const found = issues(text);

    // Assess
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      new RegExp(
        `^clusters\\[0\\]\\.aws\\[0\\]\\.policy \\(line 13\\): the session policies are \\d+ characters \\(the minified inline policy plus the 10 policyArns\\), over STS's limit of ${SESSION_POLICY_PLAINTEXT_LIMIT}`,
      ),
    );
  });

  it('keeps Secret names distinct from the ECR pull Secret, the S3 grants and each other', () => {
    // Prepare
    const grant = (name: string) =>
      `      - secretName: ${name}\n        roleArn: ${ROLE}\n        region: eu-west-1\n        fullRole: true\n`;
    const text = file(grant('ecr-pull') + grant('reports') + grant('twice') + grant('twice'));

    // Act
    const found = issues(text);

    // Assess
    expect(found).toEqual([
      `clusters[0].aws[0].secretName (line 9): "ecr-pull" is also clusters[0].ecr.secretName; the ECR pull Secret and an AWS grant's Secret cannot share a name`,
      `clusters[0].aws[1].secretName (line 13): "reports" is also clusters[0].s3[0].secretName; an S3 grant's Secret and an AWS grant's Secret cannot share a name`,
      'clusters[0].aws[3].secretName (line 21): duplicate secretName "twice", already used by clusters[0].aws[2]; each AWS grant writes its own Secret, so names must be unique within a cluster',
    ]);
  });

  it('applies the role-chaining cap and the cadence rule of the sessions schedule', () => {
    // Prepare
    const grant = (duration: number) =>
      `      - secretName: orders\n        roleArn: ${ROLE}\n        region: eu-west-1\n        fullRole: true\n        durationSeconds: ${duration}\n`;

    // Act
    const [long, short] = [issues(file(grant(7200))), issues(file(grant(1800)))];

    // Assess
    expect(long[0]).toMatch(
      /^clusters\[0\]\.aws\[0\]\.durationSeconds \(line 13\): expected at most 3600 without longSessions: true/,
    );
    expect(short[0]).toMatch(
      /^clusters\[0\]\.aws\[0\]\.durationSeconds \(line 13\): 1800 s is too short for/,
    );
  });

  it('refuses namespaces the cluster does not select, as for S3 grants', () => {
    // Prepare
    const text = file(
      `      - secretName: orders\n        roleArn: ${ROLE}\n        region: eu-west-1\n        fullRole: true\n        namespaces: [other]\n`,
    );

    // Act
    const found = issues(text);

    // Assess
    expect(found[0]).toMatch(
      /^clusters\[0\]\.aws\[0\]\.namespaces\[0\] \(line 13\): namespace "other" is not selected by clusters\[0\]\.namespaces\.names/,
    );
  });
});
