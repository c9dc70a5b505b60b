/**
 * The `ecr` part of the registration file: its schema (as written) and the checks that need the merged
 * cluster (defaults applied) or the whole fleet.
 */
import { z } from 'zod';
import {
  ACCOUNT_ID,
  AWS_REGION,
  dnsSubdomain,
  expecting,
  type IssueInput,
  list,
  mapping,
  nonEmptyList,
  patterned,
  quote,
  ROLE_ARN,
} from '../../config/fields.ts';
import {
  formatPath,
  type KindCheckInput,
  type LocatedCluster,
  mergeShallow,
  origin,
  type Part,
  type Path,
  type Problem,
} from '../../config/problems.ts';
import type { ClusterEntry } from '../../config/schema.ts';
import type { EcrRegistry, EcrSpec } from './types.ts';

const DEFAULT_SERVICE_ACCOUNTS: readonly string[] = ['default'];

/** An ECR repository name, or a prefix of one ending in `*`. */
const REPOSITORY = /^[a-z0-9][a-z0-9._/-]{0,255}\*?$/;

/** Repository entries: `*` is only meaningful as a trailing prefix wildcard, so say so precisely. */
function repositoryMessage(issue: IssueInput): string {
  const value = issue.input;
  const what = 'an ECR repository name (2-256 of a-z 0-9 . _ / -) or a prefix ending in *';
  if (typeof value === 'string' && value.slice(0, -1).includes('*')) {
    return `expected ${what}; '*' is only allowed as the last character, got ${quote(value)}`;
  }
  return expecting(what)(issue);
}

/** YAML reads bare digits as a number (dropping leading zeros), so tell the user to quote them. */
function accountIdMessage(issue: IssueInput): string {
  if (typeof issue.input === 'number') {
    return `expected a 12-digit AWS account ID as a quoted string, got number ${issue.input}; write it in quotes (accountId: "111122223333") because YAML reads bare digits as a number and drops leading zeros`;
  }
  return expecting('a 12-digit AWS account ID such as "111122223333"')(issue);
}

const RegistrySchema = mapping({
  accountId: z
    .string({ error: accountIdMessage })
    .regex(ACCOUNT_ID)
    .optional()
    .meta({
      description:
        '12-digit account of the registry, as a quoted string. Absent: the account of the identity that mints the token.',
      examples: ['111122223333'],
    }),
  region: patterned(AWS_REGION, 'an AWS region such as eu-west-1').meta({
    description: 'AWS region of the registry.',
    examples: ['eu-west-1', 'us-east-1'],
  }),
  roleArn: patterned(ROLE_ARN, 'an IAM role ARN such as arn:aws:iam::111122223333:role/ecr-pull')
    .optional()
    .meta({
      description:
        'Role assumed to mint the token; its policy is the ceiling of what the token can pull. Required when repositories is set.',
      examples: ['arn:aws:iam::111122223333:role/ecr-pull'],
    }),
}).meta({
  id: 'EcrRegistry',
  title: 'ECR registry',
  description: 'One ECR registry the cluster pulls from.',
});

export const EcrSchema = mapping({
  secretName: dnsSubdomain('a Secret name')
    .optional()
    .meta({
      description: 'Name of the kubernetes.io/dockerconfigjson Secret written into each selected namespace.',
      examples: ['ecr-pull'],
    }),
  registries: nonEmptyList(RegistrySchema, 'registries', 'registry').optional().meta({
    description: 'Registries the pull Secret holds credentials for (at least one).',
  }),
  repositories: list(
    z
      .string({ error: repositoryMessage })
      .min(2, { abort: true })
      .max(256, { abort: true })
      .regex(REPOSITORY),
    'ECR repository names or prefixes',
  )
    .optional()
    .meta({
      description:
        'Repositories the cluster may pull (app/api), or prefixes ending in * (team-a/*). Absent: all. When set, every registry needs roleArn and accountId: a session policy can only narrow an assumed role, and repository ARNs need the account.',
      examples: [['app/api', 'team-a/*']],
    }),
  serviceAccounts: list(dnsSubdomain('a ServiceAccount name'), 'ServiceAccount names')
    .optional()
    .meta({
      description:
        'ServiceAccounts whose imagePullSecrets get the Secret appended in every selected namespace.',
      default: ['default'],
    }),
}).meta({
  id: 'Ecr',
  title: 'ECR pull secret',
  description: 'The ECR pull Secret written into the cluster. Merged key by key over defaults.ecr.',
});

export type RegistryEntry = z.output<typeof RegistrySchema>;
export type EcrEntry = z.output<typeof EcrSchema>;

const OWN_ACCOUNT = "the function's own account";

/**
 * Registries without `roleArn` are minted as the function itself: one token per region, shared by every
 * cluster with such a registry there, and it pulls from every account the function's role may pull
 * from (the union of those registries). Clusters sharing it must list the same accounts, or one
 * cluster's pull secret would reach the other's images.
 */
