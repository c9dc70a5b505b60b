import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { parseInvocation } from '../../../src/run/request.ts';
import { planShards } from '../../../src/run/shards.ts';

/** Seven clusters, named out of alphabetical order so the file's order is visible. */
const NAMES = ['zeta', 'alpha', 'mu', 'beta', 'omega', 'gamma', 'delta'];
const CONFIG = parseConfig(
  `clusters:\n${NAMES.map(
    (name) =>
      `  - name: ${name}\n    kubeconfigSecret: k/${name}\n    namespaces: { names: [app] }\n` +
      '    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }\n',
  ).join('')}`,
  'fleet.yaml',
);

/** The plan the handler answers for a plan event (parsed as the handler parses it). */
function plan(event: unknown) {
  const invocation = parseInvocation(event);
  if (invocation.mode !== 'plan') throw new Error(`not a plan event: ${invocation.mode}`);
  return planShards(CONFIG, invocation.request);
}

describe('the plan event of a sharded run', () => {
  it("splits every cluster into shards of shardSize in the file's order, the last one shorter", () => {
    const { shards } = plan({ plan: { shardSize: 3, request: { kinds: ['ecr'] } } });

    expect(shards).toEqual([
      { clusters: ['zeta', 'alpha', 'mu'], kinds: ['ecr'] },
      { clusters: ['beta', 'omega', 'gamma'], kinds: ['ecr'] },
      { clusters: ['delta'], kinds: ['ecr'] },
    ]);
    // Each shard is a run event of its own, as the Distributed Map sends it back.
    for (const shard of shards) expect(parseInvocation(shard)).toEqual({ mode: 'run', request: shard });
  });

  it.each([
    [1, 7],
    [2, 4],
    [7, 1],
    [100, 1],
  ])('with shardSize %i makes %i shards holding each cluster exactly once', (shardSize, count) => {
    const { shards } = plan({ plan: { shardSize } });

    expect(shards).toHaveLength(count);
    expect(shards.flatMap((shard) => shard.clusters)).toEqual(NAMES);
    for (const shard of shards) {
      expect(shard.clusters?.length).toBeLessThanOrEqual(shardSize);
      expect(shard.clusters?.length).toBeGreaterThan(0);
      // No kinds asked for: none named, so each shard delivers every kind, as the unsharded run does.
      expect(shard).not.toHaveProperty('kinds');
    }
  });

  it("shards a cluster subset in the file's order, whatever order it is asked in, and passes kinds and prune through", () => {
    const { shards } = plan({
      plan: {
        shardSize: 2,
        request: { clusters: ['delta', 'alpha', 'omega'], kinds: ['s3', 'aws'], prune: false },
      },
    });

    expect(shards).toEqual([
      { clusters: ['alpha', 'omega'], kinds: ['s3', 'aws'], prune: false },
      { clusters: ['delta'], kinds: ['s3', 'aws'], prune: false },
    ]);
  });

  it('refuses a cluster the file does not have, naming it and the file', () => {
    expect(() => plan({ plan: { shardSize: 2, request: { clusters: ['alpha', 'nope'] } } })).toThrow(
      /^fleet\.yaml: no cluster named nope \(known: zeta, alpha/,
    );
  });

  it.each([
    [{ plan: {} }, /plan\.shardSize: Invalid input/],
    [{ plan: { shardSize: 0 } }, /plan\.shardSize: Too small/],
    [{ plan: { shardSize: 2.5 } }, /plan\.shardSize: Invalid input: expected int/],
    [{ plan: { shardSize: '2' } }, /plan\.shardSize: Invalid input/],
    [{ plan: { shardSize: 20_000 } }, /plan\.shardSize: Too big/],
    [{ plan: { shardSize: 2 }, kinds: ['ecr'] }, /\(event\): Unrecognized key: "kinds"/],
    [{ plan: { shardSize: 2, kinds: ['ecr'] } }, /plan: Unrecognized key: "kinds"/],
    [{ plan: { shardSize: 2, request: { kinds: ['gcr'] } } }, /plan\.request\.kinds\.0: /],
    [
      { plan: { shardSize: 2, request: { clusters: ['a'], detail: {} } } },
      /plan\.request: Unrecognized key: "detail"/,
    ],
    [{ plan: null }, /plan: Invalid input/],
  ])('refuses the plan event %j, so it never becomes a delivery', (event, message) => {
    expect(() => parseInvocation(event)).toThrow(message);
    expect(() => parseInvocation(event)).toThrow(/^invalid invocation event: /);
  });
});
