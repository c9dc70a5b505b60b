/**
 * deploy/aws-role-trust-policy.json under the IAM oracle (@cloud-copilot/iam-simulate), as the trust policy
 * of a grant's role: only the function's role may assume it, only with the ExternalId, and may tag the
 * session only with the keys the trust policy lists.
 */
import { readFileSync } from 'node:fs';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';

const TRUST = JSON.parse(
  readFileSync(new URL('../../../deploy/aws-role-trust-policy.json', import.meta.url), 'utf8'),
) as unknown;
const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/cred-courier-bedrock`;
const FUNCTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/cred-courier-prod-eu-west-1-lambdaRole`;
const FUNCTION_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/cred-courier-prod-eu-west-1-lambdaRole/distribute`;
const OTHER_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/developer/alice`;

/** The caller's own policy allows both actions on the role: the trust policy alone decides. */
const CALLER_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: ROLE }],
};

async function decide(
  principal: string,
  principalArn: string,
  action: string,
  context: Record<string, string | string[]>,
): Promise<string> {
  const response = await runSimulation(
    {
      request: {
        principal,
        action,
        resource: { resource: ROLE, accountId: ACCOUNT },
        contextVariables: { 'aws:PrincipalArn': principalArn, ...context },
      },
      identityPolicies: [{ name: 'caller', policy: CALLER_POLICY }],
      resourcePolicy: TRUST,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (response.resultType !== 'single') throw new Error(`unexpected ${JSON.stringify(response)}`);
  return response.overallResult;
}

interface TrustCase {
  readonly name: string;
  readonly who: 'function' | 'other';
  readonly action: string;
  readonly context: Record<string, string | string[]>;
  readonly allowed: boolean;
}

describe('deploy/aws-role-trust-policy.json', () => {
  it.each<TrustCase>([
    {
      name: 'the function, with the ExternalId',
      who: 'function',
      action: 'sts:AssumeRole',
      context: { 'sts:ExternalId': 'cred-courier-gke-prod' },
      allowed: true,
    },
    {
      name: 'the function, without the ExternalId',
      who: 'function',
      action: 'sts:AssumeRole',
      context: {},
      allowed: false,
    },
    {
      name: 'the function, another ExternalId',
      who: 'function',
      action: 'sts:AssumeRole',
      context: { 'sts:ExternalId': 'guess' },
      allowed: false,
    },
    {
      name: 'another role, with the ExternalId',
      who: 'other',
      action: 'sts:AssumeRole',
      context: { 'sts:ExternalId': 'cred-courier-gke-prod' },
      allowed: false,
    },
    {
      name: 'the function tagging team and cluster',
      who: 'function',
      action: 'sts:TagSession',
      context: { 'aws:TagKeys': ['team', 'cluster'] },
      allowed: true,
    },
    {
      name: 'the function tagging another key',
      who: 'function',
      action: 'sts:TagSession',
      context: { 'aws:TagKeys': ['team', 'admin'] },
      allowed: false,
    },
    {
      name: 'another role tagging team',
      who: 'other',
      action: 'sts:TagSession',
      context: { 'aws:TagKeys': ['team'] },
      allowed: false,
    },
  ])('$name: allowed $allowed', async ({ who, action, context, allowed }) => {
    // Prepare
    const [principal, principalArn] =
      who === 'function'
        ? [FUNCTION_SESSION, FUNCTION_ROLE]
        : [OTHER_SESSION, `arn:aws:iam::${ACCOUNT}:role/developer`];

    // Act
    const result = await decide(principal, principalArn, action, context);

    // Assess
    expect(result === 'Allowed').toBe(allowed);
  });
});
