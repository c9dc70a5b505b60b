/** Picking the clusters a command works on, by name, from the registration file. */
import type { ClusterSpec, Config } from '../config/types.ts';
import { UsageError } from '../errors.ts';

/**
 * The clusters named (all when none are), in file order.
 * @throws UsageError naming every unknown cluster.
 */
export function selectClusters(config: Config, names: readonly string[] = []): ClusterSpec[] {
  const known = new Set(config.clusters.map((c) => c.name));
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `${config.file}: no cluster named ${unknown.join(', ')} (known: ${[...known].join(', ')})`,
    );
  }
  const wanted = new Set(names);
  return config.clusters.filter((c) => wanted.size === 0 || wanted.has(c.name));
}
