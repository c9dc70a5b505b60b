/**
 * `sls package` with the optional params (per-cluster alarms, an alarm email, another ECR interval), with
 * a registration file that uses ECR only, and `npm run package` with another S3 interval in the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validityPeriodSeconds } from '../../../scripts/serverless-config.ts';
import {
  npmRunPackage,
  type ProjectCopy,
  projectCopy,
  readTemplate,
  resourcesOfType,
  SAMPLE_CONFIG,
  SLS_TIMEOUT_MS,
  slsPackage,
} from './sls.ts';

let project: ProjectCopy;

beforeAll(() => {
  project = projectCopy();
});

afterAll(() => project?.remove());

const ECR_ONLY = `clusters:
  - name: gke-prod
    kubeconfigSecret: cred-courier/clusters/gke-prod
    namespaces:
      names: [app]
    ecr:
      secretName: ecr-pull
      registries:
        - accountId: "111122223333"
          region: eu-west-1
          roleArn: arn:aws:iam::111122223333:role/cred-courier-ecr-pull
`;

describe('sls package with options', () => {
  it(
    'adds one failure alarm per cluster, an email subscription, and follows the ECR interval',
    async () => {
      const config = project.write('sample.yaml', SAMPLE_CONFIG);
      const result = await slsPackage(project.dir, {
        config,
        perClusterAlarms: 'true',
        alarmEmail: 'ops@example.com',
        ecrScheduleHours: '1',
      });
      expect(result.code, result.output).toBe(0);
      const template = readTemplate(project.dir);

      const perCluster = resourcesOfType(template, 'AWS::CloudWatch::Alarm').filter(([id]) =>
        id.startsWith('ClusterFailing'),
      );
      expect(perCluster).toHaveLength(3);
      const queries = perCluster.map(([, alarm]) => JSON.stringify(alarm.Properties.Metrics));
      for (const cluster of ['gke-prod', 'aks-staging', 'k3s-edge']) {
        expect(queries.filter((query) => query.includes(`WHERE Cluster = '${cluster}'`))).toHaveLength(1);
      }
      for (const [, alarm] of perCluster) {
        expect(alarm.Properties).toMatchObject({
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          AlarmActions: [{ Ref: 'AlarmTopic' }],
        });
      }

      expect(resourcesOfType(template, 'AWS::SNS::Subscription').map(([, s]) => s.Properties)).toEqual([
        { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: 'ops@example.com' },
      ]);

      const rates = resourcesOfType(template, 'AWS::Events::Rule').map(
        ([, r]) => r.Properties.ScheduleExpression,
      );
      expect(rates).toContain('rate(1 hour)');
      const ecrValidity = resourcesOfType(template, 'AWS::CloudWatch::Alarm').find(
        ([id]) => id === 'EcrValidityLowAlarm',
      );
      expect(Number(ecrValidity?.[1].Properties.Period)).toBeGreaterThan(3600);
      expect(Number(ecrValidity?.[1].Properties.Period)).toBeLessThanOrEqual(3600 + 900);
    },
    SLS_TIMEOUT_MS,
  );

  it(
    'disables the S3 schedule and leaves out its alarm when no cluster uses S3',
    async () => {
      const config = project.write('ecr-only.yaml', ECR_ONLY);
      const result = await slsPackage(project.dir, { config });
      expect(result.code, result.output).toBe(0);
      const template = readTemplate(project.dir);

      const states = Object.fromEntries(
        resourcesOfType(template, 'AWS::Events::Rule').map(([, rule]) => [
          JSON.parse(String((rule.Properties.Targets as { Input: string }[])[0]?.Input)).kinds[0],
          rule.Properties.State,
        ]),
      );
      expect(states).toEqual({ ecr: 'ENABLED', s3: 'DISABLED' });
      const ids = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([id]) => id);
      expect(ids).toContain('EcrValidityLowAlarm');
      expect(ids).not.toContain('S3ValidityLowAlarm');

      // Every registry has a role: the function never mints as itself, so no ECR action at all.
      const policies = (template.Resources.IamRoleLambdaExecution?.Properties.Policies ?? []) as {
        PolicyDocument: { Statement: { Action: string | string[] }[] };
      }[];
      const statements = policies[0]?.PolicyDocument.Statement;
      const actions = (statements ?? []).flatMap((s) => [s.Action].flat());
      expect(actions.filter((action) => action.startsWith('ecr:'))).toEqual([]);
      expect(actions).toContain('sts:AssumeRole');
    },
    SLS_TIMEOUT_MS,
  );

  it(
    'npm run package bundles the handler once, runs the S3 schedule every settings.s3IntervalMinutes, and warns like validate',
    async () => {
      const idle =
        '  - name: idle\n    kubeconfigSecret: cred-courier/clusters/idle\n    namespaces: { names: [app] }\n';
      const text = `${SAMPLE_CONFIG.replace('s3IntervalMinutes: 15', 's3IntervalMinutes: 10')}${idle}`;
      const config = project.write('every-10.yaml', text);
      const result = await npmRunPackage(project.dir, { config });
      expect(result.code, result.output).toBe(0);
      const idleLine = text.split('\n').indexOf('  - name: idle') + 1;
      expect(result.output).toContain(
        `warning: ${config}: clusters[3] (line ${idleLine}): cluster "idle" receives nothing (`,
      );
      // scripts/build.ts prints `…/distribute.mjs: N KiB`, the packaging plugin `built …/distribute.mjs (N KiB)`.
      expect(result.output.match(/distribute\.mjs\W.*KiB/g) ?? []).toHaveLength(1);
      const template = readTemplate(project.dir);

      const rates = resourcesOfType(template, 'AWS::Events::Rule').map(
        ([, r]) => r.Properties.ScheduleExpression,
      );
      expect(rates.sort()).toEqual(['rate(10 minutes)', 'rate(4 hours)']);
      const s3Validity = template.Resources.S3ValidityLowAlarm;
      // The S3 validity alarm watches the same interval (plus slack for the 300 s timeout).
      expect(s3Validity?.Properties.Period).toBe(validityPeriodSeconds(600, 300));
    },
    SLS_TIMEOUT_MS,
  );
});
