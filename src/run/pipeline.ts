/**
 * Mint and deliver as a pipeline: each distinct scope is minted once, in the order clusters will need
 * it, and each cluster is started as soon as the scopes it needs are minted, rather than once every
 * scope is. The run's wall time then approaches max(mint, delivery) plus one cluster, not their sum.
 * Generic over what a mint and a delivery are, so the ordering is tested on its own.
 */
import pLimit from 'p-limit';

export interface PipelineOptions<Item, Minted, Result> {
  /** In the order they should start. */
  readonly items: readonly Item[];
  /** The scope keys an item needs, in order; shared keys are minted once. */
  readonly scopesOf: (item: Item) => readonly string[];
  /** Mints one scope. Its failure is the caller's to record: a rejection still lets its dependants start. */
  readonly mint: (key: string) => Promise<Minted>;
  readonly deliver: (item: Item) => Promise<Result>;
  readonly mintConcurrency: number;
  readonly deliverConcurrency: number;
  /**
   * Called once per scope when the last item that needs it has been delivered (or its mint rejected
   * and its dependants are done): what the mint made can go, rather than be kept to the run's end.
   */
  readonly release?: (key: string) => void;
}

export interface PipelineResult<Minted, Result> {
  /** One per distinct scope, in mint order; undefined where the mint rejected. */
  readonly mints: readonly { readonly key: string; readonly outcome?: Minted }[];
  /** One per item, in the order of `items`. */
  readonly results: readonly Result[];
}

/** Distinct scope keys in the order the items (in their start order) first need them. */
export function mintOrder<Item>(
  items: readonly Item[],
  scopesOf: (item: Item) => readonly string[],
): string[] {
  const order = new Set<string>();
  for (const item of items) for (const key of scopesOf(item)) order.add(key);
  return [...order];
}

export async function pipeline<Item, Minted, Result>(
  options: PipelineOptions<Item, Minted, Result>,
): Promise<PipelineResult<Minted, Result>> {
  const mintLimit = pLimit(options.mintConcurrency);
  const deliverLimit = pLimit(options.deliverConcurrency);
  // Queued in need order: p-limit starts them first in, first out.
  const minting = new Map(
    mintOrder(options.items, options.scopesOf).map((key) => [key, mintLimit(() => options.mint(key))]),
  );
  // Items still to finish per scope, each item counted once however many of its targets share it.
  const waiting = new Map<string, number>();
  for (const item of options.items)
    for (const key of new Set(options.scopesOf(item))) waiting.set(key, (waiting.get(key) ?? 0) + 1);
  const finished = (item: Item) => {
    for (const key of new Set(options.scopesOf(item))) {
      const left = (waiting.get(key) ?? 1) - 1;
      waiting.set(key, left);
      if (left === 0) options.release?.(key);
    }
  };
  const results = Promise.all(
    options.items.map(async (item) => {
      // Waiting for its scopes holds no delivery slot: a cluster whose scopes are minted never waits
      // behind one whose scopes are not.
      await Promise.allSettled(options.scopesOf(item).map((key) => minting.get(key)));
      try {
        return await deliverLimit(() => options.deliver(item));
      } finally {
        finished(item);
      }
    }),
  );
  const mints = await Promise.all(
    [...minting].map(async ([key, promise]) => {
      try {
        return { key, outcome: await promise };
      } catch {
        return { key };
      }
    }),
  );
  return { mints, results: await results };
}
