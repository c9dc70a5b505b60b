/**
 * The package-time half of serverless.yml: everything the stack derives from the registration file.
 * `sls package` resolves `${file(./scripts/serverless-config.cjs):…}` variables through a CommonJS shim
 * (osls only `require`s .js/.cjs variable files) that calls `packagingFragments` here. It
 *
 * - validates the registration file with the CLI's own loader (`cred-courier validate`), so an invalid
 *   file fails packaging with the same path-pointing messages;
 * - runs the S3 schedule every `settings.s3IntervalMinutes` of the file (the interval every S3 grant's
 *   duration was checked against: one value, so the schedule cannot disagree with the check);
 * - derives the function role's statements: only the secrets, roles and registries the file names;
 * - builds the alarms whose numbers depend on params (timeout, schedule periods), one validity alarm per
 *   kind the file uses, optional per-cluster alarms, the dashboard and the saved Logs Insights query.
 *
 * Nothing here calls AWS: account, region and partition stay CloudFormation intrinsics.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, relative, resolve } from 'node:path';
import { loadConfigWithWarnings } from '../src/config/load.ts';
import type { Config } from '../src/config/types.ts';
import { CredCourierError } from '../src/errors.ts';
import { type Cfn, type IamStatement, sub } from '../src/kinds/iam.ts';
import type { KindId } from '../src/kinds/kind.ts';
import { KIND_SCHEDULES, KIND_TITLES, kindsIam, kindsInUse } from '../src/kinds/packaging.ts';
import { CREDENTIAL_EXPIRY_WARNING_SECONDS, VALIDITY_THRESHOLDS_SECONDS } from '../src/report/fleet.ts';
import { METRIC_NAMES, METRICS_NAMESPACE, METRICS_SERVICE } from '../src/report/metrics.ts';
import { type FanoutInputs, fanoutResources, parseFanoutInputs, type RawFanoutInputs } from './fanout.ts';
import {
  type NetworkInputs,
  networkFragments,
  parseNetworkInputs,
  type RawNetworkInputs,
} from './network.ts';

export type { Cfn, IamStatement } from '../src/kinds/iam.ts';

type Resources = Record<string, { readonly Type: string; readonly Properties: Record<string, Cfn> }>;

/** Thrown when a param given to `sls package` is invalid or disagrees with the registration file. */
export class PackagingError extends CredCourierError {
  constructor(message: string) {
    super(message);
    this.name = 'PackagingError';
  }
}

/** Logical IDs of resources serverless.yml and osls define, which the generated ones refer to. */
export const LOGICAL_IDS = {
  function: 'DistributeLambdaFunction',
  logGroup: 'DistributeLogGroup',
  ledgerTable: 'LedgerTable',
  deadLetterQueue: 'DeadLetterQueue',
  alarmTopic: 'AlarmTopic',
  alarmTopicKey: 'AlarmTopicKey',
} as const;

/** ECR tokens live 12 h (`GetAuthorizationToken`'s documented lifetime). */
const ECR_TOKEN_HOURS = 12;
/**
 * Longest ECR interval: just before the next run a healthy target must still have more than the
 * validity threshold (4 h) left, or the validity alarm would fire every cycle: 12 h - 4 h - 1 h slack.
 */
export const MAX_ECR_SCHEDULE_HOURS = ECR_TOKEN_HOURS - VALIDITY_THRESHOLDS_SECONDS.ecr / 3600 - 1;
/** Lambda's own limit on a function timeout. */
const MAX_TIMEOUT_SECONDS = 900;
/** The Duration alarm fires above this share of the timeout. */
export const DURATION_ALARM_RATIO = 0.8;
/**
 * Added to a schedule's interval to make a validity alarm's period. CloudWatch alarms evaluate a sliding
 * window; a period exactly one interval long would sometimes hold no datapoint (a run starts a few
 * seconds late, or takes longer than the previous one) and, with missing data breaching, alarm for
 * nothing. The slack covers the longest run (the timeout), EventBridge's delivery jitter and EMF
 * ingestion, and keeps each window holding at least one run.
 */
const INGESTION_SLACK_SECONDS = 300;

