/**
 * The mint → deliver pipeline's ordering, with stand-in mint and deliver functions (only the order and
 * the dependencies are under test; the real mints and deliveries are the integration suite's).
 */
import { describe, expect, it } from 'vitest';
import { mintOrder, pipeline } from '../../../src/run/pipeline.ts';

interface Item {
  readonly name: string;
  readonly scopes: readonly string[];
}

/** A promise with its resolve and reject, so a test decides when each mint ends. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((done) => setImmediate(done));

describe('mint order', () => {
  it('lists each scope once, in the order the items first need it', () => {
    const items: Item[] = [
      { name: 'a', scopes: ['ecr', 's3-a'] },
      { name: 'b', scopes: ['ecr', 's3-b', 's3-a'] },
      { name: 'c', scopes: ['s3-c'] },
    ];
    expect(mintOrder(items, (i) => i.scopes)).toEqual(['ecr', 's3-a', 's3-b', 's3-c']);
  });
});

describe('pipeline', () => {
  it('starts an item as soon as its own scopes are minted, before later mints finish', async () => {
    const items: Item[] = [
      { name: 'a', scopes: ['shared', 'a'] },
      { name: 'b', scopes: ['shared', 'b'] },
      { name: 'c', scopes: ['c'] },
    ];
    const mints = new Map(['shared', 'a', 'b', 'c'].map((key) => [key, deferred<string>()]));
    const events: string[] = [];
    const run = pipeline({
      items,
      scopesOf: (item) => item.scopes,
      mint: (key) => {
        events.push(`mint ${key}`);
        return (mints.get(key) as ReturnType<typeof deferred<string>>).promise;
      },
      deliver: async (item) => {
        events.push(`deliver ${item.name}`);
        return item.name;
      },
      mintConcurrency: 1,
      deliverConcurrency: 4,
    });
    await tick();
    expect(events).toEqual(['mint shared']);
    mints.get('shared')?.resolve('shared');
    await tick();
    mints.get('a')?.resolve('a');
    await tick();
    // a delivers while b's and c's scopes are still being minted.
    expect(events).toEqual(['mint shared', 'mint a', 'mint b', 'deliver a']);
    mints.get('b')?.resolve('b');
    await tick();
    mints.get('c')?.resolve('c');
    const result = await run;
    expect(events).toEqual([
      'mint shared',
      'mint a',
      'mint b',
      'deliver a',
      'mint c',
      'deliver b',
      'deliver c',
    ]);
    expect(result.results).toEqual(['a', 'b', 'c']);
    expect(result.mints.map((m) => m.key)).toEqual(['shared', 'a', 'b', 'c']);
  });

  it('mints each distinct scope once however many items share it', async () => {
    const calls: string[] = [];
    const items = Array.from(
      { length: 20 },
      (_, i): Item => ({ name: `c${i}`, scopes: ['ecr', `s3-${i % 3}`] }),
    );
    await pipeline({
      items,
      scopesOf: (item) => item.scopes,
      mint: async (key) => {
        calls.push(key);
        return key;
      },
      deliver: async (item) => item.name,
      mintConcurrency: 8,
      deliverConcurrency: 4,
    });
    expect(calls.sort()).toEqual(['ecr', 's3-0', 's3-1', 's3-2']);
  });

  it('still starts the dependants of a failed mint, and only the mint is missing from the outcomes', async () => {
    const delivered: string[] = [];
    const result = await pipeline({
      items: [
        { name: 'a', scopes: ['ok', 'broken'] },
        { name: 'b', scopes: ['ok'] },
      ],
      scopesOf: (item) => item.scopes,
      mint: async (key) => {
        if (key === 'broken') throw new Error('refused');
        return key;
      },
      deliver: async (item) => {
        delivered.push(item.name);
        return item.name;
      },
      mintConcurrency: 2,
      deliverConcurrency: 2,
    });
    expect(delivered.sort()).toEqual(['a', 'b']);
    expect(result.mints).toEqual([{ key: 'ok', outcome: 'ok' }, { key: 'broken' }]);
  });

  it('holds no delivery slot while waiting for a mint: a later item with its scopes minted goes first', async () => {
    const slow = deferred<string>();
    const events: string[] = [];
    const run = pipeline({
      items: [
        { name: 'waits', scopes: ['slow'] },
        { name: 'ready', scopes: ['fast'] },
      ],
      scopesOf: (item) => item.scopes,
      mint: (key) => (key === 'slow' ? slow.promise : Promise.resolve(key)),
      deliver: async (item) => {
        events.push(item.name);
        return item.name;
      },
      mintConcurrency: 2,
      deliverConcurrency: 1,
    });
    await tick();
    expect(events).toEqual(['ready']);
    slow.resolve('slow');
    expect((await run).results).toEqual(['waits', 'ready']);
    expect(events).toEqual(['ready', 'waits']);
  });

  it('releases a scope once, when the last item needing it is done, and not before', async () => {
    const gates = new Map(['a', 'b', 'c'].map((name) => [name, deferred<void>()]));
    const events: string[] = [];
    const run = pipeline({
      items: [
        { name: 'a', scopes: ['shared', 'own-a', 'shared'] },
        { name: 'b', scopes: ['shared', 'broken'] },
        { name: 'c', scopes: ['own-c'] },
      ],
      scopesOf: (item) => item.scopes,
      mint: async (key) => {
        if (key === 'broken') throw new Error('refused');
        return key;
      },
      deliver: async (item) => {
        await gates.get(item.name)?.promise;
        events.push(`delivered ${item.name}`);
        return item.name;
      },
      mintConcurrency: 4,
      deliverConcurrency: 4,
      release: (key) => events.push(`released ${key}`),
    });
    await tick();
    gates.get('a')?.resolve();
    await tick();
    // 'shared' is still needed by b: only a's own scope goes.
    expect(events).toEqual(['delivered a', 'released own-a']);
    gates.get('c')?.resolve();
    await tick();
    gates.get('b')?.resolve();
    await run;
    expect(events).toEqual([
      'delivered a',
      'released own-a',
      'delivered c',
      'released own-c',
      'delivered b',
      'released shared',
      'released broken',
    ]);
  });
});
