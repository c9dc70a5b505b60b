/**
 * Failure messages an operator can act on: every class says what to do, a non-Kubernetes server is
 * named as such, fetch's own failure keeps its cause, an unreadable AWS answer says the endpoint is
 * wrong, and a secret ARN is read in its own region.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { awsErrorSummary } from '../../../src/aws/assume-role.ts';
import { parseSecretArn, routedByArnRegion, type SecretsApi } from '../../../src/aws/clients.ts';
import { unreadableMessage } from '../../../src/aws/kubeconfig-store.ts';
import { classify, describeFailure, FAILURE_ADVICE, FAILURE_CLASSES } from '../../../src/report/classify.ts';

describe('what to do', () => {
  it('every failure class has advice, naming something to run, set or check', () => {
    for (const failureClass of Object.keys(FAILURE_CLASSES) as (keyof typeof FAILURE_CLASSES)[]) {
      expect(FAILURE_ADVICE[failureClass], failureClass).toMatch(/\w{4,}/);
    }
    expect(Object.keys(FAILURE_ADVICE).sort()).toEqual(Object.keys(FAILURE_CLASSES).sort());
  });
});

describe('a server that is not a Kubernetes apiserver', () => {
  it('a 404 whose body is no Kubernetes Status says so, and where to look', () => {
    const error = new ApiException(404, 'Unknown API Status Code!', '<html>Not Found</html>', {});
    expect(classify(error)).toBe('not-found');
    expect(describeFailure(error)).toMatch(/not a Kubernetes apiserver.*server URL/);
  });

  it("a 404 from an apiserver keeps the apiserver's reason", () => {
    const body = JSON.stringify({ kind: 'Status', code: 404, message: 'namespaces "x" not found' });
    const error = new ApiException(404, 'Unknown API Status Code!', body, {});
    expect(describeFailure(error)).toBe('HTTP 404: namespaces "x" not found');
  });

  it('an AWS answer the SDK cannot read names its status and the endpoint, not `Unknown: UnknownError`', () => {
    const error = Object.assign(new Error('UnknownError'), {
      name: 'Unknown',
      $metadata: { httpStatusCode: 404 },
    });
    const summary = awsErrorSummary(error);
    expect(summary).not.toContain('UnknownError');
    expect(summary).toMatch(/^HTTP 404 .*not the AWS service.*AWS_ENDPOINT_URL/);
  });
});

describe("fetch's own failures keep their cause", () => {
  it('a port fetch refuses: network, with the cause and what to do', () => {
    // The shape undici gives for a blocked port (seen with fetch('https://127.0.0.1:10080')).
    const error = new TypeError('fetch failed', { cause: new Error('bad port') });
    expect(classify(error)).toBe('network');
    expect(describeFailure(error)).toMatch(/^fetch failed: bad port \(.*another port\)$/);
  });

  it('a refused connection under fetch is `refused` with the socket message', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    const error = new TypeError('fetch failed', { cause });
    expect(classify(error)).toBe('refused');
    expect(describeFailure(error)).toBe('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:6443');
  });
});

describe('secrets by ARN', () => {
  const arn = 'arn:aws:secretsmanager:us-east-1:444455556666:secret:cred-courier/clusters/aks-staging-AbCdEf';

  it('an ARN gives its region and account; a name gives nothing', () => {
    expect(parseSecretArn(arn)).toEqual({
      partition: 'aws',
      region: 'us-east-1',
      accountId: '444455556666',
      name: 'cred-courier/clusters/aks-staging-AbCdEf',
    });
    expect(parseSecretArn('cred-courier/clusters/gke-prod')).toBeUndefined();
  });

  it('each command goes to the client of its ARN region; a name to the default client', async () => {
    const asked: (string | undefined)[] = [];
    const routed = routedByArnRegion((region): SecretsApi => {
      asked.push(region);
      return { send: async () => ({}) } as unknown as SecretsApi;
    });
    await routed.send(new GetSecretValueCommand({ SecretId: arn }));
    await routed.send(new GetSecretValueCommand({ SecretId: 'by-name' }));
    expect(asked).toEqual(['us-east-1', undefined]);
  });

  it("a refused read of another account's secret says what it needs", () => {
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    const message = unreadableMessage(arn, denied);
    expect(message).toContain('(read in us-east-1, account 444455556666)');
    expect(message).toMatch(/resource policy .*secretsmanager:GetSecretValue/);
    expect(message).toMatch(/customer-managed KMS key .*kms:Decrypt/);
    expect(unreadableMessage('by-name', denied)).not.toContain('resource policy');
  });
});