/** What serverless.yml passes in `custom.credCourier` (params arrive as strings from the command line). */
export interface RawInputs extends RawNetworkInputs, RawFanoutInputs {
  readonly config?: unknown;
  readonly ecrScheduleHours?: unknown;
  readonly timeout?: unknown;
  readonly alarmEmail?: unknown;
  readonly perClusterAlarms?: unknown;
}

export interface PackagingInputs {
  /** The registration file as given (relative to the service folder unless absolute). */
  readonly configFile: string;
  readonly ecrScheduleHours: number;
  /** The function timeout in seconds. */
  readonly timeoutSeconds: number;
  /** Where alarm notifications are mailed; none when empty. */
  readonly alarmEmail?: string;
  readonly perClusterAlarms: boolean;
  /** Where the function connects from (scripts/network.ts); absent: Lambda's shared addresses, no VPC. */
  readonly network?: NetworkInputs;
  /** The sharded mode (scripts/fanout.ts); absent: one invocation per schedule. */
  readonly fanout?: FanoutInputs;
}

export interface Schedule {
  /** An EventBridge rate expression: `rate(4 hours)`, `rate(1 hour)`. */
  readonly rate: string;
  /** Off when no cluster uses the kind: a run would have nothing to do, and no alarm watches it. */
  readonly enabled: boolean;
}

export interface PackagingFragments {
  readonly iamStatements: readonly IamStatement[];
  /** The ECR schedule and the sessions schedule (named `s3`; it delivers every role-session kind). */
  readonly schedules: Readonly<Record<'ecr' | 's3', Schedule>>;
  readonly resources: {
    readonly Resources: Resources;
    readonly Outputs: Record<string, Cfn>;
    /** Merged into resources the framework generates (the function's VpcConfig and checkov skips). */
    readonly extensions: Record<string, Cfn>;
  };
}

// ---------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------

/** A setting that must be an integer in [min, max]; `undefined` after recording a problem. */
function integerParam(
  problems: string[],
  label: string,
  value: unknown,
  range: { readonly min: number; readonly max: number },
  why: string,
): number | undefined {
  const number = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof number === 'number' && Number.isInteger(number) && number >= range.min && number <= range.max) {
    return number;
  }
  problems.push(
    `${label}: expected an integer from ${range.min} to ${range.max} (${why}), got ${JSON.stringify(value ?? null)}`,
  );
  return undefined;
}

function booleanParam(problems: string[], name: string, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false' || value === undefined || value === null || value === '')
    return false;
  problems.push(`param ${name}: expected true or false, got ${JSON.stringify(value)}`);
  return false;
}

/**
 * Validates the params, reporting every problem at once; numbers and flags may arrive as strings
 * (`--param "ecrScheduleHours=6"`).
 * @throws PackagingError
 */
