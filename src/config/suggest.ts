/**
 * "Did you mean": the keys of a registration-file mapping closest to a misspelt one (pure). The rule is
 * commander's for unknown options, so the CLI and the file suggest alike: Levenshtein distance at most 3
 * (letter case ignored) and more than 40 % of the longer word kept; of those, the closest.
 */
import { distance } from 'fastest-levenshtein';
import type { z } from 'zod';

const MAX_DISTANCE = 3;
const MIN_SIMILARITY = 0.4;

/** The known keys closest to `key`, best first (ties in `known`'s order); empty when none is close. */
export function closestKeys(key: string, known: readonly string[]): string[] {
  let best = MAX_DISTANCE + 1;
  let closest: string[] = [];
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    const length = Math.max(key.length, candidate.length);
    if (d > MAX_DISTANCE || (length - d) / length <= MIN_SIMILARITY) continue;
    if (d < best) {
      best = d;
      closest = [candidate];
    } else if (d === best) {
      closest.push(candidate);
    }
  }
  return closest;
}

/** `ecr`, `ecr or s3`, `a, b or c`. */
function alternatives(keys: readonly string[]): string {
  return keys.length <= 1 ? (keys[0] ?? '') : `${keys.slice(0, -1).join(', ')} or ${keys.at(-1)}`;
}

/** The message for unknown key `key` when some of `known` are close to it, else undefined. */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  const closest = closestKeys(key, known);
  return closest.length === 0 ? undefined : `unknown key, did you mean ${alternatives(closest)}?`;
}

interface Walkable {
  readonly _zod: {
    readonly def: {
      readonly type: string;
      readonly innerType?: Walkable;
      readonly in?: Walkable;
      readonly element?: Walkable;
      readonly shape?: Readonly<Record<string, Walkable>>;
    };
  };
}

/**
 * The keys the mapping at `path` accepts, read from the schema itself (so a schema change cannot leave a
 * stale list here); undefined when `path` does not lead to a mapping.
 */
export function keysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] | undefined {
  let node: Walkable | undefined = schema as unknown as Walkable;
  const unwrap = () => {
    // Optional, default, nullable and pipe wrappers hold the schema that reads the value.
    for (let def = node?._zod.def; def?.innerType ?? def?.in; def = node?._zod.def) {
      node = def.innerType ?? def.in;
    }
  };
  for (const segment of path) {
    unwrap();
    const def: Walkable['_zod']['def'] | undefined = node?._zod.def;
    node = typeof segment === 'number' ? def?.element : def?.shape?.[segment];
    if (node === undefined) return undefined;
  }
  unwrap();
  const shape = node?._zod.def.shape;
  return shape === undefined ? undefined : Object.keys(shape);
}
