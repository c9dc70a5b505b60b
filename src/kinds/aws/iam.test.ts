/**
 * The aws kind's part of the function role at package time: sts:AssumeRole on exactly the grants' roles,
 * sts:TagSession only on the roles of grants with session tags — decided by the IAM oracle
 * (@cloud-copilot/iam-simulate) on the statements packaging derives — and an alarm pair for the kind on
 * the sessions schedule.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import {
  fragmentsFor,
  functionRoleStatements,
  type PackagingInputs,
} from '../../../scripts/serverless-config.ts';
import { parseConfig } from '../../config/load.ts';
import { KIND_SCHEDULES, kindsInUse } from '../packaging.ts';

const ACCOUNT = '111122223333';
const FUNCTION_ROLE = `arn:aws:sts::${ACCOUNT}:assumed-role/cred-courier-prod-eu-west-1-lambdaRole/distribute`;
const TAGGED = `arn:aws:iam::${ACCOUNT}:role/cred-courier-bedrock`;
const UNTAGGED = `arn:aws:iam::${ACCOUNT}:role/cred-courier-dynamodb`;
const OTHER = `arn:aws:iam::${ACCOUNT}:role/admin`;

const CONFIG = `clusters:
  - name: gke-prod
    kubeconfigSecret: cred-courier/clusters/gke-prod
    namespaces: { names: [app] }
    aws:
      - secretName: orders
        roleArn: ${UNTAGGED}
        region: eu-west-1
        policyArns: [arn:aws:iam::${ACCOUNT}:policy/orders-read]
      - secretName: bedrock
        roleArn: ${TAGGED}
        region: us-east-1
        fullRole: true
        sessionTags: { team: ml }
`;

async function decision(action: string, role: string): Promise<string> {
  // The statements on literal ARNs: the others name the stack's own resources through intrinsics.
  const statements = functionRoleStatements(parseConfig(CONFIG, 'clusters.yaml')).filter((s) =>
    [s.Resource].flat().every((resource) => typeof resource === 'string'),
  );
  const response = await runSimulation(
    {
      request: {
        principal: FUNCTION_ROLE,
        action,
        resource: { resource: role, accountId: ACCOUNT },
        contextVariables: {},
      },
      identityPolicies: [{ name: 'function', policy: { Version: '2012-10-17', Statement: statements } }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (response.resultType !== 'single') throw new Error(`unexpected ${JSON.stringify(response)}`);
  return response.overallResult;
}

describe('aws kind: the function role at package time', () => {
  it.each([
    { action: 'sts:AssumeRole', role: UNTAGGED, expected: 'Allowed' },
    { action: 'sts:AssumeRole', role: TAGGED, expected: 'Allowed' },
    { action: 'sts:AssumeRole', role: OTHER, expected: 'ImplicitlyDenied' },
    { action: 'sts:TagSession', role: TAGGED, expected: 'Allowed' },
    { action: 'sts:TagSession', role: UNTAGGED, expected: 'ImplicitlyDenied' },
    { action: 'sts:TagSession', role: OTHER, expected: 'ImplicitlyDenied' },
  ])('$action on $role: $expected', async ({ action, role, expected }) => {
    // Prepare
    const act = () => decision(action, role);

    // Act
    const result = await act();

    // Assess
    expect(result).toBe(expected);
  });

  it('lists the roles once, and no TagSession statement when no grant has tags', () => {
    // Prepare
    const untaggedOnly = CONFIG.replace('        sessionTags: { team: ml }\n', '');

    // Act
    const withTags = functionRoleStatements(parseConfig(CONFIG, 'clusters.yaml'));
    const withoutTags = functionRoleStatements(parseConfig(untaggedOnly, 'clusters.yaml'));

    // Assess
    expect(withTags.find((s) => s.Sid === 'AssumeMintingRoles')?.Resource).toEqual([TAGGED, UNTAGGED]);
    expect(withTags.find((s) => s.Sid === 'TagMintingSessions')).toEqual({
      Sid: 'TagMintingSessions',
      Effect: 'Allow',
      Action: ['sts:TagSession'],
      Resource: [TAGGED],
    });
    expect(withoutTags.map((s) => s.Sid)).not.toContain('TagMintingSessions');
  });

  it('is in use when a cluster has an aws grant, and is delivered on the sessions schedule', () => {
    // Prepare
    const config = parseConfig(CONFIG, 'clusters.yaml');

    // Act
    const kinds = kindsInUse(config);

    // Assess
    expect(kinds).toEqual(['aws']);
    expect(KIND_SCHEDULES.aws).toBe(KIND_SCHEDULES.s3);
  });

  it('has its validity and failing-targets alarms, and turns the sessions schedule on, when only AWS grants exist', () => {
    // Prepare
    const inputs: PackagingInputs = {
      configFile: 'clusters.yaml',
      ecrScheduleHours: 4,
      timeoutSeconds: 300,
      perClusterAlarms: false,
    };

    // Act
    const fragments = fragmentsFor(parseConfig(CONFIG, 'clusters.yaml'), inputs);

    // Assess
    const alarms = Object.keys(fragments.resources.Resources).filter((id) => id.endsWith('Alarm'));
    expect(alarms).toEqual(expect.arrayContaining(['AwsValidityLowAlarm', 'AwsTargetsFailingAlarm']));
    expect(alarms).not.toContain('S3ValidityLowAlarm');
    expect(fragments.schedules.s3.enabled).toBe(true);
    expect(fragments.schedules.ecr.enabled).toBe(false);
  });
});
