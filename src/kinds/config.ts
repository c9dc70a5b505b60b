/**
 * The kinds' parts of the registration file, composed by `src/config/`: each kind's keys of a cluster
 * entry (and of `defaults`), and the checks that need the merged cluster. A new kind adds its part here.
 */
import { list } from '../config/fields.ts';
import type { KindCheckInput, LocatedCluster, Part, Problem } from '../config/problems.ts';
import { AwsGrantSchema, resolveAws } from './aws/config.ts';
import type { AwsGrant } from './aws/types.ts';
import { EcrSchema, resolveEcr, sharedOwnIdentityProblems } from './ecr/config.ts';
import type { EcrSpec } from './ecr/types.ts';
import { resolveS3, S3GrantSchema } from './s3/config.ts';
import type { S3Grant } from './s3/types.ts';

/** The kinds' keys of a cluster entry and of `defaults`, in the order the schema lists them. */
export const KIND_CLUSTER_OPTIONS = {
  ecr: EcrSchema.optional(),
  s3: list(S3GrantSchema, 'S3 grants').optional().meta({
    description:
      "S3 grants of the cluster. A cluster's own list replaces defaults.s3 (lists do not concatenate); [] turns inherited grants off.",
  }),
  aws: list(AwsGrantSchema, 'AWS grants').optional().meta({
    description:
      "Role-session grants for any AWS service (DynamoDB, SQS, Bedrock, …). A cluster's own list replaces defaults.aws (lists do not concatenate); [] turns inherited grants off.",
  }),
};

/** Each kind's part of a resolved cluster. */
export interface KindSpecs {
  readonly ecr?: EcrSpec;
  /** S3 grants; empty when the cluster receives no S3 credentials. */
  readonly s3: readonly S3Grant[];
  /** AWS grants; absent or empty when the cluster receives no AWS role sessions. */
  readonly aws?: readonly AwsGrant[];
}

/** Every kind's part of one cluster, merged with defaults and checked; no value when any has a problem. */
export function resolveKinds(input: KindCheckInput): Part<KindSpecs> {
  const ecr = resolveEcr(input);
  const s3 = resolveS3(input);
  const aws = resolveAws(input);
  const problems = [...ecr.problems, ...s3.problems, ...aws.problems];
  if (s3.value === undefined || aws.value === undefined || problems.length > 0) return { problems };
  return {
    value: {
      ...(ecr.value === undefined ? {} : { ecr: ecr.value }),
      s3: s3.value,
      ...(aws.value.length === 0 ? {} : { aws: aws.value }),
    },
    problems,
  };
}

/** The kinds' checks across clusters (a credential two clusters would share). */
export function fleetProblems(clusters: readonly LocatedCluster[]): Problem[] {
  return sharedOwnIdentityProblems(clusters);
}
