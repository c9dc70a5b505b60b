/**
 * The sharded mode: the `shardSize` and `shardConcurrency` deploy params and the resources they add.
 *
 * Off by default (`shardSize` empty or 0): each schedule invokes the function once for the whole fleet.
 * With `shardSize` set, each schedule starts a Step Functions state machine instead (the function's own
 * schedules are then disabled): its first state invokes the function with a plan event, which returns
 * the run's clusters in shards of at most `shardSize` (src/run/shards.ts); a Distributed Map then
 * invokes the function once per shard with `{clusters, kinds}`, at most `shardConcurrency` at a time.
 * Each shard mints its own scopes once and records only its own clusters in the ledger; a shard whose
 * run failed never stops the others (ToleratedFailurePercentage 100: the function's Errors alarm counts
 * it), and Lambda's own service errors are retried.
 *
 * Pure: validates the params and returns template fragments; nothing calls AWS.
 */
import type { KindId } from '../src/kinds/kind.ts';
import { KIND_IDS } from '../src/kinds/kind.ts';
import { KIND_SCHEDULES } from '../src/kinds/packaging.ts';
import { MAX_SHARD_SIZE } from '../src/run/request.ts';
import type { Cfn } from './serverless-config.ts';

/** Shards at once when `shardConcurrency` is empty: ten invocations' AssumeRole and kubeconfig reads. */
export const DEFAULT_SHARD_CONCURRENCY = 10;
/** Lambda's default concurrency quota per account and region: more shards at once would be throttled. */
export const MAX_SHARD_CONCURRENCY = 1000;

/** Logical IDs of the resources this module adds. */
export const FANOUT_IDS = {
  stateMachine: 'ShardsStateMachine',
  stateMachineRole: 'ShardsStateMachineRole',
  scheduleRole: 'ShardsScheduleRole',
  failedAlarm: 'ShardsExecutionsFailedAlarm',
  rule: (schedule: Schedule) => (schedule === 'ecr' ? 'EcrShardsSchedule' : 'SessionsShardsSchedule'),
} as const;

/** The state machine's name, fixed so its role can name its own ARN (a GetAtt would be a cycle). */
const STATE_MACHINE_NAME = `\${AWS::StackName}-shards`;
const STATE_MACHINE_ARN = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${STATE_MACHINE_NAME}`;
/** A Distributed Map's child executions: `execution:<state machine>/<map run label>:<id>`. */
const CHILD_EXECUTIONS_ARN = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:${STATE_MACHINE_NAME}/*`;

type Schedule = 'ecr' | 's3';

/** What serverless.yml passes in `custom.credCourier` for the sharded mode (strings from the command line). */
export interface RawFanoutInputs {
  readonly shardSize?: unknown;
  readonly shardConcurrency?: unknown;
}

export interface FanoutInputs {
  /** Clusters per invocation. */
  readonly shardSize: number;
  /** Shards at once (the Distributed Map's MaxConcurrency). */
  readonly shardConcurrency: number;
}

const isEmpty = (value: unknown) => value === undefined || value === null || String(value).trim() === '';

