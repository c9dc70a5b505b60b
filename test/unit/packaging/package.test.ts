/**
 * `sls package` for real (osls, offline) on a three-cluster registration file, then the generated
 * CloudFormation: runtime, schedules, asynchronous invocation, ledger, the function role statement by
 * statement, the alarms, the dashboard; then cfn-lint and checkov on it. Runs on a copy of the project
 * (see sls.ts); no AWS credentials, no rig.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_FAILURES_QUERY, functionRoleStatements } from '../../../scripts/serverless-config.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { secretsDecision } from './secrets-oracle.ts';
import {
  type ProjectCopy,
  projectCopy,
  type Resource,
  readTemplate,
  resourcesOfType,
  SAMPLE_CONFIG,
  SLS_TIMEOUT_MS,
  type SlsResult,
  slsPackage,
  staticAnalysisTests,
  TEMPLATE_FILE,
  type Template,
} from './sls.ts';

let project: ProjectCopy;
let packaged: SlsResult;
let template: Template;

beforeAll(async () => {
  project = projectCopy();
  const config = project.write('sample-clusters.yaml', SAMPLE_CONFIG);
  packaged = await slsPackage(project.dir, { config });
  if (packaged.code !== 0) throw new Error(`sls package failed:\n${packaged.output}`);
  template = readTemplate(project.dir);
}, SLS_TIMEOUT_MS);

afterAll(() => project?.remove());

const sub = (text: string) => ({ 'Fn::Sub': text });
const props = (resource: Resource | undefined) => resource?.Properties ?? {};

describe('sls package of a three-cluster registration file', () => {
  it('packages the bundle, its source map and the registration file given by the config param', () => {
    expect(packaged.output).toContain('Service packaged');
    expect(existsSync(join(project.dir, '.serverless/cred-courier.zip'))).toBe(true);
    // The build plugin ran with the param's file, and copied it where the function reads it.
    expect(packaged.output).toContain('sample-clusters.yaml');
    expect(existsSync(join(project.dir, 'dist/distribute.mjs'))).toBe(true);
    expect(existsSync(join(project.dir, 'dist/distribute.mjs.map'))).toBe(true);
  });

  it('runs on nodejs24.x, arm64, with the ledger table and the packaged registration file in its environment', () => {
    const fn = props(template.Resources.DistributeLambdaFunction);
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.Handler).toBe('dist/distribute.handler');
    expect(fn.Timeout).toBe(300);
    const variables = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables.CRED_COURIER_LEDGER_TABLE).toEqual({ Ref: 'LedgerTable' });
    expect(variables.CRED_COURIER_CONFIG).toBe('dist/config/clusters.yaml');
  });

  it('keeps the logs for the configured retention', () => {
    expect(props(template.Resources.DistributeLogGroup).RetentionInDays).toBe(30);
  });

  it('schedules ECR every 4 hours and S3 every 15 minutes, each with its kinds as input', () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule').map(([, rule]) => ({
      rate: rule.Properties.ScheduleExpression,
      state: rule.Properties.State,
      input: JSON.parse(String((rule.Properties.Targets as { Input: string }[])[0]?.Input)),
    }));
    expect(rules).toHaveLength(2);
    expect(rules).toContainEqual({ rate: 'rate(4 hours)', state: 'ENABLED', input: { kinds: ['ecr'] } });
    expect(rules).toContainEqual({
      rate: 'rate(15 minutes)',
      state: 'ENABLED',
      input: { kinds: ['s3', 'aws'] },
    });
  });

  it('invokes asynchronously without retry, and sends failures to an encrypted SQS queue', () => {
    const [config] = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').map(([, r]) => r.Properties);
    expect(config?.MaximumRetryAttempts).toBe(0);
    expect(config?.MaximumEventAgeInSeconds).toBe(3600);
    expect(config?.DestinationConfig).toEqual({
      OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } },
    });
    expect(template.Resources.DeadLetterQueue?.Type).toBe('AWS::SQS::Queue');
    expect(props(template.Resources.DeadLetterQueue).SqsManagedSseEnabled).toBe(true);
  });

  it('keeps the ledger in an on-demand table with point-in-time recovery and encryption, keyed by target', () => {
    const table = template.Resources.LedgerTable;
    expect(table?.Type).toBe('AWS::DynamoDB::Table');
    expect(props(table)).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      KeySchema: [{ AttributeName: 'target', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'target', AttributeType: 'S' }],
    });
  });
});

describe('the function role', () => {
  interface Statement {
    readonly Sid?: string;
    readonly Effect: string;
    readonly Action: string | readonly string[];
    readonly Resource: unknown;
  }

  const statements = (): Statement[] => {
    const role = props(template.Resources.IamRoleLambdaExecution);
    const policies = role.Policies as { PolicyDocument: { Statement: Statement[] } }[];
    expect(policies).toHaveLength(1);
    expect(role.ManagedPolicyArns ?? []).toEqual([]);
    return policies[0]?.PolicyDocument.Statement ?? [];
  };
  const actionsOf = (statement: Statement) => [statement.Action].flat();

  it('allows exactly the actions the registration file needs, and nothing else', () => {
    const actions = statements().flatMap(actionsOf).sort();
    expect(actions).toEqual(
      [
        // The framework's log statements, trimmed to what the Lambda runtime calls.
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        // Derived from the file.
        'ecr:GetAuthorizationToken',
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:GetDownloadUrlForLayer',
        'secretsmanager:GetSecretValue',
        'secretsmanager:DescribeSecret',
        'secretsmanager:PutSecretValue',
        'sts:AssumeRole',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Scan',
        'sns:Publish',
        'kms:Decrypt',
        'kms:GenerateDataKey*',
        // The on-failure destination, added by the framework.
        'sqs:SendMessage',
      ].sort(),
    );
    expect(statements().every((s) => s.Effect === 'Allow')).toBe(true);
    expect(actions).not.toContain('cloudwatch:PutMetricData');
  });

  it('grants each statement exactly the actions the code sends: an extra action in any statement fails', () => {
    // The commands the Lambda's code path sends, per statement: GetAuthorizationToken (src/kinds/ecr),
    // GetSecretValue (src/aws/kubeconfig-store.ts), AssumeRole (src/aws/assume-role.ts), Scan, Get,
    // Put and Delete (src/aws/ledger.ts), Publish (src/aws/notifier.ts) with the topic key's data-key
    // calls SNS makes for it; pulls are the clusters' own use of the function's tokens. The
    // statements without a Sid are the framework's: logs and the on-failure destination.
    const bySid = statements().map((s) => [s.Sid ?? `framework ${actionsOf(s)[0]}`, actionsOf(s).sort()]);
    expect(Object.fromEntries(bySid)).toEqual({
      MintEcrTokensAsTheFunction: ['ecr:GetAuthorizationToken'],
      PullWithTheFunctionsOwnTokens: [
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:GetDownloadUrlForLayer',
      ],
      ReadKubeconfigs: ['secretsmanager:GetSecretValue'],
      RenewKubeconfigs: ['secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue'],
      AssumeMintingRoles: ['sts:AssumeRole'],
      DeliveryLedger: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan'],
      NotifyTransitions: ['sns:Publish'],
      EncryptForTheAlarmTopic: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      'framework logs:CreateLogStream': ['logs:CreateLogStream'],
      'framework logs:PutLogEvents': ['logs:PutLogEvents'],
      'framework sqs:SendMessage': ['sqs:SendMessage'],
    });
    expect(bySid).toHaveLength(11);
  });

  it("writes logs only to the function's own log group", () => {
    const logs = statements().filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
    const group = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:\${DistributeLogGroup}`;
    expect(logs.map((s) => [actionsOf(s), s.Resource])).toEqual([
      [['logs:CreateLogStream'], [sub(`${group}:*`)]],
      [['logs:PutLogEvents'], [sub(`${group}:log-stream:*`)]],
    ]);
    expect(template.Resources.DistributeLogGroup?.Type).toBe('AWS::Logs::LogGroup');
  });

  it('uses "*" only for ecr:GetAuthorizationToken', () => {
    const wildcard = statements().filter((s) => [s.Resource].flat().includes('*'));
    expect(wildcard.map(actionsOf)).toEqual([['ecr:GetAuthorizationToken']]);
  });

  it('reads only the kubeconfig secrets the file names: names and partial ARNs with the suffix wildcard, full ARNs as given', () => {
    const secrets = statements().filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(secrets).toHaveLength(1);
    expect(secrets[0]?.Resource).toEqual(
      expect.arrayContaining([
        sub(
          `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:cred-courier/clusters/gke-prod-??????`,
        ),
        'arn:aws:secretsmanager:us-east-1:444455556666:secret:cred-courier/clusters/aks-staging-AbCdEf',
        'arn:aws:secretsmanager:eu-west-1:111122223333:secret:cred-courier/clusters/k3s-edge-??????',
      ]),
    );
    expect(secrets[0]?.Resource).toHaveLength(3);
  });

  it('renews (DescribeSecret, PutSecretValue) exactly the kubeconfig secrets it reads, and no other secret', () => {
    const bySid = (sid: string) => statements().find((s) => s.Sid === sid);
    const renew = bySid('RenewKubeconfigs');
    expect(actionsOf(renew as Statement).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:PutSecretValue',
    ]);
    expect(renew?.Resource).toEqual(bySid('ReadKubeconfigs')?.Resource);
    expect(renew?.Resource).toHaveLength(3);
    const writers = statements().filter((s) =>
      actionsOf(s).some((a) => a === 'secretsmanager:PutSecretValue' || a === 'secretsmanager:*'),
    );
    expect(writers.map((s) => s.Sid)).toEqual(['RenewKubeconfigs']);
  });

  it.each([
    ['a registered kubeconfig secret', 'cred-courier/clusters/gke-prod-AbC123', 'Allowed'],
    ['another secret in the account', 'cred-courier/other-AbC123', 'ImplicitlyDenied'],
    [
      'a secret whose name extends a registered one',
      'cred-courier/clusters/gke-prod-x-AbC123',
      'ImplicitlyDenied',
    ],
  ])('under the IAM oracle, PutSecretValue on %s (%s) is %s', async (_name, secret, expected) => {
    const renew = statements().find((s) => s.Sid === 'RenewKubeconfigs') as Statement;
    expect(await secretsDecision([renew], 'PutSecretValue', secret)).toBe(expected);
  });

  it('assumes only the roles the file names (ECR registries and S3 grants), each once', () => {
    const assume = statements().filter((s) => actionsOf(s).includes('sts:AssumeRole'));
    expect(assume).toHaveLength(1);
    expect(assume[0]?.Resource).toEqual([
      'arn:aws:iam::111122223333:role/cred-courier-ecr-pull',
      'arn:aws:iam::111122223333:role/cred-courier-s3-exports',
      'arn:aws:iam::111122223333:role/cred-courier-s3-reports',
    ]);
  });

  it('pulls only from registries whose tokens it mints as itself', () => {
    const pull = statements().filter((s) => actionsOf(s).includes('ecr:BatchGetImage'));
    expect(pull).toHaveLength(1);
    expect(pull[0]?.Resource).toEqual([
      sub(`arn:\${AWS::Partition}:ecr:eu-central-1:\${AWS::AccountId}:repository/*`),
      sub(`arn:\${AWS::Partition}:ecr:us-east-1:444455556666:repository/*`),
    ]);
  });

  it('uses the ledger table only, and sends only to the dead-letter queue', () => {
    const ledger = statements().filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(ledger.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': ['LedgerTable', 'Arn'] }]);
    const sqs = statements().filter((s) => actionsOf(s).includes('sqs:SendMessage'));
    expect(sqs.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] }]);
  });

  it("publishes only to the alarm topic, and uses the topic's key only through SNS in its region", () => {
    const sns = statements().filter((s) => actionsOf(s).some((a) => a.startsWith('sns:')));
    expect(sns.map((s) => [actionsOf(s), s.Resource])).toEqual([[['sns:Publish'], { Ref: 'AlarmTopic' }]]);
    const kms = statements().filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
    expect(kms).toEqual([
      {
        Sid: 'EncryptForTheAlarmTopic',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: { 'Fn::GetAtt': ['AlarmTopicKey', 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': sub(`sns.\${AWS::Region}.amazonaws.com`) } },
      },
    ]);
    const environment = props(template.Resources.DistributeLambdaFunction).Environment as {
      Variables: Record<string, unknown>;
    };
    expect(environment.Variables.CRED_COURIER_ALARM_TOPIC_ARN).toEqual({ Ref: 'AlarmTopic' });
  });

  it('is the derivation of scripts/serverless-config.ts, statement for statement', () => {
    const derived = functionRoleStatements(parseConfig(SAMPLE_CONFIG, 'sample.yaml'));
    const generated = statements().filter((s) => s.Sid !== undefined);
    expect(generated).toEqual(JSON.parse(JSON.stringify(derived)));
  });
});

describe('alarms and dashboard', () => {
  const alarms = () => resourcesOfType(template, 'AWS::CloudWatch::Alarm');
  const validityAlarms = () =>
    alarms().filter(([, alarm]) => alarm.Properties.MetricName === 'MinSecondsOfValidityLeft');
  const kindOf = (alarm: Resource) =>
    (alarm.Properties.Dimensions as { Name: string; Value: string }[]).find((d) => d.Name === 'Kind')?.Value;

  it('has exactly one validity-low alarm per kind, breaching on missing data, at 4 h (ECR) and 20 min (S3)', () => {
    const byKind = new Map(validityAlarms().map(([, alarm]) => [kindOf(alarm), alarm.Properties]));
    expect(validityAlarms()).toHaveLength(2);
    for (const [kind, threshold] of [
      ['ecr', 14_400],
      ['s3', 1_200],
    ] as const) {
      expect(byKind.get(kind)).toMatchObject({
        Namespace: 'CredCourier',
        Statistic: 'Minimum',
        Threshold: threshold,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        EvaluationPeriods: 1,
        Dimensions: [
          { Name: 'service', Value: 'cred-courier' },
          { Name: 'Kind', Value: kind },
        ],
        AlarmActions: [{ Ref: 'AlarmTopic' }],
      });
    }
    // A period a little longer than each schedule's interval, so every window holds a run.
    const ecrPeriod = Number(byKind.get('ecr')?.Period);
    const s3Period = Number(byKind.get('s3')?.Period);
    expect(ecrPeriod).toBeGreaterThan(4 * 3600);
    expect(ecrPeriod).toBeLessThanOrEqual(4 * 3600 + 900);
    expect(s3Period).toBeGreaterThan(15 * 60);
    expect(s3Period).toBeLessThanOrEqual(30 * 60);
  });

  it('says where to see which clusters, and saves that Logs Insights query', () => {
    for (const [, alarm] of validityAlarms()) {
      const description = (alarm.Properties.AlarmDescription as { 'Fn::Sub': string })['Fn::Sub'];
      expect(description).toContain(`dashboard \${AWS::StackName}`);
      expect(description).toContain('cred-courier ledger');
      expect(description).toContain(`\${AWS::StackName}/cluster-failures-last-24h`);
      expect(description.length).toBeLessThanOrEqual(1024);
    }
    const [[, query] = []] = resourcesOfType(template, 'AWS::Logs::QueryDefinition');
    expect(props(query)).toEqual({
      Name: sub(`\${AWS::StackName}/cluster-failures-last-24h`),
      LogGroupNames: [{ Ref: 'DistributeLogGroup' }],
      QueryString: CLUSTER_FAILURES_QUERY,
    });
  });

  it('alarms on errors, throttles, a duration near the timeout and dead letters, all to one encrypted topic', () => {
    const byMetric = new Map(alarms().map(([, alarm]) => [alarm.Properties.MetricName, alarm.Properties]));
    expect(byMetric.get('Errors')).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(byMetric.get('Throttles')).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(byMetric.get('Duration')).toMatchObject({
      Threshold: 240_000, // 80 % of 300 s
      ComparisonOperator: 'GreaterThanThreshold',
      Statistic: 'Maximum',
    });
    expect(byMetric.get('ApproximateNumberOfMessagesVisible')).toMatchObject({
      Namespace: 'AWS/SQS',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const topics = resourcesOfType(template, 'AWS::SNS::Topic');
    expect(topics.map(([id]) => id)).toEqual(['AlarmTopic']);
    expect(props(template.Resources.AlarmTopic).KmsMasterKeyId).toEqual({
      'Fn::GetAtt': ['AlarmTopicKey', 'Arn'],
    });
    for (const [, alarm] of alarms()) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    // No per-cluster alarms and no email subscription unless asked for: errors, throttles, duration, dead
    // letters, validity and failing per kind (2 + 2), the credential expiry.
    expect(alarms()).toHaveLength(9);
    expect(resourcesOfType(template, 'AWS::SNS::Subscription')).toEqual([]);
  });

  it('has one failing-targets alarm per kind on TargetsFailed >= 1, whatever the number of clusters', () => {
    const failing = alarms().filter(([, alarm]) => alarm.Properties.MetricName === 'TargetsFailed');
    expect(failing.map(([id]) => id).sort()).toEqual(['EcrTargetsFailingAlarm', 'S3TargetsFailingAlarm']);
    for (const [, alarm] of failing) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'CredCourier',
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        Dimensions: [
          { Name: 'service', Value: 'cred-courier' },
          { Name: 'Kind', Value: kindOf(alarm) },
        ],
      });
      const description = (alarm.Properties.AlarmDescription as { 'Fn::Sub': string })['Fn::Sub'];
      expect(description).toContain('notified once');
    }
  });

  it("has one alarm on the least validity of the clusters' own credentials, under 7 days", () => {
    const credential = alarms().filter(
      ([, alarm]) => alarm.Properties.MetricName === 'MinCredentialSecondsLeft',
    );
    expect(credential.map(([id]) => id)).toEqual(['ClusterCredentialExpiringAlarm']);
    expect(credential[0]?.[1].Properties).toMatchObject({
      Namespace: 'CredCourier',
      Statistic: 'Minimum',
      Threshold: 7 * 24 * 3600,
      ComparisonOperator: 'LessThanThreshold',
      Dimensions: [{ Name: 'service', Value: 'cred-courier' }],
    });
  });

  it('says the Errors and dead-letter alarms are for runs that could not work at all', () => {
    const byMetric = new Map(alarms().map(([, alarm]) => [alarm.Properties.MetricName, alarm.Properties]));
    for (const metric of ['Errors', 'ApproximateNumberOfMessagesVisible']) {
      const description = (byMetric.get(metric)?.AlarmDescription as { 'Fn::Sub': string } | undefined)?.[
        'Fn::Sub'
      ];
      expect(description).toContain('could not work at all');
      expect(description).toContain('every mint failed');
      expect(description).toMatch(/only some clusters failed/);
      expect(description).not.toContain('some cluster failed, or');
    }
  });

  it('draws deliveries and failures per cluster with SEARCH, and validity per kind', () => {
    const body = (props(template.Resources.Dashboard).DashboardBody as { 'Fn::Sub': string })['Fn::Sub'];
    const dashboard = JSON.parse(body) as { widgets: { properties: { metrics?: unknown } }[] };
    const metrics = JSON.stringify(dashboard.widgets.map((w) => w.properties.metrics ?? []));
    expect(metrics).toContain('SEARCH(\'{CredCourier,Cluster,service} MetricName=\\"Delivered\\"');
    expect(metrics).toContain('SEARCH(\'{CredCourier,Cluster,FailureClass,service} MetricName=\\"Failed\\"');
    expect(metrics).toContain('["CredCourier","MinSecondsOfValidityLeft","Kind","ecr"');
    expect(metrics).toContain('["CredCourier","MinSecondsOfValidityLeft","Kind","s3"');
  });
});

/**
 * The alarm topic's key, under the IAM oracle: cloudwatch.amazonaws.com may use it only for this stack's
 * alarms in this account. The template's intrinsics are resolved for one concrete deployment.
 */
