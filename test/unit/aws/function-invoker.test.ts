/**
 * The remote check's call of the function through a stand-in of Lambda's Invoke API (see
 * test/support/lambda-endpoint.ts): the event sent, the payload returned, and a message saying what to
 * do for each way Lambda answers with a failure.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionNameOf, invokeFunction } from '../../../src/aws/function-invoker.ts';
import { remoteCheck } from '../../../src/cli/commands/check.ts';
import { type LambdaEndpoint, type LambdaReply, startLambdaEndpoint } from '../../support/lambda-endpoint.ts';

const HEALTHY = {
  ok: true,
  clusters: [
    {
      cluster: 'gke-prod',
      ok: true,
      items: [
        { check: 'reachability', status: 'ok', detail: 'https://34.1.2.3 answers (Kubernetes v1.35.0)' },
      ],
      permissions: [],
    },
  ],
};

/** Replies by function name: each name is one case. */
const REPLIES: Record<string, LambdaReply> = {
  'cc-healthy': { body: HEALTHY },
  'cc-missing': {
    status: 404,
    headers: { 'x-amzn-errortype': 'ResourceNotFoundException' },
    body: {
      Type: 'User',
      Message: 'Function not found: arn:aws:lambda:eu-west-1:123456789012:function:cc-missing',
    },
  },
  'cc-denied': {
    status: 403,
    headers: { 'x-amzn-errortype': 'AccessDeniedException' },
    body: {
      Message:
        'User: arn:aws:iam::123456789012:user/op is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:123456789012:function:cc-denied because no identity-based policy allows the lambda:InvokeFunction action',
    },
  },
  'cc-too-large': {
    headers: { 'x-amz-function-error': 'Unhandled' },
    body: {
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    },
  },
  'cc-timeout': {
    headers: { 'x-amz-function-error': 'Unhandled' },
    body: {
      errorType: 'Sandbox.Timedout',
      errorMessage: 'RequestId: x Error: Task timed out after 300.00 seconds',
    },
  },
  'cc-refused': {
    headers: { 'x-amz-function-error': 'Unhandled' },
    body: {
      errorType: 'CredCourierError',
      errorMessage: 'clusters.yaml: no cluster named nope (known: gke-prod)',
    },
  },
  'cc-old': { body: { clusters: 1, clustersFailed: 0, secretsDelivered: 2, secretsFailed: 0 } },
  'cc-other': { body: { hello: 'world' } },
};

describe('invokeFunction through a stand-in Lambda Invoke API', () => {
  let endpoint: LambdaEndpoint;
  const saved = { ...process.env };

  beforeAll(async () => {
    endpoint = await startLambdaEndpoint((name) => REPLIES[name] ?? { status: 500, body: {} });
    process.env.AWS_ENDPOINT_URL_LAMBDA = endpoint.url;
    process.env.AWS_REGION = 'eu-west-1';
    // Generated: the stand-in accepts any signature.
    process.env.AWS_ACCESS_KEY_ID = `TEST${randomBytes(8).toString('hex').toUpperCase()}`;
    process.env.AWS_SECRET_ACCESS_KEY = randomBytes(20).toString('hex');
    delete process.env.AWS_PROFILE;
  });
  afterAll(async () => {
    process.env = saved;
    await endpoint.close();
  });

  it('sends the check event synchronously and returns the payload as a check report', async () => {
    const report = await remoteCheck('cc-healthy', ['gke-prod']);
    const all = await remoteCheck('cc-healthy', []);

    expect(report).toEqual(HEALTHY);
    expect(all).toEqual(HEALTHY);
    expect(endpoint.invocations.slice(-2)).toEqual([
      { functionName: 'cc-healthy', event: { check: { clusters: ['gke-prod'] } } },
      { functionName: 'cc-healthy', event: { check: {} } },
    ]);
  });

  it.each([
    [
      'cc-missing',
      /^invoking cc-missing: no such function .*Function not found.*: deploy the stage .*--stage or --function/,
    ],
    [
      'cc-denied',
      /^invoking cc-denied: not allowed .*: your identity needs lambda:InvokeFunction on the function, e\.g\. the statement \{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:123456789012:function:cc-denied"\}; check AWS_PROFILE/,
    ],
    [
      'cc-too-large',
      /^cc-too-large failed: its answer is larger than Lambda's 6 MB response limit .*: name fewer clusters/,
    ],
    ['cc-timeout', /^cc-timeout failed: it timed out .*: name fewer clusters .*\/aws\/lambda\/cc-timeout/],
    ['cc-refused', /^cc-refused failed: CredCourierError: clusters\.yaml: no cluster named nope/],
  ])('%s: says what went wrong and what to do', async (name, message) => {
    await expect(invokeFunction({ functionName: name, event: { check: {} } })).rejects.toThrow(message);
  });

  it('says a function without check mode ran a delivery, and refuses any other payload', async () => {
    await expect(remoteCheck('cc-old', [])).rejects.toThrow(
      /^function cc-old ran a delivery instead of a check: its deployed version has no check mode\. Deploy the stage again/,
    );
    await expect(remoteCheck('cc-other', [])).rejects.toThrow(
      /^function cc-other answered with something that is not a check report \(ok: .*\): deploy the stage again/,
    );
  });

  it('says when no region is set', async () => {
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      await expect(invokeFunction({ functionName: 'cc-healthy', event: {} })).rejects.toThrow(
        /no AWS region: set AWS_REGION/,
      );
    } finally {
      process.env.AWS_REGION = 'eu-west-1';
    }
  });

  it('names the stage function as the framework does', () => {
    expect(functionNameOf('prod')).toBe('cred-courier-prod-distribute');
  });
});
