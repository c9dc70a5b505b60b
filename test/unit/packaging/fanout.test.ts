/**
 * The sharded mode (scripts/fanout.ts): `sls package` (osls, offline) with and without `shardSize`.
 * Without it the template has no state machine and the function's own schedules run; with it each
 * schedule starts the state machine (plan → Distributed Map of shard invocations), the function's
 * schedules are off, and the state machine's and the schedules' roles are checked under the IAM oracle.
 * Then the params packaging refuses, each named, and cfn-lint and checkov on the sharded template.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SHARD_CONCURRENCY,
  FANOUT_IDS,
  type stateMachineDefinition,
} from '../../../scripts/fanout.ts';
import { PackagingError, parseInputs, type RawInputs } from '../../../scripts/serverless-config.ts';
import { ORACLE_ACCOUNT, ORACLE_REGION, policyDecision } from './secrets-oracle.ts';
import {
  packagedModes,
  resourcesOfType,
  SLS_TIMEOUT_MS,
  slsPackage,
  staticAnalysisTests,
  TEMPLATE_FILE,
} from './sls.ts';

const MODES = {
  single: {},
  sharded: { shardSize: '2', shardConcurrency: '5' },
} as const;
type Mode = keyof typeof MODES;

const { project, template } = packagedModes(MODES);

const FANOUT_RESOURCES = [
  FANOUT_IDS.stateMachine,
  FANOUT_IDS.stateMachineRole,
  FANOUT_IDS.scheduleRole,
  FANOUT_IDS.failedAlarm,
  FANOUT_IDS.rule('ecr'),
  FANOUT_IDS.rule('s3'),
];

const props = (mode: Mode, id: string) => template(mode).Resources[id]?.Properties ?? {};
/** The framework's rules of the function's own schedule events, by their input. */
const functionSchedules = (mode: Mode) =>
  resourcesOfType(template(mode), 'AWS::Events::Rule')
    .filter(([id]) => id.startsWith('Distribute'))
    .map(([, rule]) => {
      const [target] = rule.Properties.Targets as { Arn: unknown; Input: string }[];
      return { state: rule.Properties.State, target: target?.Arn, input: JSON.parse(target?.Input ?? '{}') };
    });

describe('without shardSize (the default)', () => {
  it('adds nothing of the sharded mode, and the function schedules itself', () => {
    const t = template('single');
    expect(resourcesOfType(t, 'AWS::StepFunctions::StateMachine')).toEqual([]);
    for (const id of FANOUT_RESOURCES) expect(t.Resources[id], id).toBeUndefined();
    expect(functionSchedules('single')).toEqual([
      {
        state: 'ENABLED',
        target: { 'Fn::GetAtt': ['DistributeLambdaFunction', 'Arn'] },
        input: { kinds: ['ecr'] },
      },
      {
        state: 'ENABLED',
        target: { 'Fn::GetAtt': ['DistributeLambdaFunction', 'Arn'] },
        input: { kinds: ['s3', 'aws'] },
      },
    ]);
  });
});

