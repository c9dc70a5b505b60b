/** The ECR kind's part of the function role (package time, from the file alone). */
import type { Config } from '../../config/types.ts';
import { type Cfn, type IamStatement, type KindIam, sub } from '../iam.ts';
import { ECR_PULL_ACTIONS } from './policy.ts';

/**
 * Registries with a `roleArn`: `sts:AssumeRole` on it. Only when some registry has no `roleArn` (its
 * token is minted as the function itself): `ecr:GetAuthorizationToken` (no resource-level permissions
 * exist, hence `*`) and the pull actions on that registry's repositories, since such a token can pull
 * exactly what the function's role can.
 */
export function ecrIam(config: Config): KindIam {
  const registries = config.clusters.flatMap((cluster) => cluster.ecr?.registries ?? []);
  const ownIdentity = registries.filter((registry) => registry.roleArn === undefined);
  const statements: IamStatement[] = [];
  if (ownIdentity.length > 0) {
    const repositories = new Map<string, Cfn>();
    for (const registry of ownIdentity) {
      const arn = sub(
        `arn:\${AWS::Partition}:ecr:${registry.region}:${registry.accountId ?? `\${AWS::AccountId}`}:repository/*`,
      );
      repositories.set(JSON.stringify(arn), arn);
    }
    statements.push(
      {
        Sid: 'MintEcrTokensAsTheFunction',
        Effect: 'Allow',
        Action: ['ecr:GetAuthorizationToken'],
        Resource: '*',
      },
      {
        Sid: 'PullWithTheFunctionsOwnTokens',
        Effect: 'Allow',
        Action: [...ECR_PULL_ACTIONS],
        // Sorted by JSON text: the template only changes when the file does.
        Resource: [...repositories.entries()]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([, arn]) => arn),
      },
    );
  }
  return {
    roles: registries.flatMap((registry) => (registry.roleArn ? [registry.roleArn] : [])),
    taggedRoles: [],
    statements,
  };
}
