/**
 * `sls package` refuses an invalid registration file with the CLI's path-pointing messages, and refuses
 * params that are out of range or no longer exist, before anything is built; cred-courier's message is
 * the first line printed, not buried under the framework's variable-resolution report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProjectCopy, projectCopy, SAMPLE_CONFIG, SLS_TIMEOUT_MS, slsPackage } from './sls.ts';

let project: ProjectCopy;

beforeAll(() => {
  project = projectCopy();
});

afterAll(() => project?.remove());

/** The 1-based line of the first occurrence of `text` in `yaml`. */
function lineOf(yaml: string, text: string): number {
  const index = yaml.indexOf(text);
  if (index < 0) throw new Error(`not in the sample: ${text}`);
  return yaml.slice(0, index).split('\n').length;
}

describe('sls package refuses', () => {
  it(
    'an invalid registration file, with the path and line of every problem',
    async () => {
      const broken = SAMPLE_CONFIG.replace('region: us-east-1', 'region: us-east').replace(
        'name: k3s-edge',
        'name: K3s_Edge',
      );
      const config = project.write('broken.yaml', broken);
      const result = await slsPackage(project.dir, { config });
      expect(result.code).not.toBe(0);
      expect(result.output.split('\n')[0]).toBe(`error: ${config}: 2 problems:`);
      expect(result.output).toContain(
        `clusters[1].ecr.registries[0].region (line ${lineOf(broken, 'region: us-east\n')}): expected an AWS region such as eu-west-1, got "us-east"`,
      );
      expect(result.output).toContain(
        `clusters[2].name (line ${lineOf(broken, 'name: K3s_Edge')}): expected a DNS label`,
      );
      // Reported once, and nothing of the framework's own around it.
      expect(result.output.split('got "us-east"').length - 1).toBe(1);
      expect(result.output).not.toContain('Variables resolution errored');
      expect(result.output).not.toContain('not resolved');
      expect(result.output).not.toContain('Service packaged');
    },
    SLS_TIMEOUT_MS,
  );

  it(
    'a registration file that cannot be read',
    async () => {
      const result = await slsPackage(project.dir, { config: 'config/missing.yaml' });
      expect(result.code).not.toBe(0);
      expect(result.output.split('\n')[0]).toBe(
        'error: config/missing.yaml: cannot read the registration file (ENOENT)',
      );
    },
    SLS_TIMEOUT_MS,
  );

  it(
    'the retired param s3ScheduleMinutes, saying where the S3 interval is set now',
    async () => {
      const config = project.write('sample.yaml', SAMPLE_CONFIG);
      const result = await slsPackage(project.dir, { config, s3ScheduleMinutes: '20' });
      expect(result.code).not.toBe(0);
      expect(result.output.split('\n')[0]).toBe(
        'error: param s3ScheduleMinutes ("20") is no longer accepted: the S3 schedule now runs every ' +
          "settings.s3IntervalMinutes of the registration file (the interval every S3 grant's durationSeconds " +
          'is checked against): set it there, and drop --param s3ScheduleMinutes',
      );
    },
    SLS_TIMEOUT_MS,
  );

  it(
    'params out of range, all of them at once',
    async () => {
      const config = project.write('sample.yaml', SAMPLE_CONFIG);
      const result = await slsPackage(project.dir, {
        config,
        ecrScheduleHours: '12',
        perClusterAlarms: 'yes',
        alarmEmail: 'not-an-address',
      });
      expect(result.code).not.toBe(0);
      expect(result.output.split('\n')[0]).toBe('error: 3 problems:');
      expect(result.output).toContain('param ecrScheduleHours: expected an integer from 1 to 7');
      expect(result.output).toContain('param perClusterAlarms: expected true or false, got "yes"');
      expect(result.output).toContain('param alarmEmail: expected an email address or nothing');
    },
    SLS_TIMEOUT_MS,
  );
});
