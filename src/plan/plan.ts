/**
 * The plan of a run (pure): which clusters and kinds take part, what each cluster's targets are, and
 * the distinct mint scopes they need — each scope minted once however many clusters share it.
 */
import type { ClusterSpec, Config } from '../config/types.ts';
import { UsageError } from '../errors.ts';
import { type AnyKind, KINDS } from '../kinds/index.ts';
import { KIND_IDS, type KindId, type KindTarget } from '../kinds/kind.ts';

export interface PlannedTarget {
  readonly kind: AnyKind;
  readonly target: KindTarget<unknown>;
  /** The scope key of each request of the target, in order. */
  readonly scopeKeys: readonly string[];
}

export interface PlannedCluster {
  readonly cluster: ClusterSpec;
  readonly targets: readonly PlannedTarget[];
}

export interface PlannedMint {
  readonly key: string;
  readonly kind: AnyKind;
  readonly request: unknown;
  /** Clusters that need it, for messages when it fails. */
  readonly clusters: readonly string[];
}

export interface RunPlan {
  readonly kinds: readonly KindId[];
  readonly clusters: readonly PlannedCluster[];
  readonly mints: readonly PlannedMint[];
}

export interface PlanOptions {
  /** Cluster names to include; all when empty. */
  readonly clusters?: readonly string[];
  /** Kinds to include; all when empty. */
  readonly kinds?: readonly KindId[];
}

export function planRun(config: Config, options: PlanOptions = {}): RunPlan {
  const known = new Set(config.clusters.map((c) => c.name));
  const unknown = (options.clusters ?? []).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `${config.file}: no cluster named ${unknown.join(', ')} (known: ${[...known].join(', ')})`,
    );
  }
  const kinds = options.kinds && options.kinds.length > 0 ? [...new Set(options.kinds)] : [...KIND_IDS];
  const wanted = new Set(options.clusters ?? []);
  const selected = config.clusters.filter((c) => wanted.size === 0 || wanted.has(c.name));
  const mints = new Map<string, { key: string; kind: AnyKind; request: unknown; clusters: string[] }>();
  const clusters = selected.map((cluster): PlannedCluster => {
    const targets = kinds.flatMap((id) =>
      KINDS[id].targets(cluster).map((target): PlannedTarget => {
        const kind = KINDS[id];
        const scopeKeys = target.requests.map((request) => {
          const key = kind.scopeKey(request);
          const mint = mints.get(key) ?? { key, kind, request, clusters: [] as string[] };
          if (!mint.clusters.includes(cluster.name)) mint.clusters.push(cluster.name);
          mints.set(key, mint);
          return key;
        });
        return { kind, target, scopeKeys };
      }),
    );
    return { cluster, targets };
  });
  return { kinds, clusters, mints: [...mints.values()] };
}

/**
 * The namespaces a target writes into: the cluster's selected namespaces, narrowed to the target's own
 * list when it has one (an S3 grant's `namespaces`).
 */
export function targetNamespaces(
  target: KindTarget<unknown>,
  clusterNamespaces: readonly string[],
): readonly string[] {
  const own = target.namespaces;
  return own ? clusterNamespaces.filter((ns) => own.includes(ns)) : clusterNamespaces;
}
