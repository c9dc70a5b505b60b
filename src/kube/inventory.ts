/**
 * The inventory: a ConfigMap in cred-courier's control namespace on each cluster listing, per kind, the
 * `namespace/secret` pairs cred-courier delivered there. Prune reads it to find Secrets of namespaces
 * no longer selected, without any list permission on Secrets. It holds names only, never credentials.
 */
import { ApiException, type V1ConfigMap } from '@kubernetes/client-node';
import { DNS_LABEL, DNS_SUBDOMAIN, quote } from '../config/schema.ts';
import type { KindSpecs } from '../kinds/config.ts';
import { KIND_IDS, type KindId } from '../kinds/kind.ts';
import { LABELS, MANAGER } from '../kinds/metadata.ts';
import { kindSecrets } from '../kinds/secrets.ts';
import type { CoreRequests } from './core.ts';

export const INVENTORY_NAME = 'cred-courier-inventory';

export interface Inventory {
  /** Per kind, sorted `namespace/secretName` entries; only entries that passed validation. */
  readonly entries: ReadonlyMap<string, readonly string[]>;
  readonly resourceVersion?: string;
  /** Entries that failed validation, for a warning; they are never acted on and dropped at the next write. */
  readonly ignored: readonly string[];
}

/**
 * What an entry may name: per kind, the Secret names the cluster's config manages (the only names its
 * identity may touch). Anything else in the inventory was not written by cred-courier.
 */
export type ManagedNames = ReadonlyMap<string, ReadonlySet<string>>;

/** The managed names of `cluster`'s config, per kind (every kind listed, so none is unknown). */
export function managedNames(cluster: KindSpecs): ManagedNames {
  const secrets = kindSecrets(cluster);
  return new Map(
    KIND_IDS.map((kind) => [
      kind,
      new Set(secrets.filter((secret) => secret.kind === kind).map((secret) => secret.secretName)),
    ]),
  );
}

const MAX_SHOWN = 80;

/**
 * Why an entry is not one cred-courier could have written, or undefined. The delivery identity can update
 * the inventory, so its content is data from a party that may not be trusted: a name like `..` or `a/b`
 * would become another URL path once put into a request.
 */
export function inventoryEntryProblem(
  kind: string,
  entry: string,
  managed: ManagedNames,
): string | undefined {
  const names = managed.get(kind);
  if (!names) return `unknown kind ${quote(kind, MAX_SHOWN)}`;
  const parts = entry.split('/');
  if (parts.length !== 2) return 'not namespace/name';
  const [namespace = '', secretName = ''] = parts;
  if (!DNS_LABEL.test(namespace)) return 'the namespace is not a DNS label';
  if (secretName.length > 253 || !DNS_SUBDOMAIN.test(secretName)) return 'the name is not a DNS subdomain';
  if (!names.has(secretName)) return `not a Secret name the config manages for ${kind}`;
  return undefined;
}

/**
 * Reads the inventory; every entry is validated (`inventoryEntryProblem`) and an invalid one is put in
 * `ignored` (quoted and cut, as it may hold anything) instead of `entries`.
 */
export async function readInventory(
  core: CoreRequests,
  namespace: string,
  managed: ManagedNames,
): Promise<Inventory> {
  let map: V1ConfigMap;
  try {
    map = await core.readNamespacedConfigMap({ name: INVENTORY_NAME, namespace });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return { entries: new Map(), ignored: [] };
    throw error;
  }
  const entries = new Map<string, string[]>();
  const ignored: string[] = [];
  for (const [kind, text] of Object.entries(map.data ?? {})) {
    const valid: string[] = [];
    for (const entry of String(text).split('\n').filter(Boolean)) {
      const problem = inventoryEntryProblem(kind, entry, managed);
      if (problem) ignored.push(`${quote(kind, MAX_SHOWN)}: ${quote(entry, MAX_SHOWN)} (${problem})`);
      else valid.push(entry);
    }
    if (managed.has(kind)) entries.set(kind, valid);
  }
  return {
    entries,
    ignored,
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
  core: CoreRequests,
  namespace: string,
  previous: Inventory,
  updates: ReadonlyMap<KindId, readonly string[]>,
): Promise<boolean> {
  const next = new Map(previous.entries);
  for (const [kind, entries] of updates) next.set(kind, [...new Set(entries)].sort());
  const same = (a: readonly string[] = [], b: readonly string[] = []) =>
    a.length === b.length && a.every((entry, i) => entry === b[i]);
  const unchanged = [...updates.keys()].every((kind) => same(previous.entries.get(kind), next.get(kind)));
  if (unchanged && previous.ignored.length === 0) return false;
  const data: Record<string, string> = {};
  for (const [kind, list] of next) if (list.length > 0) data[kind] = list.join('\n');
  const body: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: INVENTORY_NAME,
      namespace,
      // The control namespace is the installation; the inventory is not one cluster name's (tests share it).
      labels: { [LABELS.managedBy]: MANAGER, [LABELS.installation]: namespace },
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