export function sharedOwnIdentityProblems(clusters: readonly LocatedCluster[]): Problem[] {
  const firstByRegion = new Map<string, { cluster: LocatedCluster; accounts: string }>();
  const problems: Problem[] = [];
  for (const cluster of clusters) {
    const byRegion = new Map<string, { accounts: Set<string>; registry: number }>();
    (cluster.spec.ecr?.registries ?? []).forEach((registry, index) => {
      if (registry.roleArn !== undefined) return;
      const entry = byRegion.get(registry.region) ?? { accounts: new Set<string>(), registry: index };
      entry.accounts.add(registry.accountId ?? OWN_ACCOUNT);
      byRegion.set(registry.region, entry);
    });
    for (const [region, { accounts, registry }] of byRegion) {
      const listed = [...accounts].sort().join(', ');
      const first = firstByRegion.get(region);
      if (first === undefined) {
        firstByRegion.set(region, { cluster, accounts: listed });
        continue;
      }
      if (first.accounts === listed) continue;
      const own = cluster.entry.ecr?.registries !== undefined;
      const at = ['clusters', cluster.index, 'ecr', 'registries', registry];
      const other = `${quote(first.cluster.spec.name)} (clusters[${first.cluster.index}])`;
      problems.push({
        path: own ? at : ['clusters', cluster.index, 'ecr'],
        message:
          `${own ? '' : `registries[${registry}] (from defaults.ecr.registries): `}cluster ${quote(cluster.spec.name)} ` +
          `would share one ECR token minted as the function itself in ${region} (no roleArn) with cluster ${other}, ` +
          `but they list different accounts (${quote(first.cluster.spec.name)}: ${first.accounts}; ` +
          `${quote(cluster.spec.name)}: ${listed}), and that token pulls from every account either lists: ` +
          'give these registries a roleArn (a pull role per tenant), or list the same accounts',
      });
    }
  }
  return problems;
}

/** `ecr` is optional (a cluster may use no ECR), but once present it must be complete after merging. */
export function resolveEcr({ cluster, defaults, at }: KindCheckInput): Part<EcrSpec> {
  const merged = mergeShallow(defaults?.ecr, cluster.ecr);
  if (merged === undefined) return { problems: [] };
  const ecrPath = [...at, 'ecr'];
  const problems: Problem[] = [];
  if (merged.secretName === undefined) {
    problems.push({
      path: [...ecrPath, 'secretName'],
      message: 'missing (expected the pull Secret name, set on the cluster or in defaults.ecr)',
    });
  }
  if (merged.registries === undefined) {
    problems.push({
      path: [...ecrPath, 'registries'],
      message: 'missing (expected at least one registry, set on the cluster or in defaults.ecr)',
    });
  }
  const registries = merged.registries ?? [];
  // Inherited duplicates are reported once, at defaults, rather than once per inheriting cluster.
  const registriesOwner = cluster.ecr?.registries === undefined ? ['defaults', 'ecr'] : ecrPath;
  problems.push(...duplicateRegistryProblems(registries, registriesOwner));
  if (merged.repositories !== undefined) {
    problems.push(...scopedRegistryProblems(registries, ecrPath, cluster));
  }
  if (problems.length > 0 || merged.secretName === undefined) return { problems };
  const value: EcrSpec = {
    secretName: merged.secretName,
    registries: registries.map(toRegistry),
    ...(merged.repositories === undefined ? {} : { repositories: [...merged.repositories] }),
    serviceAccounts: [...(merged.serviceAccounts ?? DEFAULT_SERVICE_ACCOUNTS)],
  };
  return { value, problems };
}

function toRegistry(entry: RegistryEntry): EcrRegistry {
  return {
    ...(entry.accountId === undefined ? {} : { accountId: entry.accountId }),
    region: entry.region,
    ...(entry.roleArn === undefined ? {} : { roleArn: entry.roleArn }),
  };
}

/** The same registry twice would mint the same token twice and write a redundant auth entry. */
function duplicateRegistryProblems(registries: readonly RegistryEntry[], ecrPath: Path): Problem[] {
  const seen = new Map<string, number>();
  const problems: Problem[] = [];
  registries.forEach((registry, index) => {
    const key = JSON.stringify([registry.accountId ?? null, registry.region, registry.roleArn ?? null]);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, index);
    } else {
      problems.push({
        path: [...ecrPath, 'registries', index],
        message: `duplicates registries[${first}] (same accountId, region and roleArn)`,
      });
    }
  });
  return problems;
}

/**
 * Narrowing to repositories works through a session policy on an assumed role (a session policy can
 * only narrow an assumed role), and repository ARNs need the registry's account.
 */
function scopedRegistryProblems(
  registries: readonly RegistryEntry[],
  ecrPath: Path,
  cluster: ClusterEntry,
): Problem[] {
  const problems: Problem[] = [];
  registries.forEach((registry, index) => {
    const missing = [
      registry.roleArn === undefined ? 'roleArn' : '',
      registry.accountId === undefined ? 'accountId' : '',
    ]
      .filter((key) => key !== '')
      .join(' and ');
    if (missing === '') return;
    problems.push({
      path: [...ecrPath, 'repositories'],
      message:
        `is set${origin('ecr', 'repositories', cluster)}, so every registry needs roleArn and accountId, but ` +
        `${formatPath([...ecrPath, 'registries', index])}${origin('ecr', 'registries', cluster)} has no ${missing}: ` +
        'a session policy can only narrow an assumed role, and repository ARNs need the account',
    });
  });
  return problems;
}