function wholeNumber(value: unknown): number {
  const text = String(value).trim();
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

/**
 * Validates the sharded mode's params, adding every problem to `problems` (reported with the other
 * params' problems by parseInputs). Undefined: the mode is off.
 */
export function parseFanoutInputs(raw: RawFanoutInputs, problems: string[]): FanoutInputs | undefined {
  const shardSize = isEmpty(raw.shardSize) ? 0 : wholeNumber(raw.shardSize);
  if (!(shardSize >= 0 && shardSize <= MAX_SHARD_SIZE)) {
    problems.push(
      `param shardSize: expected a number of clusters per invocation from 1 to ${MAX_SHARD_SIZE}, or 0 or nothing for one invocation per schedule, got ${JSON.stringify(raw.shardSize)}`,
    );
    return undefined;
  }
  if (shardSize === 0) {
    if (!isEmpty(raw.shardConcurrency)) {
      problems.push(
        `param shardConcurrency: applies only with shardSize set (the sharded mode), got ${JSON.stringify(raw.shardConcurrency)} without it`,
      );
    }
    return undefined;
  }
  let shardConcurrency = DEFAULT_SHARD_CONCURRENCY;
  if (!isEmpty(raw.shardConcurrency)) {
    shardConcurrency = wholeNumber(raw.shardConcurrency);
    if (!(shardConcurrency >= 1 && shardConcurrency <= MAX_SHARD_CONCURRENCY)) {
      problems.push(
        `param shardConcurrency: expected the number of shards run at once from 1 to ${MAX_SHARD_CONCURRENCY} (Lambda's default concurrency quota), got ${JSON.stringify(raw.shardConcurrency)}`,
      );
      shardConcurrency = DEFAULT_SHARD_CONCURRENCY;
    }
  }
  return { shardSize, shardConcurrency };
}

const sub = (text: string): Cfn => ({ 'Fn::Sub': text });
const functionArn = (functionId: string): Cfn => ({ 'Fn::GetAtt': [functionId, 'Arn'] });

/** The kinds each schedule delivers: the run request it sends (as serverless.yml's function schedules do). */
export function scheduleKinds(schedule: Schedule): KindId[] {
  return KIND_IDS.filter((kind) => KIND_SCHEDULES[kind] === schedule);
}

/**
 * Lambda's own failures, worth retrying: the service, the SDK call or the account's concurrency. Not a
 * function error (States.TaskFailed): a shard whose clusters failed has reported them.
 */
/** Replaced by the function's ARN (DefinitionSubstitutions). */
const FUNCTION_ARN = `\${FunctionArn}`;
/** The Lambda integration's resource, in the form cfn-lint's schema of a definition accepts. */
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';

const LAMBDA_SERVICE_RETRY = {
  ErrorEquals: [
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
  ],
  IntervalSeconds: 2,
  MaxAttempts: 4,
  BackoffRate: 2,
  JitterStrategy: 'FULL',
};

/**
 * The state machine's definition (Amazon States Language, JSONPath). Its input is a run request, the
 * one the schedule would send an unsharded function (`{"kinds": ["ecr"]}`); `${FunctionArn}` is
 * substituted by CloudFormation.
 */
export function stateMachineDefinition(inputs: FanoutInputs, timeoutSeconds: number) {
  // A hung invoke must not hold the execution: the function's own timeout, and a minute for Lambda.
  const taskTimeout = timeoutSeconds + 60;
  return {
    Comment: `cred-courier: one run in shards of at most ${inputs.shardSize} clusters, ${inputs.shardConcurrency} at a time`,
    StartAt: 'PlanShards',
    States: {
      PlanShards: {
        Type: 'Task',
        Comment: "The run request's clusters, in the registration file's order, in shards",
        Resource: LAMBDA_INVOKE,
        Parameters: {
          FunctionName: FUNCTION_ARN,
          Payload: { plan: { shardSize: inputs.shardSize, 'request.$': '$' } },
        },
        ResultSelector: { 'shards.$': '$.Payload.shards' },
        TimeoutSeconds: taskTimeout,
        Retry: [LAMBDA_SERVICE_RETRY],
        Next: 'DeliverShards',
      },
      DeliverShards: {
        Type: 'Map',
        Comment: 'One invocation per shard; a failed shard never stops the others',
        ItemsPath: '$.shards',
        MaxConcurrency: inputs.shardConcurrency,
        ToleratedFailurePercentage: 100,
        Label: 'shards',
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'DeliverShard',
          States: {
            DeliverShard: {
              Type: 'Task',
              Resource: LAMBDA_INVOKE,
              Parameters: { FunctionName: FUNCTION_ARN, 'Payload.$': '$' },
              ResultSelector: { 'summary.$': '$.Payload' },
              TimeoutSeconds: taskTimeout,
              Retry: [LAMBDA_SERVICE_RETRY],
              End: true,
            },
          },
        },
        // Each shard's summary is its child execution's output; gathering them all could pass the
        // 256 KiB a state's output may hold.
        ResultPath: null,
        End: true,
      },
    },
  };
}