export function parseInputs(raw: RawInputs): PackagingInputs {
  const problems: string[] = [];
  const config = typeof raw.config === 'string' ? raw.config.trim() : '';
  if (config === '') {
    problems.push(
      `param config: expected the registration file's path, got ${JSON.stringify(raw.config ?? null)}`,
    );
  }
  const ecrScheduleHours = integerParam(
    problems,
    'param ecrScheduleHours',
    raw.ecrScheduleHours,
    { min: 1, max: MAX_ECR_SCHEDULE_HOURS },
    `tokens live ${ECR_TOKEN_HOURS} h and the validity alarm fires under ${VALIDITY_THRESHOLDS_SECONDS.ecr / 3600} h left`,
  );
  const timeoutSeconds = integerParam(
    problems,
    'provider.timeout',
    raw.timeout,
    { min: 1, max: MAX_TIMEOUT_SECONDS },
    "Lambda's limit",
  );
  const email = raw.alarmEmail ?? '';
  if (typeof email !== 'string' || (email !== '' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))) {
    problems.push(`param alarmEmail: expected an email address or nothing, got ${JSON.stringify(email)}`);
  }
  const perClusterAlarms = booleanParam(problems, 'perClusterAlarms', raw.perClusterAlarms);
  const network = parseNetworkInputs(raw, problems);
  const fanout = parseFanoutInputs(raw, problems);
  if (problems.length > 0 || ecrScheduleHours === undefined || timeoutSeconds === undefined) {
    throw new PackagingError(
      problems.length === 1
        ? `${problems[0]}`
        : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return {
    configFile: config,
    ecrScheduleHours,
    timeoutSeconds,
    ...(email === '' ? {} : { alarmEmail: email as string }),
    perClusterAlarms,
    ...(network.mode === 'shared' ? {} : { network }),
    ...(fanout ? { fanout } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// IAM
// ---------------------------------------------------------------------------------------------------

/** By JSON text, code unit by code unit: the same order on every machine, whatever its locale. */
function byText(a: Cfn, b: Cfn): number {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Distinct values, in a stable order so the template only changes when the file does. */
function distinct(values: readonly Cfn[]): Cfn[] {
  const seen = new Map<string, Cfn>();
  for (const value of values) seen.set(JSON.stringify(value), value);
  return [...seen.values()].sort(byText);
}

/** A secret's full ARN ends in `-` and six characters Secrets Manager added to the name. */
const FULL_SECRET_ARN = /:secret:.+-[A-Za-z0-9]{6}$/;

/**
 * The resource of a kubeconfig secret. A name becomes an ARN in the stack's account and region with
 * `-??????` for the suffix Secrets Manager appends; a full ARN is used as given; a partial ARN (no
 * suffix) gets the suffix wildcard too, since IAM compares against the full ARN.
 */
export function secretResource(reference: string): Cfn {
  if (reference.startsWith('arn:'))
    return FULL_SECRET_ARN.test(reference) ? reference : `${reference}-??????`;
  return sub(
    `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${reference}-??????`,
  );
}

/**
 * The function role's statements, from the file alone:
 * - each kind's own statements (src/kinds/<kind>/iam.ts; e.g. ECR tokens minted as the function itself);
 * - kubeconfig secrets it names: `secretsmanager:GetSecretValue`; and, to renew their tokens
 *   (src/run/renew.ts), `secretsmanager:DescribeSecret` (the ownership tags) and `PutSecretValue`;
 * - proxy credentials secrets it names (`proxy.credentialsSecret`): `secretsmanager:GetSecretValue` only;
 * - roles the kinds name: `sts:AssumeRole`, and `sts:TagSession` only on roles assumed with session tags;
 * - the delivery ledger: Scan, GetItem, PutItem and DeleteItem (the only commands src/aws/ledger.ts
 *   sends: conditional single-item writes), on its table;
 * - the alarm topic: `sns:Publish` on it (transition notifications, src/aws/notifier.ts), and the topic
 *   key's GenerateDataKey and Decrypt only through SNS in the stack's region (SNS encrypts with it).
 * CloudWatch Logs statements come from the framework; metrics go through logs (EMF), so no
 * `cloudwatch:PutMetricData`; `sqs:SendMessage` for the on-failure destination is added by the framework.
 */
export function functionRoleStatements(config: Config): IamStatement[] {
  const kinds = kindsIam(config);
  const roles = distinct(kinds.flatMap((kind) => kind.roles));
  const taggedRoles = distinct(kinds.flatMap((kind) => kind.taggedRoles));
  const secrets = distinct(config.clusters.map((cluster) => secretResource(cluster.kubeconfigSecret)));
  const proxySecrets = distinct(
    config.clusters.flatMap((cluster) =>
      cluster.proxy?.credentialsSecret ? [secretResource(cluster.proxy.credentialsSecret)] : [],
    ),
  );

  const statements: IamStatement[] = kinds.flatMap((kind) => kind.statements);
  statements.push({
    Sid: 'ReadKubeconfigs',
    Effect: 'Allow',
    Action: ['secretsmanager:GetSecretValue'],
    Resource: secrets,
  });
  if (proxySecrets.length > 0) {
    // src/aws/proxy-credentials.ts: read only, never renewed or written.
    statements.push({
      Sid: 'ReadProxyCredentials',
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: proxySecrets,
    });
  }
  statements.push({
    Sid: 'RenewKubeconfigs',
    Effect: 'Allow',
    // src/aws/kubeconfig-writer.ts putRenewedKubeconfig: DescribeSecret (owned?) then PutSecretValue.
    Action: ['secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue'],
    Resource: secrets,
  });
  if (roles.length > 0) {
    statements.push({
      Sid: 'AssumeMintingRoles',
      Effect: 'Allow',
      Action: ['sts:AssumeRole'],
      Resource: roles,
    });
  }
  if (taggedRoles.length > 0) {
    statements.push({
      Sid: 'TagMintingSessions',
      Effect: 'Allow',
      Action: ['sts:TagSession'],
      Resource: taggedRoles,
    });
  }
  statements.push({
    Sid: 'DeliveryLedger',
    Effect: 'Allow',
    // src/aws/ledger.ts sends exactly these: ScanCommand to read, GetCommand to re-read an item whose
    // conditional write lost, PutCommand and DeleteCommand (conditioned on the item's version) to write.
    Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan'],
    Resource: { 'Fn::GetAtt': [LOGICAL_IDS.ledgerTable, 'Arn'] },
  });
  statements.push({
    Sid: 'NotifyTransitions',
    Effect: 'Allow',
    // src/aws/notifier.ts sends PublishCommand only, to the alarm topic.
    Action: ['sns:Publish'],
    Resource: { Ref: LOGICAL_IDS.alarmTopic },
  });
  statements.push({
    Sid: 'EncryptForTheAlarmTopic',
    Effect: 'Allow',
    // Publishing to a KMS-encrypted topic makes SNS call these on the publisher's behalf; only via SNS.
    Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    Resource: { 'Fn::GetAtt': [LOGICAL_IDS.alarmTopicKey, 'Arn'] },
    Condition: { StringEquals: { 'kms:ViaService': sub(`sns.\${AWS::Region}.amazonaws.com`) } },
  });
  return statements;
}

/** The compiled template's resources, as far as the role trimming below reads and writes them. */
interface CompiledTemplate {
  readonly Resources: Record<
    string,
    { Properties?: { Policies?: { PolicyDocument: { Statement: { Action: Cfn; Resource: Cfn }[] } }[] } }
  >;
}

const logGroupArn = (suffix: string): Cfn =>
  sub(
    `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:\${${LOGICAL_IDS.logGroup}}${suffix}`,
  );

/**
 * The framework's log statements, cut to what the Lambda runtime calls: CreateLogStream and
 * PutLogEvents on the function's own log group (the stack creates the group, so no CreateLogGroup, and
 * nothing tags it, so no TagResource; the framework's `/aws/lambda/<service>-<stage>*` prefix would
 * also match other functions' groups). Called from scripts/serverless-build-plugin.cjs before the
 * template is saved.
 * @throws PackagingError when the framework's statements are not the ones this expects (a framework
 *   upgrade changed them): better a failed package than an unreviewed grant.
 */
export function trimFrameworkLogStatements(template: CompiledTemplate): void {
  const statements =
    template.Resources.IamRoleLambdaExecution?.Properties?.Policies?.[0]?.PolicyDocument.Statement;
  const actions = (action: Cfn) => JSON.stringify([action].flat().slice().sort());
  const streams = statements?.find(
    (s) => actions(s.Action) === actions(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:TagResource']),
  );
  const events = statements?.find((s) => actions(s.Action) === actions(['logs:PutLogEvents']));
  if (streams === undefined || events === undefined) {
    throw new PackagingError(
      'the framework no longer generates the log statements this stack trims (IamRoleLambdaExecution): review scripts/serverless-config.ts',
    );
  }
  streams.Action = ['logs:CreateLogStream'];
  streams.Resource = [logGroupArn(':*')];
  events.Resource = [logGroupArn(':log-stream:*')];
}

// ---------------------------------------------------------------------------------------------------
// Schedules and alarms
// ---------------------------------------------------------------------------------------------------

function rate(count: number, unit: 'minute' | 'hour'): string {
  return `rate(${count} ${unit}${count === 1 ? '' : 's'})`;
}

/** The saved query's name, and the words the alarm descriptions use to point at it. */
const QUERY_NAME_SUFFIX = 'cluster-failures-last-24h';

/** Logs Insights: failures per cluster, with the last class and reason (run with a 24 h range). */
export const CLUSTER_FAILURES_QUERY = [
  'fields @timestamp, cluster, kind, namespace, secretName, failureClass, reason',
  '| filter level = "ERROR" and ispresent(cluster)',
  '| stats count(*) as failures, latest(failureClass) as lastFailureClass, latest(reason) as lastReason, max(@timestamp) as lastFailureAt by cluster',
  '| sort failures desc',
].join('\n');

/** Where an alarm's reader finds out which clusters are concerned. */
const WHERE_TO_LOOK =
  `Which clusters: the CloudWatch dashboard \${AWS::StackName}, \`npx cred-courier ledger\`, and the saved ` +
  `Logs Insights query \${AWS::StackName}/${QUERY_NAME_SUFFIX} (run it over the last 24 h).`;

const metricsDimensions = (name: string, value: string): Cfn => [
  { Name: 'service', Value: METRICS_SERVICE },
  { Name: name, Value: value },
];

const alarmActions = () => ({
  AlarmActions: [{ Ref: LOGICAL_IDS.alarmTopic }],
  OKActions: [{ Ref: LOGICAL_IDS.alarmTopic }],
});

/** A validity-low alarm's period: the kind's schedule interval plus slack (see INGESTION_SLACK_SECONDS). */
export function validityPeriodSeconds(intervalSeconds: number, timeoutSeconds: number): number {
  const slack = timeoutSeconds + INGESTION_SLACK_SECONDS;
  return Math.ceil((intervalSeconds + slack) / 60) * 60;
}

function validityAlarm(kind: KindId, intervalSeconds: number, inputs: PackagingInputs) {
  const threshold = VALIDITY_THRESHOLDS_SECONDS[kind];
  const period = validityPeriodSeconds(intervalSeconds, inputs.timeoutSeconds);
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: sub(`\${AWS::StackName}-${kind}-validity-low`),
      AlarmDescription: sub(
        `${KIND_TITLES[kind]}: some delivered credential has less than ${threshold} s of validity left, ` +
          `or no run reported for ${period / 60} min (schedule stopped, function failing to start or deleted). ` +
          `Credentials expire soon after. ${WHERE_TO_LOOK}`,
      ),
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC_NAMES.minSecondsOfValidityLeft,
      Dimensions: metricsDimensions('Kind', kind),
      Statistic: 'Minimum',
      Period: period,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: threshold,
      ComparisonOperator: 'LessThanThreshold',
      // No datapoint means no run: that must alarm too.
      TreatMissingData: 'breaching',
      ...alarmActions(),
    },
  } as const;
}

/**
 * One alarm per kind on `TargetsFailed` (the ledger's count of targets whose last delivery failed): a
 * fixed number of alarms at any fleet size. Which clusters, and when each started and stopped, arrive
 * as transition notifications on the same topic; this alarm says the kind has failing targets at all.
 */
function failingAlarm(kind: KindId, intervalSeconds: number, inputs: PackagingInputs) {
  const period = validityPeriodSeconds(intervalSeconds, inputs.timeoutSeconds);
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: sub(`\${AWS::StackName}-${kind}-targets-failing`),
      AlarmDescription: sub(
        `${KIND_TITLES[kind]}: at least one target failed its last delivery (in the last ${period / 60} min). ` +
          'Each cluster that starts failing, crosses into risk or recovers is notified once on this topic, ' +
          `with its failure class and what to do. ${WHERE_TO_LOOK}`,
      ),
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC_NAMES.targetsFailed,
      Dimensions: metricsDimensions('Kind', kind),
      Statistic: 'Maximum',
      Period: period,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      // No datapoint means no run: the validity alarm (missing data breaching) says that one.
      TreatMissingData: 'notBreaching',
      ...alarmActions(),
    },
  } as const;
}

/**
 * One alarm on the least validity left of the clusters' own stored credentials (`MinCredentialSecondsLeft`,
 * from the ledger): under 7 days, a credential is not renewing itself (a client certificate, or a token
 * whose renewal keeps failing) and delivery to that cluster stops when it expires.
 */
function credentialExpiryAlarm(intervalSeconds: number, inputs: PackagingInputs) {
  const period = validityPeriodSeconds(intervalSeconds, inputs.timeoutSeconds);
  const days = CREDENTIAL_EXPIRY_WARNING_SECONDS / 86_400;
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: sub(`\${AWS::StackName}-cluster-credential-expiring`),
      AlarmDescription: sub(
        `A cluster's stored kubeconfig credential expires in less than ${days} days: it is not renewing ` +
          'itself (a client certificate, or a token whose renewal keeps failing). The cluster is named in ' +
          'the notification on this topic and by `npx cred-courier ledger` (with what to do: ' +
          '`npx cred-courier register <cluster> --kubeconfig <admin kubeconfig> --rotate`, or replace the certificate).',
      ),
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC_NAMES.minCredentialSecondsLeft,
      Dimensions: [{ Name: 'service', Value: METRICS_SERVICE }],
      Statistic: 'Minimum',
      Period: period,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: CREDENTIAL_EXPIRY_WARNING_SECONDS,
      ComparisonOperator: 'LessThanThreshold',
      // Published only while some stored credential expires; a stopped function is the validity alarms'.
      TreatMissingData: 'notBreaching',
      ...alarmActions(),
    },
  } as const;
}

