/**
 * Session policies for ECR minting (pure). A token minted under an assumed role carries that session's
 * permissions: the intersection of the role's policies and this session policy.
 */

/** The read-only actions a pull needs. */
export const ECR_PULL_ACTIONS = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
] as const;

/** The ARN partition of a region: `aws`, `aws-cn` or `aws-us-gov`. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The DNS suffix of a region's ECR endpoints. */
export function dnsSuffixOf(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/** The registry host of an account in a region, as Docker sees it. */
export function registryHost(accountId: string, region: string): string {
  return `${accountId}.dkr.ecr.${region}.${dnsSuffixOf(region)}`;
}

/**
 * ARN of a repository name or prefix. `team-a/*` and `team-a*` are prefixes; anything else is exact.
 * Config validation rejects `*` elsewhere, so no pattern here can widen beyond the account and region.
 */
export function repositoryArn(region: string, accountId: string, repository: string): string {
  return `arn:${partitionOf(region)}:ecr:${region}:${accountId}:repository/${repository}`;
}

/** The account of an IAM role ARN (`arn:aws:iam::111122223333:role/x` → `111122223333`). */
export function roleAccountId(roleArn: string): string {
  const account = /^arn:[^:]+:iam::(\d{12}):role\//.exec(roleArn)?.[1];
  // Config validation only lets role ARNs of this shape through; anything else is a caller's bug.
  if (account === undefined) throw new Error(`not an IAM role ARN: ${roleArn}`);
  return account;
}

export interface EcrPolicyInput {
  readonly region: string;
  /** The registry's account; without it, the role's own account. */
  readonly accountId?: string;
  readonly roleArn: string;
  readonly repositories?: readonly string[];
}

/**
 * The session policy every token minted under a role carries: pulls only, on the registry's account's
 * repositories in the region (the role's own account when the entry names none), or only on the listed
 * repositories. Whatever the role allows beyond that (pushes, other accounts) the token cannot do.
 */
export function ecrSessionPolicy({ region, accountId, roleArn, repositories }: EcrPolicyInput): string {
  const account = accountId ?? roleAccountId(roleArn);
  const names = repositories && repositories.length > 0 ? [...repositories].sort() : ['*'];
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      // GetAuthorizationToken has no resource-level permissions: "*" is the only form AWS accepts.
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      {
        Effect: 'Allow',
        Action: [...ECR_PULL_ACTIONS],
        Resource: names.map((name) => repositoryArn(region, account, name)),
      },
    ],
  });
}
