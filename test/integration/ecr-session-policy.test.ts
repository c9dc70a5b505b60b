/**
 * What the ECR mint sends to STS, as moto received it (moto's request recorder): a registry with a
 * roleArn and no accountId is minted under a session policy too, pull-only, on the role's account.
 * test/unit/kinds/ecr/oracle.test.ts evaluates that policy; this shows it is on the wire.
 */
import { describe, expect, it } from 'vitest';
import { defaultAwsClients } from '../../src/aws/clients.ts';
import { ecrKind } from '../../src/kinds/ecr/index.ts';
import { recordedDuring, requestParams } from './moto-support.ts';
import { rig, skipReason, uniqueName, useRigAws } from './rig-context.ts';

describe.skipIf(!rig)(`ECR session policy on the wire${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();

  it('sends AssumeRole with a pull-only Policy on the role’s account for a registry without accountId', async () => {
    // Prepare
    const account = '444455556666';
    const roleArn = `arn:aws:iam::${account}:role/${uniqueName('tenant-b-pull')}`;
    const deps = {
      aws: defaultAwsClients(),
      now: () => new Date(),
      warn: () => {},
      info: () => {},
      registerSecrets: () => {},
    };

    // Act
    const { requests } = await recordedDuring(() => ecrKind.mint({ region: 'eu-west-1', roleArn }, deps));
    const recorded = requests
      .map(requestParams)
      .filter((params) => params.get('Action') === 'AssumeRole' && params.get('RoleArn') === roleArn);

    // Assess
    expect(recorded).toHaveLength(1);
    const policy = recorded[0]?.get('Policy');
    expect(policy, 'AssumeRole reached STS without a session policy').toBeTruthy();
    expect(JSON.parse(policy ?? '{}')).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
        {
          Effect: 'Allow',
          Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          Resource: [`arn:aws:ecr:eu-west-1:${account}:repository/*`],
        },
      ],
    });
  });
});