function durationAlarm(inputs: PackagingInputs) {
  const thresholdMs = Math.round(inputs.timeoutSeconds * 1000 * DURATION_ALARM_RATIO);
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: sub(`\${AWS::StackName}-duration-near-timeout`),
      AlarmDescription: sub(
        `A run took more than ${DURATION_ALARM_RATIO * 100} % of the ${inputs.timeoutSeconds} s timeout ` +
          `(${thresholdMs} ms). Near the timeout, clusters not reached are reported as deadline failures: ` +
          `raise the timeout or concurrency, or look for slow clusters. ${WHERE_TO_LOOK}`,
      ),
      Namespace: 'AWS/Lambda',
      MetricName: 'Duration',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: LOGICAL_IDS.function } }],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: thresholdMs,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      ...alarmActions(),
    },
  } as const;
}

/** A logical ID for a cluster: its name in PascalCase and a hash of the exact name (`a-1` and `a1` differ). */
export function clusterLogicalId(name: string): string {
  const pascal = name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return `${pascal}${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/**
 * One alarm per cluster on its `Failed` metric, summed over every failure class with a Metrics Insights
 * query (the metric carries a `FailureClass` dimension, so a plain metric alarm would need one per class).
 */
function clusterFailingAlarm(cluster: string) {
  const query =
    `SELECT SUM(${METRIC_NAMES.failed}) FROM SCHEMA("${METRICS_NAMESPACE}", Cluster, FailureClass, service) ` +
    `WHERE Cluster = '${cluster}' AND service = '${METRICS_SERVICE}'`;
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: sub(`\${AWS::StackName}-cluster-${cluster}-failing`),
      AlarmDescription: sub(
        `Cluster ${cluster}: some delivery or prune failed in the last hour. ` +
          `The failure class and reason: \`npx cred-courier ledger\` or the saved Logs Insights query ` +
          `\${AWS::StackName}/${QUERY_NAME_SUFFIX}; the dashboard \${AWS::StackName} shows it over time.`,
      ),
      Metrics: [{ Id: 'failed', Expression: query, Period: 3600, ReturnData: true }],
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      // Failed is only written when something failed: no datapoint is good news.
      TreatMissingData: 'notBreaching',
      ...alarmActions(),
    },
  } as const;
}