describe('with shardSize=2 and shardConcurrency=5', () => {
  it('adds exactly the state machine, its role, the schedules with their role and the failed-executions alarm', () => {
    const added = Object.keys(template('sharded').Resources).filter(
      (id) => !(id in template('single').Resources),
    );
    expect(added.sort()).toEqual([...FANOUT_RESOURCES].sort());
  });

  it("turns the function's own schedules off: every run goes through the state machine", () => {
    expect(functionSchedules('sharded').map((s) => s.state)).toEqual(['DISABLED', 'DISABLED']);
  });

  it('starts the state machine from each schedule with the request the function would have had', () => {
    const rules = [FANOUT_IDS.rule('ecr'), FANOUT_IDS.rule('s3')].map((id) => props('sharded', id));
    const schedules = functionSchedules('single');
    expect(
      rules.map((rule) => {
        const [target] = rule.Targets as { Arn: unknown; RoleArn: unknown; Input: string }[];
        return {
          state: rule.State,
          rate: rule.ScheduleExpression,
          target,
          input: JSON.parse(target?.Input ?? ''),
        };
      }),
    ).toEqual(
      ['rate(4 hours)', 'rate(15 minutes)'].map((rate, index) => ({
        state: 'ENABLED',
        rate,
        target: expect.objectContaining({
          Arn: { Ref: FANOUT_IDS.stateMachine },
          RoleArn: { 'Fn::GetAtt': [FANOUT_IDS.scheduleRole, 'Arn'] },
        }),
        input: schedules[index]?.input,
      })),
    );
  });

  it('plans with the function, then invokes it per shard in a Distributed Map of bounded concurrency', () => {
    const machine = props('sharded', FANOUT_IDS.stateMachine);
    const definition = machine.Definition as ReturnType<typeof stateMachineDefinition>;
    expect(machine.DefinitionSubstitutions).toEqual({
      FunctionArn: { 'Fn::GetAtt': ['DistributeLambdaFunction', 'Arn'] },
    });
    expect(machine.StateMachineType).toBe('STANDARD');
    expect(definition.StartAt).toBe('PlanShards');
    const plan = definition.States.PlanShards;
    expect(plan).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: `\${FunctionArn}`, Payload: { plan: { shardSize: 2, 'request.$': '$' } } },
      ResultSelector: { 'shards.$': '$.Payload.shards' },
      Next: 'DeliverShards',
    });
    const map = definition.States.DeliverShards;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.shards',
      MaxConcurrency: 5,
      ToleratedFailurePercentage: 100,
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'DeliverShard',
      },
      End: true,
    });
    expect(map.ItemProcessor.States.DeliverShard).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: `\${FunctionArn}`, 'Payload.$': '$' },
      // The function's own timeout and a minute: a hung invoke does not hold the run.
      TimeoutSeconds: 360,
      End: true,
    });
    // Lambda's service errors are retried; a shard's own failure (States.TaskFailed) is not.
    const retried = [plan, map.ItemProcessor.States.DeliverShard].flatMap((task) =>
      task.Retry.flatMap((retry) => retry.ErrorEquals),
    );
    expect(retried.every((error) => error.startsWith('Lambda.'))).toBe(true);
    expect(retried).not.toContain('States.ALL');
  });

  it('alarms on executions that failed, timed out or were stopped', () => {
    const alarm = props('sharded', FANOUT_IDS.failedAlarm);
    const metrics = alarm.Metrics as {
      MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } };
    }[];
    expect(metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : []))).toEqual([
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'ExecutionsAborted',
    ]);
    for (const metric of metrics.filter((m) => m.MetricStat)) {
      expect(metric.MetricStat?.Metric.Dimensions).toEqual([
        { Name: 'StateMachineArn', Value: { Ref: FANOUT_IDS.stateMachine } },
      ]);
    }
    expect(alarm.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
  });

  it("lets only Step Functions (this state machine, this account) and EventBridge (this stack's rules) assume the roles", () => {
    const trust = (id: string) =>
      (props('sharded', id).AssumeRolePolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(trust(FANOUT_IDS.stateMachineRole)).toEqual([
      expect.objectContaining({
        Principal: { Service: 'states.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: {
            'aws:SourceArn': {
              'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:\${AWS::StackName}-shards`,
            },
          },
        },
      }),
    ]);
    expect(trust(FANOUT_IDS.scheduleRole)).toEqual([
      expect.objectContaining({ Principal: { Service: 'events.amazonaws.com' } }),
    ]);
    expect(JSON.stringify(trust(FANOUT_IDS.scheduleRole))).toContain(`rule/\${AWS::StackName}-*`);
  });
});

