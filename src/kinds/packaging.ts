/** The kinds' parts of the function role, composed by `scripts/serverless-config.ts`. A new kind adds its part here. */
import type { Config } from '../config/types.ts';
import { ecrIam } from './ecr/iam.ts';
import type { KindIam } from './iam.ts';
import { s3Iam } from './s3/iam.ts';

export function kindsIam(config: Config): readonly KindIam[] {
  return [ecrIam(config), s3Iam(config)];
}