// ---------------------------------------------------------------------------------------------------
// Dashboard and saved query
// ---------------------------------------------------------------------------------------------------

function dashboardBody(kinds: readonly KindId[], inputs: PackagingInputs): string {
  const region = `\${AWS::Region}`;
  const search = (schema: string, metric: string) =>
    `SEARCH('{${METRICS_NAMESPACE},${schema}} MetricName="${metric}" service="${METRICS_SERVICE}"', 'Sum', 3600)`;
  const validity = kinds.map((kind) => [
    METRICS_NAMESPACE,
    METRIC_NAMES.minSecondsOfValidityLeft,
    'Kind',
    kind,
    'service',
    METRICS_SERVICE,
    { stat: 'Minimum', label: kind },
  ]);
  const widgets = [
    {
      type: 'text',
      x: 0,
      y: 0,
      width: 24,
      height: 2,
      properties: {
        markdown:
          '## cred-courier\nPer-cluster detail: `npx cred-courier ledger` (every target, its expiry and last failure), ' +
          `and the saved Logs Insights query **\${AWS::StackName}/${QUERY_NAME_SUFFIX}** (the table at the bottom).`,
      },
    },
    {
      type: 'metric',
      x: 0,
      y: 2,
      width: 12,
      height: 6,
      properties: {
        title: 'Secrets delivered per cluster (per hour)',
        region,
        view: 'timeSeries',
        stacked: false,
        metrics: [[{ expression: search('Cluster,service', METRIC_NAMES.delivered), id: 'delivered' }]],
      },
    },
    {
      type: 'metric',
      x: 12,
      y: 2,
      width: 12,
      height: 6,
      properties: {
        title: 'Failures per cluster and class (per hour)',
        region,
        view: 'timeSeries',
        stacked: true,
        metrics: [
          [{ expression: search('Cluster,FailureClass,service', METRIC_NAMES.failed), id: 'failed' }],
        ],
      },
    },
    {
      type: 'metric',
      x: 0,
      y: 8,
      width: 12,
      height: 6,
      properties: {
        title: 'Least validity left per kind (seconds)',
        region,
        view: 'timeSeries',
        stacked: false,
        period: 300,
        metrics: validity,
        annotations: {
          horizontal: kinds.map((kind) => ({
            label: `${kind} alarm`,
            value: VALIDITY_THRESHOLDS_SECONDS[kind],
          })),
        },
        yAxis: { left: { min: 0 } },
      },
    },
    {
      type: 'metric',
      x: 12,
      y: 8,
      width: 12,
      height: 6,
      properties: {
        title: 'Targets at risk and failing per kind',
        region,
        view: 'timeSeries',
        stacked: false,
        period: 300,
        metrics: kinds.flatMap((kind) => [
          [
            METRICS_NAMESPACE,
            METRIC_NAMES.targetsAtRisk,
            'Kind',
            kind,
            'service',
            METRICS_SERVICE,
            { stat: 'Maximum', label: `${kind} at risk` },
          ],
          [
            METRICS_NAMESPACE,
            METRIC_NAMES.targetsFailed,
            'Kind',
            kind,
            'service',
            METRICS_SERVICE,
            { stat: 'Maximum', label: `${kind} failing` },
          ],
        ]),
      },
    },
    {
      type: 'metric',
      x: 0,
      y: 14,
      width: 12,
      height: 6,
      properties: {
        title: 'Function: invocations, errors, throttles',
        region,
        view: 'timeSeries',
        stacked: false,
        period: 900,
        stat: 'Sum',
        metrics: ['Invocations', 'Errors', 'Throttles'].map((name) => [
          'AWS/Lambda',
          name,
          'FunctionName',
          `\${${LOGICAL_IDS.function}}`,
        ]),
      },
    },
    {
      type: 'metric',
      x: 12,
      y: 14,
      width: 12,
      height: 6,
      properties: {
        title: 'Function duration (ms) and failed invocations in the dead-letter queue',
        region,
        view: 'timeSeries',
        stacked: false,
        period: 300,
        metrics: [
          ['AWS/Lambda', 'Duration', 'FunctionName', `\${${LOGICAL_IDS.function}}`, { stat: 'Maximum' }],
          [
            'AWS/SQS',
            'ApproximateNumberOfMessagesVisible',
            'QueueName',
            `\${${LOGICAL_IDS.deadLetterQueue}.QueueName}`,
            { stat: 'Maximum', yAxis: 'right' },
          ],
        ],
        annotations: {
          horizontal: [
            {
              label: 'duration alarm',
              value: Math.round(inputs.timeoutSeconds * 1000 * DURATION_ALARM_RATIO),
            },
          ],
        },
      },
    },
    {
      type: 'log',
      x: 0,
      y: 20,
      width: 24,
      height: 8,
      properties: {
        title: 'Cluster failures (the saved query; set the range to 24 h)',
        region,
        view: 'table',
        query: `SOURCE '\${${LOGICAL_IDS.logGroup}}' | ${CLUSTER_FAILURES_QUERY.replaceAll('\n', ' ')}`,
      },
    },
  ];
  return JSON.stringify({ start: '-PT24H', widgets });
}

