/**
 * The IAM oracle (@cloud-copilot/iam-simulate) asked about one action of a role (a Secrets Manager
 * action of the function role, or any action of another role of the stack), with the template's `Fn::Sub` resources resolved for a test account and region.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';

export const ORACLE_ACCOUNT = '111122223333';
export const ORACLE_REGION = 'eu-west-1';

/** A template resource as IAM sees it in the test account and region. */
export function resolvedResource(value: unknown): string {
  return typeof value === 'object' && value !== null && 'Fn::Sub' in value
    ? String((value as { 'Fn::Sub': string })['Fn::Sub'])
        .replaceAll(`\${AWS::Partition}`, 'aws')
        .replaceAll(`\${AWS::Region}`, ORACLE_REGION)
        .replaceAll(`\${AWS::AccountId}`, ORACLE_ACCOUNT)
    : String(value);
}

/** `Allowed`, `ImplicitlyDenied` or `ExplicitlyDenied` for `secretsmanager:<action>` on secret `name`. */
export function secretsDecision(
  statements: readonly { readonly Resource?: unknown }[],
  action: string,
  name: string,
): Promise<string> {
  return policyDecision(
    statements,
    `secretsmanager:${action}`,
    `arn:aws:secretsmanager:${ORACLE_REGION}:${ORACLE_ACCOUNT}:secret:${name}`,
  );
}

/** The oracle's decision for `action` on `resource` by a role holding `statements` (resources resolved). */
export async function policyDecision(
  statements: readonly { readonly Resource?: unknown }[],
  action: string,
  resource: string,
): Promise<string> {
  const policy = {
    Version: '2012-10-17',
    Statement: statements.map((s) => ({ ...s, Resource: [s.Resource].flat().map(resolvedResource) })),
  };
  const response = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ORACLE_ACCOUNT}:role/cred-courier-dev`,
        action,
        resource: { resource, accountId: ORACLE_ACCOUNT },
        contextVariables: {},
      },
      identityPolicies: [{ name: 'role', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (response.resultType !== 'single') throw new Error(`iam-simulate: ${JSON.stringify(response)}`);
  return response.overallResult;
}
