/**
 * The operator's policy for `check --remote`, under the independent IAM oracle
 * (@cloud-copilot/iam-simulate): it invokes the one function it names and can do nothing else with it,
 * nor with any other function.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { functionNameOf, remoteCheckPolicy } from '../../../src/aws/function-invoker.ts';

const ACCOUNT = '999988887777';
const OPERATOR = `arn:aws:iam::${ACCOUNT}:user/operator`;
const arnOf = (name: string, region = 'eu-west-1') => `arn:aws:lambda:${region}:${ACCOUNT}:function:${name}`;
const PROD = arnOf(functionNameOf('prod'));

async function decision(action: string, resource: string): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal: OPERATOR,
      action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: {},
    },
    identityPolicies: [{ name: 'remote-check', policy: remoteCheckPolicy(PROD) as never }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType !== 'single') throw new Error(`iam-simulate: ${JSON.stringify(response)}`);
  return response.overallResult;
}

describe('the operator policy of check --remote', () => {
  it('allows invoking the named function', async () => {
    expect(await decision('lambda:InvokeFunction', PROD)).toBe('Allowed');
  });

  it.each([
    ['lambda:InvokeFunction', arnOf(functionNameOf('dev'))],
    ['lambda:InvokeFunction', arnOf(functionNameOf('prod'), 'us-east-1')],
    ['lambda:InvokeFunction', `${PROD}:1`],
    ['lambda:InvokeFunctionUrl', PROD],
    ['lambda:UpdateFunctionCode', PROD],
    ['lambda:UpdateFunctionConfiguration', PROD],
    ['lambda:GetFunction', PROD],
    ['lambda:GetFunctionConfiguration', PROD],
    ['lambda:AddPermission', PROD],
    ['lambda:DeleteFunction', PROD],
  ])('denies %s on %s', async (action, resource) => {
    expect(await decision(action, resource)).toBe('ImplicitlyDenied');
  });
});
