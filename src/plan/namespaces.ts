/**
 * Which namespaces of a cluster are selected (pure). Exact names are always selected (a missing one is
 * reported at delivery); globs match the cluster's namespaces; a label selector is evaluated by the
 * apiserver and arrives here as the names it matched. System namespaces are left out unless named exactly.
 */
import type { NamespaceSelection } from '../config/types.ts';

export const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set([
  'kube-system',
  'kube-public',
  'kube-node-lease',
]);

/** Whether a namespace pattern is a glob (`*`, `?`) rather than an exact name. */
export const isGlob = (pattern: string) => /[*?]/.test(pattern);

/** A namespace glob (`*` any run, `?` one character) as a whole-name regular expression. */
export function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${escaped}$`);
}

function matcher(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set(patterns.filter((p) => !isGlob(p)));
  const globs = patterns.filter(isGlob).map(globToRegExp);
  return (name) => exact.has(name) || globs.some((glob) => glob.test(name));
}

/** Whether selecting needs the cluster's namespace list (and so a permission to list namespaces). */
export function needsNamespaceListing(selection: NamespaceSelection): boolean {
  return selection.selector !== undefined || selection.names.some(isGlob);
}

export interface ClusterNamespaces {
  /** Every namespace of the cluster (when listing was needed). */
  readonly all: readonly string[];
  /** The namespaces the label selector matched (when there is one). */
  readonly matchingSelector: readonly string[];
}

export function selectNamespaces(selection: NamespaceSelection, existing?: ClusterNamespaces): string[] {
  const exact = selection.names.filter((name) => !isGlob(name));
  const globMatch = matcher(selection.names.filter(isGlob));
  const excluded = matcher(selection.exclude);
  const candidates = new Set<string>(exact);
  for (const name of existing?.all ?? []) {
    if (globMatch(name) && !SYSTEM_NAMESPACES.has(name)) candidates.add(name);
  }
  for (const name of existing?.matchingSelector ?? []) {
    if (!SYSTEM_NAMESPACES.has(name)) candidates.add(name);
  }
  return [...candidates].filter((name) => !excluded(name)).sort();
}
