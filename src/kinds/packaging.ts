/** The kinds' parts of the function role, composed by `scripts/serverless-config.ts`. A new kind adds its part here. */
import type { Config } from '../config/types.ts';
import { awsIam } from './aws/iam.ts';
import { ecrIam } from './ecr/iam.ts';
import type { KindIam } from './iam.ts';
import { KIND_IDS, type KindId } from './kind.ts';
import { s3Iam } from './s3/iam.ts';
import { kindSecrets } from './secrets.ts';

export function kindsIam(config: Config): readonly KindIam[] {
  return [ecrIam(config), s3Iam(config), awsIam(config)];
}

/** How alarms and the dashboard name each kind's deliveries. */
export const KIND_TITLES: Readonly<Record<KindId, string>> = {
  ecr: 'ECR pull secrets',
  s3: 'S3 sessions',
  aws: 'AWS role sessions',
};

/**
 * The schedule each kind is delivered on: ECR tokens (12 h) on the ECR schedule, role sessions on the
 * sessions schedule (`settings.s3IntervalMinutes`, against which their durations are checked).
 */
export const KIND_SCHEDULES = { ecr: 'ecr', s3: 's3', aws: 's3' } as const satisfies Record<
  KindId,
  'ecr' | 's3'
>;

/** Kinds some cluster of the file uses, in `KIND_IDS` order. */
export function kindsInUse(config: Config): KindId[] {
  const used = new Set(
    config.clusters.flatMap((cluster) => kindSecrets(cluster).map((secret) => secret.kind)),
  );
  return KIND_IDS.filter((kind) => used.has(kind));
}