// ---------------------------------------------------------------------------------------------------
// Everything
// ---------------------------------------------------------------------------------------------------

/** The fragments for a loaded file (pure). */
export function fragmentsFor(config: Config, inputs: PackagingInputs): PackagingFragments {
  const kinds = kindsInUse(config);
  // The sessions schedule runs as often as the file says: every grant's duration was checked against it.
  const s3IntervalMinutes = config.settings.s3IntervalMinutes;
  const scheduleSeconds = { ecr: inputs.ecrScheduleHours * 3600, s3: s3IntervalMinutes * 60 };
  const intervalOf = (kind: KindId): number => scheduleSeconds[KIND_SCHEDULES[kind]];
  const scheduleInUse = (schedule: 'ecr' | 's3') => kinds.some((kind) => KIND_SCHEDULES[kind] === schedule);

  const resources: Resources = {
    DurationAlarm: durationAlarm(inputs),
    ClusterFailuresQuery: {
      Type: 'AWS::Logs::QueryDefinition',
      Properties: {
        Name: sub(`\${AWS::StackName}/${QUERY_NAME_SUFFIX}`),
        LogGroupNames: [{ Ref: LOGICAL_IDS.logGroup }],
        QueryString: CLUSTER_FAILURES_QUERY,
      },
    },
    Dashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: sub(`\${AWS::StackName}`),
        DashboardBody: sub(dashboardBody(kinds, inputs)),
      },
    },
  };
  for (const kind of kinds) {
    const prefix = `${kind.charAt(0).toUpperCase()}${kind.slice(1)}`;
    resources[`${prefix}ValidityLowAlarm`] = validityAlarm(kind, intervalOf(kind), inputs);
    resources[`${prefix}TargetsFailingAlarm`] = failingAlarm(kind, intervalOf(kind), inputs);
  }
  if (kinds.length > 0) {
    // The longest interval in use: every window holds a run that reported the credentials.
    resources.ClusterCredentialExpiringAlarm = credentialExpiryAlarm(
      Math.max(...kinds.map(intervalOf)),
      inputs,
    );
  }
  if (inputs.perClusterAlarms) {
    for (const cluster of config.clusters) {
      resources[`ClusterFailing${clusterLogicalId(cluster.name)}Alarm`] = clusterFailingAlarm(cluster.name);
    }
  }
  if (inputs.alarmEmail !== undefined) {
    resources.AlarmEmailSubscription = {
      Type: 'AWS::SNS::Subscription',
      Properties: {
        TopicArn: { Ref: LOGICAL_IDS.alarmTopic },
        Protocol: 'email',
        Endpoint: inputs.alarmEmail,
      },
    };
  }

  const schedules = {
    ecr: { rate: rate(inputs.ecrScheduleHours, 'hour'), enabled: scheduleInUse('ecr') },
    s3: { rate: rate(s3IntervalMinutes, 'minute'), enabled: scheduleInUse('s3') },
  };
  const network = networkFragments(inputs.network ?? { mode: 'shared' });
  // Sharded: the schedules start the state machine, so the function's own schedules stay off.
  const shards = inputs.fanout
    ? (fanoutResources(inputs.fanout, {
        functionId: LOGICAL_IDS.function,
        alarmTopicId: LOGICAL_IDS.alarmTopic,
        timeoutSeconds: inputs.timeoutSeconds,
        schedules,
      }) as unknown as Resources)
    : {};
  return {
    iamStatements: [...functionRoleStatements(config), ...network.iamStatements],
    schedules: inputs.fanout
      ? {
          ecr: { ...schedules.ecr, enabled: false },
          s3: { ...schedules.s3, enabled: false },
        }
      : schedules,
    resources: {
      Resources: { ...resources, ...network.resources, ...shards },
      Outputs: {
        DashboardName: { Description: 'CloudWatch dashboard of the deliveries', Value: { Ref: 'Dashboard' } },
        ...network.outputs,
      },
      extensions: { [LOGICAL_IDS.function]: network.functionExtension as unknown as Cfn },
    },
  };
}

/**
 * Validates the params and the registration file and returns the fragments. `serviceDir` is the folder
 * holding serverless.yml, against which a relative `config` is read; messages name it as given.
 * @throws ConfigError (the CLI's messages) or PackagingError.
 */
export async function packagingFragments(
  raw: RawInputs,
  serviceDir: string,
): Promise<PackagingFragments & { readonly warnings: readonly string[] }> {
  const inputs = parseInputs(raw);
  const absolute = resolve(serviceDir, inputs.configFile);
  // Read through the path as given when it already points there, so messages match `cred-courier validate`.
  const file =
    isAbsolute(inputs.configFile) || resolve(inputs.configFile) === absolute
      ? inputs.configFile
      : relative(process.cwd(), absolute);
  const { config, warnings } = await loadConfigWithWarnings(file);
  // The same warnings `cred-courier validate` prints; the shim shows them once.
  return { ...fragmentsFor(config, inputs), warnings: warnings.map((warning) => `${file}: ${warning}`) };
}
