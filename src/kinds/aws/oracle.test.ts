/**
 * An independent oracle for AWS grants: @cloud-copilot/iam-simulate (a devDependency only tests import)
 * evaluates what the kind actually sends to AssumeRole (read back from a recording stand-in for STS) against
 * concrete requests, so the assertions are about AWS's evaluation logic, not the shape of the JSON.
 *
 * The session's permissions are the role's identity policies intersected with the session policies. The
 * session policies are the inline `Policy` plus the managed `PolicyArns`, evaluated together: a request is
 * allowed when one of them allows it and none denies it. So the managed documents (defined here as IAM
 * would store them) and the inline one are merged into the one session policy the simulator takes.
 */
import type { AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { recordingSts } from '../../../test/support/recording-sts.ts';
import type { AwsClients } from '../../aws/clients.ts';
import { parseConfig } from '../../config/load.ts';
import type { MintDeps } from '../kind.ts';
import { type AwsRequest, awsKind } from './index.ts';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const PRINCIPAL = `arn:aws:sts::${ACCOUNT}:assumed-role/cred-courier-app/cc-gke-prod-grant`;
const TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`;
const OTHER_TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/payments`;
const QUEUE = `arn:aws:sqs:${REGION}:${ACCOUNT}:orders-events`;
const OTHER_QUEUE = `arn:aws:sqs:${REGION}:${ACCOUNT}:payments-events`;
const MODEL = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0';
const OTHER_MODEL = 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-premier-v1:0';
const BUCKET_OBJECT = 'arn:aws:s3:::acme-reports/2026/q1.csv';

const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/** The role of the policyArns model: DynamoDB on both tables, SQS on one queue, Bedrock on one model. */
const NARROW_ROLE = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 'dynamodb:*', Resource: [TABLE, OTHER_TABLE] },
    { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE },
    { Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: MODEL },
  ],
};

/** Managed policies as IAM stores them, by ARN. */
const MANAGED: Record<string, unknown> = {
  [`arn:aws:iam::${ACCOUNT}:policy/orders-read`]: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query'], Resource: '*' }],
  },
  [`arn:aws:iam::${ACCOUNT}:policy/events-send`]: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: [QUEUE, OTHER_QUEUE] }],
  },
};

/** Mints the grant through the kind with a recording STS, returning the AssumeRole input it sent. */
async function assumeRoleInput(grantYaml: string): Promise<AssumeRoleCommandInput> {
  const config = parseConfig(
    `clusters:\n  - name: gke-prod\n    kubeconfigSecret: k\n    namespaces: { names: [app] }\n    aws:\n${grantYaml}`,
    'oracle.yaml',
  );
  const cluster = config.clusters[0];
  const grant = cluster?.aws?.[0];
  if (!cluster || !grant) throw new Error('the oracle grant did not load');
  const sent: AssumeRoleCommandInput[] = [];
  const aws = {
    sts: recordingSts(sent, 3600_000),
    callerIdentity: () => ({ send: async () => ({ $metadata: {}, Arn: PRINCIPAL }) }),
  } as unknown as AwsClients;
  const deps: MintDeps = {
    aws,
    now: () => new Date(),
    warn: () => undefined,
    info: () => undefined,
    registerSecrets: () => undefined,
  };
  const request: AwsRequest = { cluster: cluster.name, grant };
  await awsKind.mint(request, deps);
  const input = sent[0];
  if (!input) throw new Error('the kind sent no AssumeRole');
  return input;
}

/** The session policies of an AssumeRole input as one document: inline and managed statements together. */
function sessionPolicyOf(input: AssumeRoleCommandInput): unknown {
  const inline = input.Policy ? (JSON.parse(input.Policy) as { Statement: unknown[] }).Statement : [];
  const managed = (input.PolicyArns ?? []).flatMap(({ arn }) => {
    const document = MANAGED[arn ?? ''] as { Statement: unknown[] } | undefined;
    if (!document) throw new Error(`no managed policy ${arn} in the oracle`);
    return document.Statement;
  });
  // Neither: no session policy at all, and the session is the whole role.
  if (!input.Policy && !input.PolicyArns?.length) return undefined;
  return { Version: '2012-10-17', Statement: [...inline, ...managed] };
}

interface Case {
  readonly name: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  readonly allowed: boolean;
}

async function decide(rolePolicy: unknown, sessionPolicy: unknown, c: Case): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal: PRINCIPAL,
      action: c.action,
      resource: { resource: c.resource, accountId: c.resource.split(':')[4] || ACCOUNT },
      contextVariables: { 'aws:RequestedRegion': REGION, ...c.context },
    },
    identityPolicies: [{ name: 'role', policy: rolePolicy }],
    ...(sessionPolicy === undefined ? {} : { sessionPolicy }),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') {
    throw new Error(`iam-simulate could not evaluate ${c.name}: ${JSON.stringify(response.errors)}`);
  }
  if (response.resultType !== 'single') throw new Error(`${c.name}: expected one resource`);
  return response.overallResult;
}