/** The resources of the sharded mode, for the function `functionId` and the schedules in use. */
export function fanoutResources(
  inputs: FanoutInputs,
  options: {
    readonly functionId: string;
    readonly alarmTopicId: string;
    readonly timeoutSeconds: number;
    readonly schedules: Readonly<Record<Schedule, { readonly rate: string; readonly enabled: boolean }>>;
  },
): Record<string, Cfn> {
  const resources: Record<string, Cfn> = {
    [FANOUT_IDS.stateMachineRole]: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description:
          'cred-courier shards: invokes the function and starts its own Distributed Map executions',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'states.amazonaws.com' },
              Action: 'sts:AssumeRole',
              // Only this account's state machine of that name (confused deputy).
              Condition: {
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                ArnLike: { 'aws:SourceArn': sub(STATE_MACHINE_ARN) },
              },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'shards',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'InvokeTheFunction',
                  Effect: 'Allow',
                  Action: ['lambda:InvokeFunction'],
                  Resource: [functionArn(options.functionId)],
                },
                {
                  // What a Distributed Map needs of its own state machine: start its child executions,
                  // and follow or stop them.
                  Sid: 'RunTheShardsAsChildExecutions',
                  Effect: 'Allow',
                  Action: ['states:StartExecution'],
                  Resource: [sub(STATE_MACHINE_ARN)],
                },
                {
                  Sid: 'FollowTheChildExecutions',
                  Effect: 'Allow',
                  Action: ['states:DescribeExecution', 'states:StopExecution'],
                  Resource: [sub(CHILD_EXECUTIONS_ARN)],
                },
              ],
            },
          },
        ],
      },
    },
    // No X-Ray tracing and no vended execution logs: those would grant the role xray:PutTraceSegments and
    // logs:CreateLogDelivery, PutResourcePolicy and the other delivery calls on "*". Step Functions keeps
    // each execution's history (every state's input, output and error) for 90 days, and the function
    // logs each shard's run.
    [FANOUT_IDS.stateMachine]: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: sub(STATE_MACHINE_NAME),
        StateMachineType: 'STANDARD',
        RoleArn: { 'Fn::GetAtt': [FANOUT_IDS.stateMachineRole, 'Arn'] },
        Definition: stateMachineDefinition(inputs, options.timeoutSeconds) as unknown as Cfn,
        DefinitionSubstitutions: {
          FunctionArn: functionArn(options.functionId),
        },
      },
    },
    [FANOUT_IDS.scheduleRole]: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description:
          "cred-courier shards: the schedules' role, which may only start the shards state machine",
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: {
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                ArnLike: {
                  'aws:SourceArn': sub(
                    `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/\${AWS::StackName}-*`,
                  ),
                },
              },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'start-shards',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'StartTheShardsStateMachine',
                  Effect: 'Allow',
                  Action: ['states:StartExecution'],
                  Resource: [{ Ref: FANOUT_IDS.stateMachine }],
                },
              ],
            },
          },
        ],
      },
    },
    [FANOUT_IDS.failedAlarm]: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: sub(`\${AWS::StackName}-shards-failed`),
        AlarmDescription: sub(
          `A sharded run could not start its shards: the plan failed (bad request, unreadable registration file) or the execution failed, timed out or was stopped. ` +
            `Its history is in the Step Functions console (state machine ${STATE_MACHINE_NAME}). A shard that could not work is the errors alarm's.`,
        ),
        Metrics: [
          ...(['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'] as const).map((name) => ({
            Id: name.replace('Executions', '').toLowerCase(),
            MetricStat: {
              Metric: {
                Namespace: 'AWS/States',
                MetricName: name,
                Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: FANOUT_IDS.stateMachine } }],
              },
              Period: 900,
              Stat: 'Sum',
            },
            ReturnData: false,
          })),
          {
            Id: 'unfinished',
            Expression: 'FILL(failed, 0) + FILL(timedout, 0) + FILL(aborted, 0)',
            Label: 'Executions failed, timed out or aborted',
            ReturnData: true,
          },
        ],
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: options.alarmTopicId }],
        OKActions: [{ Ref: options.alarmTopicId }],
      },
    },
  };
  for (const schedule of ['ecr', 's3'] as const) {
    const { rate, enabled } = options.schedules[schedule];
    const name = schedule === 'ecr' ? 'ecr' : 'sessions';
    resources[FANOUT_IDS.rule(schedule)] = {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: sub(`\${AWS::StackName}-${name}-shards`),
        Description: `cred-courier ${name === 'ecr' ? 'ECR pull secrets' : 'S3 and AWS role sessions'} in shards`,
        ScheduleExpression: rate,
        // Off when no cluster uses the schedule's kinds, as the function's own schedule would be.
        State: enabled ? 'ENABLED' : 'DISABLED',
        Targets: [
          {
            Id: 'shards',
            Arn: { Ref: FANOUT_IDS.stateMachine },
            RoleArn: { 'Fn::GetAtt': [FANOUT_IDS.scheduleRole, 'Arn'] },
            Input: JSON.stringify({ kinds: scheduleKinds(schedule) }),
          },
        ],
      },
    };
  }
  return resources;
}