describe('the roles of the sharded mode under the IAM oracle', () => {
  const STACK = 'cred-courier-dev';
  const arn = (service: string, resource: string) =>
    `arn:aws:${service}:${ORACLE_REGION}:${ORACLE_ACCOUNT}:${resource}`;
  const FUNCTION = arn('lambda', `function:${STACK}-distribute`);
  const MACHINE = arn('states', `stateMachine:${STACK}-shards`);
  /** A role's statements with the template's references resolved as deployed in the test account. */
  const statementsOf = (id: string) => {
    const policies = props('sharded', id).Policies as { PolicyDocument: { Statement: unknown[] } }[];
    const text = JSON.stringify(policies.flatMap((p) => p.PolicyDocument.Statement))
      .replaceAll(
        JSON.stringify({ 'Fn::GetAtt': ['DistributeLambdaFunction', 'Arn'] }),
        JSON.stringify(FUNCTION),
      )
      .replaceAll(JSON.stringify({ Ref: FANOUT_IDS.stateMachine }), JSON.stringify(MACHINE))
      .replaceAll(`\${AWS::StackName}`, STACK);
    return JSON.parse(text) as { Resource?: unknown }[];
  };
  const decide = (id: string, action: string, resource: string) =>
    policyDecision(statementsOf(id), action, resource);

  it.each([
    ['lambda:InvokeFunction', FUNCTION, 'Allowed'],
    ['lambda:InvokeFunction', arn('lambda', `function:${STACK}-other`), 'ImplicitlyDenied'],
    ['lambda:InvokeFunction', `${FUNCTION}:1`, 'ImplicitlyDenied'],
    ['lambda:UpdateFunctionCode', FUNCTION, 'ImplicitlyDenied'],
    // A Distributed Map runs its items as child executions of its own state machine.
    ['states:StartExecution', MACHINE, 'Allowed'],
    ['states:DescribeExecution', arn('states', `execution:${STACK}-shards/shards:0f1e2d3c`), 'Allowed'],
    ['states:StopExecution', arn('states', `execution:${STACK}-shards/shards:0f1e2d3c`), 'Allowed'],
    ['states:StartExecution', arn('states', 'stateMachine:someone-elses'), 'ImplicitlyDenied'],
    ['states:StopExecution', arn('states', 'execution:someone-elses/x:1'), 'ImplicitlyDenied'],
    [
      'secretsmanager:GetSecretValue',
      arn('secretsmanager', 'secret:cred-courier/clusters/gke-prod-AbCdEf'),
      'ImplicitlyDenied',
    ],
    ['sts:AssumeRole', `arn:aws:iam::${ORACLE_ACCOUNT}:role/cred-courier-ecr-pull`, 'ImplicitlyDenied'],
  ])('the state machine role: %s on %s is %s', async (action, resource, expected) => {
    expect(await decide(FANOUT_IDS.stateMachineRole, action, resource)).toBe(expected);
  });

  it.each([
    ['states:StartExecution', MACHINE, 'Allowed'],
    ['states:StartExecution', arn('states', 'stateMachine:someone-elses'), 'ImplicitlyDenied'],
    ['states:StopExecution', arn('states', `execution:${STACK}-shards:run-1`), 'ImplicitlyDenied'],
    ['lambda:InvokeFunction', FUNCTION, 'ImplicitlyDenied'],
  ])('the schedules role: %s on %s is %s', async (action, resource, expected) => {
    expect(await decide(FANOUT_IDS.scheduleRole, action, resource)).toBe(expected);
  });
});

describe('the sharded mode params', () => {
  const BASE: RawInputs = {
    config: 'config/clusters.yaml',
    ecrScheduleHours: 4,
    timeout: 300,
    logRetentionInDays: 30,
    shardSize: '',
    shardConcurrency: '',
  };

  it('are off when empty or 0, with the default concurrency when only shardSize is given', () => {
    expect(parseInputs(BASE).fanout).toBeUndefined();
    expect(parseInputs({ ...BASE, shardSize: '0' }).fanout).toBeUndefined();
    expect(parseInputs({ ...BASE, shardSize: 250 }).fanout).toEqual({
      shardSize: 250,
      shardConcurrency: DEFAULT_SHARD_CONCURRENCY,
    });
    expect(parseInputs({ ...BASE, shardSize: ' 100 ', shardConcurrency: '40' }).fanout).toEqual({
      shardSize: 100,
      shardConcurrency: 40,
    });
  });

  it.each([
    [
      { shardSize: 'lots' },
      'param shardSize: expected a number of clusters per invocation from 1 to 10000, or 0 or nothing',
    ],
    [{ shardSize: '-5' }, 'param shardSize: expected a number of clusters per invocation'],
    [{ shardSize: '2.5' }, 'param shardSize: expected a number of clusters per invocation'],
    [{ shardSize: '10001' }, 'param shardSize: expected a number of clusters per invocation from 1 to 10000'],
    [{ shardConcurrency: '5' }, 'param shardConcurrency: applies only with shardSize set'],
    [
      { shardSize: '50', shardConcurrency: '0' },
      'param shardConcurrency: expected the number of shards run at once from 1 to 1000',
    ],
    [
      { shardSize: '50', shardConcurrency: '1001' },
      'param shardConcurrency: expected the number of shards run at once from 1 to 1000',
    ],
  ])('refuses %j, naming the param', (raw, message) => {
    const parse = () => parseInputs({ ...BASE, ...raw });
    expect(parse).toThrow(PackagingError);
    expect(parse).toThrow(message);
  });

  it(
    'stop sls package with their own message as its first line',
    async () => {
      const single = project('single');
      const result = await slsPackage(single.dir, {
        config: join(single.dir, 'sample.yaml'),
        shardSize: 'many',
      });
      expect(result.code).not.toBe(0);
      expect(result.output.split('\n')[0]).toBe(
        'error: param shardSize: expected a number of clusters per invocation from 1 to 10000, or 0 or nothing for one invocation per schedule, got "many"',
      );
      expect(result.output).not.toContain('Service packaged');
    },
    SLS_TIMEOUT_MS,
  );
});

describe('static analysis of the sharded template', () => {
  staticAnalysisTests(
    () => join(project('sharded').dir, TEMPLATE_FILE),
    () => template('sharded'),
  );
});