const INLINE_GRANT = `      - secretName: orders
        roleArn: arn:aws:iam::${ACCOUNT}:role/cred-courier-app
        region: ${REGION}
        policy:
          Version: "2012-10-17"
          Statement:
            - Sid: ReadOrders
              Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:Query]
              Resource: ${TABLE}
            - Sid: SendEvents
              Effect: Allow
              Action: sqs:SendMessage
              Resource: ${QUEUE}
            - Sid: OnlyOwnKeys
              Effect: Deny
              Action: dynamodb:*
              Resource: ${TABLE}
              Condition:
                ForAnyValue:StringNotEquals:
                  dynamodb:LeadingKeys: [gke-prod]
`;

/** An allow-all role intersected with an inline policy: exactly what the policy allows. */
const INLINE_CASES: readonly Case[] = [
  {
    name: 'GetItem on the table, own key',
    action: 'dynamodb:GetItem',
    resource: TABLE,
    context: { 'dynamodb:LeadingKeys': ['gke-prod'] },
    allowed: true,
  },
  {
    name: 'Query on the table, own key',
    action: 'dynamodb:Query',
    resource: TABLE,
    context: { 'dynamodb:LeadingKeys': ['gke-prod'] },
    allowed: true,
  },
  {
    name: 'GetItem on the table, another key (Deny with a condition)',
    action: 'dynamodb:GetItem',
    resource: TABLE,
    context: { 'dynamodb:LeadingKeys': ['aks-staging'] },
    allowed: false,
  },
  {
    name: 'PutItem on the table (not in the policy)',
    action: 'dynamodb:PutItem',
    resource: TABLE,
    context: { 'dynamodb:LeadingKeys': ['gke-prod'] },
    allowed: false,
  },
  { name: 'DeleteTable on the table', action: 'dynamodb:DeleteTable', resource: TABLE, allowed: false },
  {
    name: 'GetItem on another table',
    action: 'dynamodb:GetItem',
    resource: OTHER_TABLE,
    context: { 'dynamodb:LeadingKeys': ['gke-prod'] },
    allowed: false,
  },
  { name: 'SendMessage to the queue', action: 'sqs:SendMessage', resource: QUEUE, allowed: true },
  { name: 'SendMessage to another queue', action: 'sqs:SendMessage', resource: OTHER_QUEUE, allowed: false },
  { name: 'ReceiveMessage from the queue', action: 'sqs:ReceiveMessage', resource: QUEUE, allowed: false },
  { name: 'DeleteQueue on the queue', action: 'sqs:DeleteQueue', resource: QUEUE, allowed: false },
  { name: 's3:GetObject anywhere', action: 's3:GetObject', resource: BUCKET_OBJECT, allowed: false },
  {
    name: 'iam:CreateUser',
    action: 'iam:CreateUser',
    resource: `arn:aws:iam::${ACCOUNT}:user/mallory`,
    allowed: false,
  },
  { name: 'bedrock:InvokeModel', action: 'bedrock:InvokeModel', resource: MODEL, allowed: false },
];

const ARNS_GRANT = `      - secretName: orders
        roleArn: arn:aws:iam::${ACCOUNT}:role/cred-courier-app
        region: ${REGION}
        policyArns:
          - arn:aws:iam::${ACCOUNT}:policy/orders-read
          - arn:aws:iam::${ACCOUNT}:policy/events-send
`;

