/** Namespace lookups for selection: only made when the config uses globs or a label selector. */

import type { CoreRequests } from './core.ts';

/** Names of namespaces that are not being deleted, optionally filtered by a label selector on the server. */
export async function listNamespaceNames(core: CoreRequests, labelSelector?: string): Promise<string[]> {
  const list = await core.listNamespace(labelSelector ? { labelSelector } : {});
  return list.items
    .filter((ns) => ns.status?.phase !== 'Terminating' && !ns.metadata?.deletionTimestamp)
    .map((ns) => ns.metadata?.name ?? '')
    .filter(Boolean);
}
