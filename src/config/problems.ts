/**
 * What a cross-field check of the registration file returns: a problem at a path of the file. Shared by
 * the loader and the kinds' parts (`src/kinds/<kind>/config.ts`); the loader adds the line.
 */

import { quote } from './fields.ts';
import type { ClusterEntry, DefaultsEntry } from './schema.ts';
import type { ClusterSpec, NamespaceSelection } from './types.ts';

export type Path = readonly (string | number)[];

export interface Problem {
  readonly path: Path;
  readonly message: string;
}

export interface Part<T> {
  readonly value?: T;
  readonly problems: readonly Problem[];
}

/** What a kind's part checks a cluster with: the entry as written, defaults, and the cluster's merged namespaces. */
export interface KindCheckInput {
  readonly cluster: ClusterEntry;
  readonly defaults: DefaultsEntry | undefined;
  /** The cluster's path: `clusters[i]`. */
  readonly at: Path;
  /** The cluster's merged namespace selection; undefined when it is invalid (already reported). */
  readonly namespaces: NamespaceSelection | undefined;
  /** The sessions schedule interval; undefined when settings are invalid (already reported). */
  readonly s3IntervalMinutes: number | undefined;
}

/** A cluster that resolved, with its index and entry, for checks across the fleet. */
export interface LocatedCluster {
  readonly index: number;
  readonly entry: ClusterEntry;
  readonly spec: ClusterSpec;
}

/** `clusters[2].ecr.registries[0].region`; keys that are not identifiers are quoted: `clusters[0]["a b"]`. */
export function formatPath(path: Path): string {
  if (path.length === 0) return 'top level';
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${quote(segment)}]`;
  }
  return text;
}

/** `{...base, ...over}` one level deep, ignoring keys `over` leaves undefined; lists replace, not concatenate. */
export function mergeShallow<T extends object>(base: T | undefined, over: T | undefined): T | undefined {
  if (base === undefined) return over;
  if (over === undefined) return base;
  const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over)) if (value !== undefined) merged[key] = value;
  return merged as T;
}

/** Names where a merged key came from, for messages about values the cluster did not write itself. */
export function origin(section: 'namespaces' | 'ecr' | 's3', key: string, cluster: ClusterEntry): string {
  const own = cluster[section] as Record<string, unknown> | undefined;
  return own?.[key] === undefined ? ` (from defaults.${section}.${key})` : '';
}