/** A narrower role intersected with the union of two managed policies. */
const ARNS_CASES: readonly Case[] = [
  {
    name: 'GetItem on the table (role and orders-read)',
    action: 'dynamodb:GetItem',
    resource: TABLE,
    allowed: true,
  },
  {
    name: 'Query on the other table (role and orders-read)',
    action: 'dynamodb:Query',
    resource: OTHER_TABLE,
    allowed: true,
  },
  { name: 'PutItem on the table (role only)', action: 'dynamodb:PutItem', resource: TABLE, allowed: false },
  {
    name: 'GetItem on a table the role lacks (orders-read only)',
    action: 'dynamodb:GetItem',
    resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/audit`,
    allowed: false,
  },
  {
    name: 'SendMessage to the queue (role and events-send)',
    action: 'sqs:SendMessage',
    resource: QUEUE,
    allowed: true,
  },
  {
    name: 'SendMessage to the other queue (events-send only)',
    action: 'sqs:SendMessage',
    resource: OTHER_QUEUE,
    allowed: false,
  },
  { name: 'InvokeModel (role only)', action: 'bedrock:InvokeModel', resource: MODEL, allowed: false },
  { name: 'ReceiveMessage (neither)', action: 'sqs:ReceiveMessage', resource: QUEUE, allowed: false },
];

const NOT_ACTION_GRANT = `      - secretName: bedrock
        roleArn: arn:aws:iam::${ACCOUNT}:role/cred-courier-app
        region: ${REGION}
        policy: >-
          {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","NotAction":["iam:*","sts:*","organizations:*"],"Resource":"*"},
          {"Effect":"Deny","Action":"bedrock:InvokeModel","NotResource":"${MODEL}"},
          {"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}
`;

/** An allow-all role intersected with NotAction, NotResource and a condition. */
const NOT_ACTION_CASES: readonly Case[] = [
  {
    name: 'InvokeModel on the model (NotResource spares it)',
    action: 'bedrock:InvokeModel',
    resource: MODEL,
    allowed: true,
  },
  {
    name: 'InvokeModel on another model (Deny NotResource)',
    action: 'bedrock:InvokeModel',
    resource: OTHER_MODEL,
    allowed: false,
  },
  {
    name: 'GetItem anywhere (NotAction allows it)',
    action: 'dynamodb:GetItem',
    resource: OTHER_TABLE,
    allowed: true,
  },
  {
    name: 'iam:CreateUser (NotAction excludes it)',
    action: 'iam:CreateUser',
    resource: `arn:aws:iam::${ACCOUNT}:user/mallory`,
    allowed: false,
  },
  {
    name: 'iam:PassRole (NotAction excludes it)',
    action: 'iam:PassRole',
    resource: `arn:aws:iam::${ACCOUNT}:role/admin`,
    allowed: false,
  },
  {
    name: 'sts:AssumeRole (NotAction excludes it)',
    action: 'sts:AssumeRole',
    resource: `arn:aws:iam::${ACCOUNT}:role/admin`,
    allowed: false,
  },
  {
    name: 's3:GetObject from inside 10.0.0.0/8',
    action: 's3:GetObject',
    resource: BUCKET_OBJECT,
    context: { 'aws:SourceIp': '10.1.2.3' },
    allowed: true,
  },
  {
    name: 's3:GetObject from outside 10.0.0.0/8',
    action: 's3:GetObject',
    resource: BUCKET_OBJECT,
    context: { 'aws:SourceIp': '203.0.113.7' },
    allowed: false,
  },
  {
    name: 'sqs:SendMessage (NotAction allows it)',
    action: 'sqs:SendMessage',
    resource: OTHER_QUEUE,
    allowed: true,
  },
];

const MODELS = [
  {
    name: 'allow-all role ∩ inline session policy',
    grant: INLINE_GRANT,
    role: ALLOW_ALL,
    cases: INLINE_CASES,
  },
  {
    name: 'narrow role ∩ (union of two policyArns)',
    grant: ARNS_GRANT,
    role: NARROW_ROLE,
    cases: ARNS_CASES,
  },
  {
    name: 'allow-all role ∩ NotAction, NotResource and a condition',
    grant: NOT_ACTION_GRANT,
    role: ALLOW_ALL,
    cases: NOT_ACTION_CASES,
  },
];

describe('Oracle: AWS grants under @cloud-copilot/iam-simulate', () => {
  it('evaluates at least 30 requests, allowed and denied', () => {
    // Prepare
    const cases = MODELS.flatMap((model) => model.cases);

    // Act
    const allowed = cases.filter((c) => c.allowed).length;

    // Assess
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(allowed).toBeGreaterThan(0);
    expect(cases.length - allowed).toBeGreaterThan(0);
  });

  describe.each(MODELS)('$name', ({ grant, role, cases }) => {
    it('sends exactly the scope written in the file', async () => {
      // Prepare
      const written = grant.includes('policyArns');

      // Act
      const input = await assumeRoleInput(grant);

      // Assess
      expect(input.Policy === undefined).toBe(written);
      expect((input.PolicyArns ?? []).length).toBe(written ? 2 : 0);
    });

    it.each(cases)('$name: allowed $allowed', async (c) => {
      // Prepare
      const session = sessionPolicyOf(await assumeRoleInput(grant));

      // Act
      const result = await decide(role, session, c);

      // Assess
      expect(result === 'Allowed').toBe(c.allowed);
    });
  });

  it('a role allowing everything but the session policy allowing nothing it is asked for: denied', async () => {
    // Prepare
    const session = sessionPolicyOf(await assumeRoleInput(INLINE_GRANT));

    // Act
    const result = await decide(ALLOW_ALL, session, {
      name: 'kms:Decrypt',
      action: 'kms:Decrypt',
      resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      allowed: false,
    });

    // Assess
    expect(result).not.toBe('Allowed');
  });
});