describe('the alarm topic key', () => {
  const DEPLOYED = {
    'AWS::AccountId': '111122223333',
    'AWS::Region': 'eu-west-1',
    'AWS::Partition': 'aws',
    'AWS::StackName': 'cred-courier-dev',
  } as const;
  const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const alarmArn = (account: string, name: string) => `arn:aws:cloudwatch:eu-west-1:${account}:alarm:${name}`;

  /** Ref and Fn::Sub of the pseudo parameters, the only intrinsics the key policy uses. */
  const resolved = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolved);
    if (typeof value !== 'object' || value === null) return value;
    const record = value as Record<string, unknown>;
    if (typeof record.Ref === 'string') return DEPLOYED[record.Ref as keyof typeof DEPLOYED] ?? record.Ref;
    if (typeof record['Fn::Sub'] === 'string')
      return record['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        const known = DEPLOYED[name as keyof typeof DEPLOYED];
        if (known === undefined) throw new Error(`unresolved \${${name}} in the key policy`);
        return known;
      });
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolved(v)]));
  };

  const decide = async (action: string, context: Record<string, string>) => {
    const response = await runSimulation(
      {
        request: {
          principal: 'cloudwatch.amazonaws.com',
          action,
          resource: { resource: KEY_ARN, accountId: DEPLOYED['AWS::AccountId'] },
          contextVariables: context,
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: resolved(props(template.Resources.AlarmTopicKey).KeyPolicy) as never,
      },
      {},
    );
    if (response.resultType !== 'single') throw new Error(`iam-simulate: ${JSON.stringify(response)}`);
    expect(response.result.ignoredContextKeys ?? []).toEqual([]);
    return response.overallResult;
  };

  it('names every alarm of the stack with the prefix the key policy trusts', () => {
    const names = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(
      ([, alarm]) => (alarm.Properties.AlarmName as { 'Fn::Sub': string })['Fn::Sub'],
    );
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^\$\{AWS::StackName\}-/);
  });

  it.each([
    {
      name: "this stack's alarm",
      account: '111122223333',
      arn: alarmArn('111122223333', 'cred-courier-dev-errors'),
      expected: 'Allowed',
    },
    {
      name: "another account's alarm",
      account: '999988887777',
      arn: alarmArn('999988887777', 'cred-courier-dev-errors'),
      expected: 'ImplicitlyDenied',
    },
    {
      name: "another stack's alarm in this account",
      account: '111122223333',
      arn: alarmArn('111122223333', 'other-stack-errors'),
      expected: 'ImplicitlyDenied',
    },
    {
      name: "another account's alarm claiming this account",
      account: '999988887777',
      arn: alarmArn('111122223333', 'cred-courier-dev-errors'),
      expected: 'ImplicitlyDenied',
    },
  ])('lets cloudwatch.amazonaws.com use the key for $name: $expected', async ({ account, arn, expected }) => {
    const context = { 'aws:SourceAccount': account, 'aws:SourceArn': arn };
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      expect(await decide(action, context), action).toBe(expected);
    }
  });

  it('refuses cloudwatch.amazonaws.com without a source account and alarm', async () => {
    expect(await decide('kms:GenerateDataKey', {})).toBe('ImplicitlyDenied');
  });

  /** The function role's own statements (identity policy) for a request from the function's role. */
  const decideAsFunction = async (action: string, resource: string, context: Record<string, string>) => {
    const role = props(template.Resources.IamRoleLambdaExecution);
    const [policy] = role.Policies as { PolicyDocument: unknown }[];
    const response = await runSimulation(
      {
        request: {
          principal: 'arn:aws:iam::111122223333:role/cred-courier-dev-eu-west-1-lambdaRole',
          action,
          resource: { resource, accountId: DEPLOYED['AWS::AccountId'] },
          contextVariables: context,
        },
        identityPolicies: [
          { name: 'function', policy: withoutUnresolvable(resolvedPolicy(policy?.PolicyDocument)) as never },
        ],
        // KMS needs the key policy too: its account statement delegates to the role's own policy.
        ...(resource === KEY_ARN
          ? { resourcePolicy: resolved(props(template.Resources.AlarmTopicKey).KeyPolicy) as never }
          : {}),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (response.resultType !== 'single') throw new Error(`iam-simulate: ${JSON.stringify(response)}`);
    return response.overallResult;
  };
  const TOPIC_ARN = 'arn:aws:sns:eu-west-1:111122223333:cred-courier-dev-AlarmTopic-ABC';
  /** The function policy with the key and topic references resolved for the deployment above. */
  const resolvedPolicy = (policy: unknown): unknown =>
    JSON.parse(
      JSON.stringify(policy)
        .replaceAll('{"Fn::GetAtt":["AlarmTopicKey","Arn"]}', JSON.stringify(KEY_ARN))
        .replaceAll('{"Ref":"AlarmTopic"}', JSON.stringify(TOPIC_ARN)),
    );
  /** Statements whose resources still hold other intrinsics (log group, table) are not under test here. */
  const withoutUnresolvable = (policy: unknown): unknown => {
    const document = policy as { Statement: { Resource: unknown }[] };
    const statements = document.Statement.filter((s) => !JSON.stringify(s.Resource).includes('Fn::')).map(
      (s) => resolved(s) as { Resource: unknown },
    );
    return { ...document, Statement: statements };
  };

  it.each([
    { via: 'sns.eu-west-1.amazonaws.com', expected: 'Allowed' },
    { via: 'sns.us-east-1.amazonaws.com', expected: 'ImplicitlyDenied' },
    { via: 's3.eu-west-1.amazonaws.com', expected: 'ImplicitlyDenied' },
  ])("lets the function's role use the topic key via $via: $expected", async ({ via, expected }) => {
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      expect(await decideAsFunction(action, KEY_ARN, { 'kms:ViaService': via }), action).toBe(expected);
    }
    expect(await decideAsFunction('kms:Encrypt', KEY_ARN, { 'kms:ViaService': via })).toBe(
      'ImplicitlyDenied',
    );
  });

  it("lets the function's role publish to the alarm topic and no other", async () => {
    expect(await decideAsFunction('sns:Publish', TOPIC_ARN, {})).toBe('Allowed');
    expect(
      await decideAsFunction('sns:Publish', 'arn:aws:sns:eu-west-1:111122223333:someone-elses-topic', {}),
    ).toBe('ImplicitlyDenied');
  });
});

describe('static analysis of the generated template', () => {
  staticAnalysisTests(
    () => join(project.dir, TEMPLATE_FILE),
    () => template,
  );
});
