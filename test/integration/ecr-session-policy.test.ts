/**
 * What the ECR mint sends to STS, as moto received it (moto's request recorder): a registry with a
 * roleArn and no accountId is minted under a session policy too, pull-only, on the role's account.
 * test/unit/kinds/ecr/oracle.test.ts evaluates that policy; this shows it is on the wire.
 */
import { describe, expect, it } from 'vitest';
import { defaultAwsClients } from '../../src/aws/clients.ts';
import { ecrKind } from '../../src/kinds/ecr/index.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

interface RecordedRequest {
  readonly url: string;
  readonly body?: string;
  readonly body_encoded?: boolean;
}

async function recorder(
  path: 'start-recording' | 'stop-recording' | 'download-recording' | 'reset-recording',
): Promise<string> {
  const response = await fetch(`${theRig().aws.endpoint}/moto-api/recorder/${path}`, {
    method: path === 'download-recording' ? 'GET' : 'POST',
  });
  expect(response.ok, `moto recorder ${path}: ${response.status}`).toBe(true);
  return response.text();
}

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
    await recorder('start-recording');
    let recording: string;
    try {
      await ecrKind.mint({ region: 'eu-west-1', roleArn }, deps);
    } finally {
      await recorder('stop-recording');
      recording = await recorder('download-recording');
      // The recording holds the session credentials moto issued: leave none of it in moto's file.
      await recorder('reset-recording');
    }
    const recorded = recording
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as RecordedRequest)
      .map(
        (entry) =>
          new URLSearchParams(
            entry.body_encoded
              ? Buffer.from(entry.body ?? '', 'base64').toString('utf8')
              : (entry.body ?? ''),
          ),
      )
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
