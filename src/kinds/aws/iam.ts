/** The AWS kind's part of the function role (package time, from the file alone). */
import type { Config } from '../../config/types.ts';
import type { KindIam } from '../iam.ts';

/**
 * `sts:AssumeRole` on every grant's role, and `sts:TagSession` only on the roles of grants with session
 * tags; the sessions' own calls are made as the sessions.
 */
export function awsIam(config: Config): KindIam {
  const grants = config.clusters.flatMap((cluster) => cluster.aws ?? []);
  return {
    roles: grants.map((grant) => grant.roleArn),
    taggedRoles: grants.filter((grant) => grant.sessionTags !== undefined).map((grant) => grant.roleArn),
    statements: [],
  };
}
