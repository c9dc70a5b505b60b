/** The S3 kind's part of the function role (package time, from the file alone). */
import type { Config } from '../../config/types.ts';
import type { KindIam } from '../iam.ts';

/** `sts:AssumeRole` on every grant's role; the sessions' own S3 calls are made as the sessions. */
export function s3Iam(config: Config): KindIam {
  return {
    roles: config.clusters.flatMap((cluster) => cluster.s3.map((grant) => grant.roleArn)),
    taggedRoles: [],
    statements: [],
  };
}
