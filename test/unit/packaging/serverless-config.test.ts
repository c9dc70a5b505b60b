/**
 * The package-time derivations of scripts/serverless-config.ts, without osls: params, the function
 * role's statements, alarm periods, logical IDs; and the ready-made IAM documents in deploy/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  clusterLogicalId,
  fragmentsFor,
  functionRoleStatements,
  MAX_ECR_SCHEDULE_HOURS,
  PackagingError,
  type PackagingInputs,
  parseInputs,
  secretResource,
  trimFrameworkLogStatements,
  validityPeriodSeconds,
} from '../../../scripts/serverless-config.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { ECR_PULL_ACTIONS } from '../../../src/kinds/ecr/policy.ts';
import { S3_ACTIONS } from '../../../src/kinds/s3/policy.ts';
import { ORACLE_ACCOUNT, ORACLE_REGION, resolvedResource, secretsDecision } from './secrets-oracle.ts';
import { PROJECT_ROOT, SAMPLE_CONFIG } from './sls.ts';

const INPUTS: PackagingInputs = {
  configFile: 'sample.yaml',
  ecrScheduleHours: 4,
  timeoutSeconds: 300,
  perClusterAlarms: false,
};

const sample = () => parseConfig(SAMPLE_CONFIG, 'sample.yaml');

function packagingProblem(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(PackagingError);
    return (error as Error).message;
  }
  throw new Error('expected a PackagingError');
}

describe('parseInputs', () => {
  it('accepts params as the command line gives them (strings) and as serverless.yml defaults them', () => {
    expect(
      parseInputs({
        config: 'config/clusters.yaml',
        ecrScheduleHours: '6',
        timeout: 300,
        alarmEmail: '',
        perClusterAlarms: 'true',
      }),
    ).toEqual({
      configFile: 'config/clusters.yaml',
      ecrScheduleHours: 6,
      timeoutSeconds: 300,
      perClusterAlarms: true,
    });
  });

  it('reports every invalid param at once', () => {
    const message = packagingProblem(() =>
      parseInputs({
        config: '',
        ecrScheduleHours: 8,
        timeout: 0,
        alarmEmail: 'x',
      }),
    );
    expect(message).toMatch(/^4 problems:/);
    expect(message).toContain('param config:');
    expect(message).toContain(
      `param ecrScheduleHours: expected an integer from 1 to ${MAX_ECR_SCHEDULE_HOURS}`,
    );
    expect(message).toContain('provider.timeout: expected an integer from 1 to 900');
    expect(message).toContain('param alarmEmail:');
  });

  it('caps the ECR interval so a healthy token never falls under the 4 h alarm threshold', () => {
    expect(MAX_ECR_SCHEDULE_HOURS).toBe(7);
  });
});

describe('functionRoleStatements', () => {
  it('maps a secret name to its ARN pattern, keeps a full ARN, and completes a partial one', () => {
    expect(secretResource('clusters/a')).toEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:clusters/a-??????`,
    });
    const full = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:clusters/a-AbC123';
    expect(secretResource(full)).toBe(full);
    expect(secretResource('arn:aws:secretsmanager:eu-west-1:111122223333:secret:clusters/a')).toBe(
      'arn:aws:secretsmanager:eu-west-1:111122223333:secret:clusters/a-??????',
    );
  });

  it('lists each role and secret once, in a stable order', () => {
    const statements = functionRoleStatements(sample());
    expect(statements.map((s) => s.Sid)).toEqual([
      'MintEcrTokensAsTheFunction',
      'PullWithTheFunctionsOwnTokens',
      'ReadKubeconfigs',
      'RenewKubeconfigs',
      'AssumeMintingRoles',
      'DeliveryLedger',
      'NotifyTransitions',
      'EncryptForTheAlarmTopic',
    ]);
    const roles = statements.find((s) => s.Sid === 'AssumeMintingRoles')?.Resource;
    expect(roles).toEqual([...new Set(roles as string[])]);
    expect(roles).toHaveLength(3);
    expect(functionRoleStatements(sample())).toEqual(statements);
  });

  it('leaves out sts:AssumeRole and the ECR statements when nothing needs them', () => {
    const config = parseConfig(
      'clusters:\n  - name: a\n    kubeconfigSecret: k/a\n    namespaces:\n      names: [x]\n',
      'plain.yaml',
    );
    expect(functionRoleStatements(config).map((s) => s.Sid)).toEqual([
      'ReadKubeconfigs',
      'RenewKubeconfigs',
      'DeliveryLedger',
      'NotifyTransitions',
      'EncryptForTheAlarmTopic',
    ]);
  });
});

describe('functionRoleStatements for proxy credentials', () => {
  const account = ORACLE_ACCOUNT;
  const region = ORACLE_REGION;
  const config = () =>
    parseConfig(
      [
        'defaults:',
        '  namespaces: { names: [x] }',
        '  proxy: { url: "http://proxy.example:3128", credentialsSecret: proxies/corp }',
        'clusters:',
        '  - name: a',
        '    kubeconfigSecret: k/a',
        '  - name: b',
        '    kubeconfigSecret: k/b',
        '    proxy:',
        '      url: https://edge-proxy.example:8443',
        `      credentialsSecret: arn:aws:secretsmanager:${region}:${account}:secret:proxies/edge-AbC123`,
        '  - name: c',
        '    kubeconfigSecret: k/c',
        '    proxy: { url: "http://open-proxy.example:3128" }',
      ].join('\n'),
      'proxies.yaml',
    );
  const resolve = resolvedResource;

  it('reads exactly the proxy credentials secrets the file names, once each, and nothing else on them', () => {
    const statements = functionRoleStatements(config());
    const proxy = statements.filter((s) => s.Sid === 'ReadProxyCredentials');
    expect(proxy).toHaveLength(1);
    expect(proxy[0]?.Action).toEqual(['secretsmanager:GetSecretValue']);
    expect([proxy[0]?.Resource].flat().map(resolve).sort()).toEqual([
      `arn:aws:secretsmanager:${region}:${account}:secret:proxies/corp-??????`,
      `arn:aws:secretsmanager:${region}:${account}:secret:proxies/edge-AbC123`,
    ]);
    // The kubeconfig statements still name the kubeconfig secrets only.
    for (const sid of ['ReadKubeconfigs', 'RenewKubeconfigs']) {
      const resources = [statements.find((s) => s.Sid === sid)?.Resource].flat().map(resolve);
      expect(resources.every((r) => r.includes(':secret:k/'))).toBe(true);
    }
  });

  it('has no proxy statement when no cluster names proxy credentials', () => {
    expect(functionRoleStatements(sample()).some((s) => s.Sid === 'ReadProxyCredentials')).toBe(false);
  });

  it.each([
    ['GetSecretValue', 'a named proxy secret', 'proxies/corp-AbC123', 'Allowed'],
    ['GetSecretValue', 'a proxy secret given as a full ARN', 'proxies/edge-AbC123', 'Allowed'],
    ['GetSecretValue', 'another secret', 'proxies/other-AbC123', 'ImplicitlyDenied'],
    ['GetSecretValue', 'a name extending a named one', 'proxies/corp-x-AbC123', 'ImplicitlyDenied'],
    ['PutSecretValue', 'a named proxy secret', 'proxies/corp-AbC123', 'ImplicitlyDenied'],
    ['DescribeSecret', 'a named proxy secret', 'proxies/corp-AbC123', 'ImplicitlyDenied'],
  ])('under the IAM oracle, %s on %s (%s) is %s', async (action, _what, secret, expected) => {
    const statements = functionRoleStatements(config()).filter(
      (s) => String(s.Sid) === 'ReadProxyCredentials' || String(s.Sid).includes('Kubeconfigs'),
    );
    expect(await secretsDecision(statements, action, secret)).toBe(expected);
  });
});

describe('trimFrameworkLogStatements', () => {
  const role = (statements: { Action: string[]; Resource: string[] }[]) => ({
    Resources: {
      IamRoleLambdaExecution: { Properties: { Policies: [{ PolicyDocument: { Statement: statements } }] } },
    },
  });

  it("cuts the framework's log statements to CreateLogStream and PutLogEvents on the function's log group", () => {
    // Prepare
    const template = role([
      {
        Action: ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource'],
        Resource: ['prefix*:*'],
      },
      { Action: ['logs:PutLogEvents'], Resource: ['prefix*:*:*'] },
    ]);

    // Act
    trimFrameworkLogStatements(template);

    // Assess
    const statements =
      template.Resources.IamRoleLambdaExecution.Properties.Policies[0]?.PolicyDocument.Statement;
    expect(statements?.map((s) => s.Action)).toEqual([['logs:CreateLogStream'], ['logs:PutLogEvents']]);
    expect(JSON.stringify(statements)).not.toContain('prefix');
  });

  it('fails packaging when the framework generates other log statements than the ones it trims', () => {
    // Prepare
    const template = role([{ Action: ['logs:*'], Resource: ['*'] }]);

    // Act
    const act = () => trimFrameworkLogStatements(template);

    // Assess
    expect(act).toThrow(PackagingError);
    expect(act).toThrow(/review scripts\/serverless-config\.ts/);
  });
});

describe('alarms', () => {
  it('gives validity alarms a period of the interval plus the timeout and 5 min, in whole minutes', () => {
    expect(validityPeriodSeconds(4 * 3600, 300)).toBe(4 * 3600 + 600);
    expect(validityPeriodSeconds(15 * 60, 300)).toBe(25 * 60);
    expect(validityPeriodSeconds(15 * 60, 45)).toBe(21 * 60);
  });

  it('derives the Duration threshold from the timeout', () => {
    const alarm = fragmentsFor(sample(), { ...INPUTS, timeoutSeconds: 120 }).resources.Resources
      .DurationAlarm;
    expect(alarm?.Properties.Threshold).toBe(96_000);
  });

  it('names per-cluster alarms uniquely, even for names that differ only in dashes', () => {
    expect(clusterLogicalId('a-1')).not.toBe(clusterLogicalId('a1'));
    expect(clusterLogicalId('gke-prod')).toMatch(/^GkeProd[0-9a-f]{8}$/);
  });

  it.each([1, 15, 37])(
    'runs the S3 schedule every settings.s3IntervalMinutes of the file (%i min), and its alarms follow',
    (minutes) => {
      const text = SAMPLE_CONFIG.replace('s3IntervalMinutes: 15', `s3IntervalMinutes: ${minutes}`);
      const fragments = fragmentsFor(parseConfig(text, 'sample.yaml'), INPUTS);
      expect(fragments.schedules.s3).toEqual({
        rate: minutes === 1 ? 'rate(1 minute)' : `rate(${minutes} minutes)`,
        enabled: true,
      });
      expect(fragments.resources.Resources.S3ValidityLowAlarm?.Properties.Period).toBe(
        validityPeriodSeconds(minutes * 60, INPUTS.timeoutSeconds),
      );
    },
  );
});

describe('deploy/ IAM documents', () => {
  const read = (name: string) => JSON.parse(readFileSync(join(PROJECT_ROOT, 'deploy', name), 'utf8'));
  const FILES = ['ecr-pull-role-policy.json', 's3-access-role-policy.json', 'assume-role-trust-policy.json'];

  it('use documentation account IDs only', () => {
    for (const name of FILES) {
      const accounts = JSON.stringify(read(name)).match(/\d{12}/g) ?? [];
      expect(accounts.length, name).toBeGreaterThan(0);
      for (const account of accounts) expect(['111122223333', '123456789012']).toContain(account);
    }
  });

  it('give the ECR role exactly what a token needs to pull', () => {
    const policy = read('ecr-pull-role-policy.json');
    const actions = policy.Statement.flatMap((s: { Action: string | string[] }) => [s.Action].flat()).sort();
    expect(actions).toEqual(['ecr:GetAuthorizationToken', ...ECR_PULL_ACTIONS].sort());
  });

  it('give the example S3 role what a read grant needs', () => {
    const policy = read('s3-access-role-policy.json');
    const actions = policy.Statement.flatMap((s: { Action: string | string[] }) => [s.Action].flat()).sort();
    const read_ = S3_ACTIONS.read;
    expect(actions).toEqual([...read_.object, ...read_.bucket, ...read_.kms].sort());
  });

  it('let only the function role assume the roles', () => {
    const trust = read('assume-role-trust-policy.json');
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]).toMatchObject({
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Condition: {
        ArnEquals: { 'aws:PrincipalArn': expect.stringMatching(/:role\/cred-courier-.+-lambdaRole$/) },
      },
    });
  });
});
