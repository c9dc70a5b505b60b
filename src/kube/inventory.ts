/**
 * The inventory: a ConfigMap in cred-courier's control namespace on each cluster listing, per kind, the
 * `namespace/secret` pairs cred-courier delivered there. Prune reads it to find Secrets of namespaces
 * no longer selected, without any list permission on Secrets. It holds names only, never credentials.
 */
import { ApiException, type CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import type { KindId } from '../kinds/kind.ts';
import { LABELS, MANAGER } from '../kinds/metadata.ts';

export const INVENTORY_NAME = 'cred-courier-inventory';

export interface Inventory {
  /** Per kind, sorted `namespace/secretName` entries. */
  readonly entries: ReadonlyMap<string, readonly string[]>;
  readonly resourceVersion?: string;
}

export async function readInventory(core: CoreV1Api, namespace: string): Promise<Inventory> {
  let map: V1ConfigMap;
  try {
    map = await core.readNamespacedConfigMap({ name: INVENTORY_NAME, namespace });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return { entries: new Map() };
    throw error;
  }
  const entries = new Map<string, string[]>();
  for (const [kind, text] of Object.entries(map.data ?? {})) {
    entries.set(kind, text.split('\n').filter(Boolean));
  }
  return {
    entries,
    ...(map.metadata?.resourceVersion ? { resourceVersion: map.metadata.resourceVersion } : {}),
  };
}

/** Entry of one delivered Secret. */
export const inventoryEntry = (namespace: string, secretName: string) => `${namespace}/${secretName}`;

export function parseInventoryEntry(entry: string): { namespace: string; secretName: string } {
  const slash = entry.indexOf('/');
  return { namespace: entry.slice(0, slash), secretName: entry.slice(slash + 1) };
}

/**
 * Writes the entries of the kinds given, keeping other kinds' entries; no request when nothing changed.
 * The read resourceVersion is a precondition: a concurrent run's write wins and this one fails with 409.
 */
export async function writeInventory(
  core: CoreV1Api,
  namespace: string,
  previous: Inventory,
  updates: ReadonlyMap<KindId, readonly string[]>,
): Promise<boolean> {
  const next = new Map(previous.entries);
  for (const [kind, entries] of updates) next.set(kind, [...new Set(entries)].sort());
  const same = (a: readonly string[] = [], b: readonly string[] = []) =>
    a.length === b.length && a.every((entry, i) => entry === b[i]);
  if ([...updates.keys()].every((kind) => same(previous.entries.get(kind), next.get(kind)))) return false;
  const data: Record<string, string> = {};
  for (const [kind, list] of next) if (list.length > 0) data[kind] = list.join('\n');
  const body: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: INVENTORY_NAME,
      namespace,
      labels: { [LABELS.managedBy]: MANAGER },
      ...(previous.resourceVersion ? { resourceVersion: previous.resourceVersion } : {}),
    },
    data,
  };
  if (previous.resourceVersion) {
    await core.replaceNamespacedConfigMap({ name: INVENTORY_NAME, namespace, body, fieldManager: MANAGER });
  } else {
    await core.createNamespacedConfigMap({ namespace, body, fieldManager: MANAGER });
  }
  return true;
}
