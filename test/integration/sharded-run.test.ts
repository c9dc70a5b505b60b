/**
 * A sharded run on the rig and moto, through the real Lambda handler with a ledger table. Step Functions
 * does not run here (moto runs no state machine that calls a local handler), so `stepFunctionsStandIn`
 * plays the state machine's part in-process from its own definition (scripts/fanout.ts): the plan
 * state's payload built from the execution input, then each shard the plan returned sent back to the
 * handler as the Distributed Map's item, one after another (a MaxConcurrency of 1).
 *
 * Proven: the shards hold every cluster of the file exactly once, in its order; each cluster is
 * delivered exactly once; each shard mints its own distinct scopes once (moto's recorder counts the
 * GetAuthorizationToken calls per region); and the ledger keeps every cluster's items after every
 * shard — no shard prunes or misreports the others' clusters — while a cluster no longer in the file
 * leaves it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stateMachineDefinition } from '../../scripts/fanout.ts';
import { dynamoLedger } from '../../src/aws/ledger.ts';
import type { RunRequest } from '../../src/run/request.ts';
import type { ShardPlan } from '../../src/run/shards.ts';
import type { RunResult } from '../../src/run/types.ts';
import { captureOutput } from '../support/captured-output.ts';
import { type RegisteredCluster, registerCluster, shareControlNamespace } from './fixtures.ts';
import { createLedgerTable, type RecordedRequest, recordedDuring } from './moto-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const SECRET = 'ecr-pull';
const SHARD_SIZE = 2;
/**
 * The ECR regions of each cluster, in the file's order. With shards of 2 the distinct scopes are
 * {eu-west-1, us-east-1}, {us-east-1} and {eu-central-1, eu-west-1}: 5 mints in all, where one
 * invocation of the whole fleet would make 3.
 */
const REGIONS = [
  ['eu-west-1'],
  ['eu-west-1', 'us-east-1'],
  ['us-east-1'],
  ['us-east-1'],
  ['eu-central-1', 'eu-west-1'],
];

type Handler = (event: unknown, context: Context) => Promise<unknown>;
const CONTEXT = { getRemainingTimeInMillis: () => 120_000 } as unknown as Context;

/** The region of a recorded ECR GetAuthorizationToken call (from its SigV4 credential scope), or none. */
function ecrTokenRegion(request: RecordedRequest): string[] {
  const header = (name: string) =>
    Object.entries(request.headers).find(([key]) => key.toLowerCase() === name)?.[1] ?? '';
  if (!header('x-amz-target').endsWith('.GetAuthorizationToken')) return [];
  return [/Credential=[^/]+\/\d{8}\/([^/]+)\/ecr\//.exec(header('authorization'))?.[1] ?? '?'];
}

interface ShardRun {
  readonly shard: RunRequest;
  readonly summary: RunResult['summary'] | Error;
  readonly lines: string[];
  /** The regions of the ECR tokens this shard minted, one entry per call. */
  readonly mintedRegions: string[];
  /** The clusters with ledger items once this shard was recorded. */
  readonly ledgerClusters: string[];
}

/**
 * A stand-in for the Step Functions execution of the shards state machine (not the real service):
 * the plan state's `Payload` from the definition with `request.$` = the execution input, then the
 * Distributed Map's items (`$.shards` of the plan's result) each sent as the shard state's payload.
 */
async function stepFunctionsStandIn(
  handler: Handler,
  input: RunRequest,
  ledgerClusters: () => Promise<string[]>,
): Promise<{ plan: ShardPlan; runs: ShardRun[] }> {
  const definition = stateMachineDefinition({ shardSize: SHARD_SIZE, shardConcurrency: 1 }, 300);
  const { plan: planPayload } = definition.States.PlanShards.Parameters.Payload;
  const { 'request.$': path, ...planFields } = planPayload;
  expect(path).toBe('$');
  const plan = (await handler({ plan: { ...planFields, request: input } }, CONTEXT)) as ShardPlan;
  expect(definition.States.DeliverShards.ItemsPath).toBe('$.shards');
  expect(definition.States.DeliverShards.ItemProcessor.States.DeliverShard.Parameters['Payload.$']).toBe('$');
  const runs: ShardRun[] = [];
  for (const shard of plan.shards) {
    const { result, requests } = await recordedDuring(() => captureOutput(() => handler(shard, CONTEXT)));
    runs.push({
      shard,
      summary: result.value as RunResult['summary'] | Error,
      lines: result.lines,
      mintedRegions: requests.flatMap(ecrTokenRegion).sort(),
      ledgerClusters: await ledgerClusters(),
    });
  }
  return { plan, runs };
}

describe.skipIf(!rig)(`A sharded run on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const control = uniqueName('cc-shards');
  const gone = uniqueName('gone');
  let clusters: RegisteredCluster[];
  let configFile: string;
  let table: string;

  beforeAll(async () => {
    const { a, b } = theRig().clusters;
    clusters = [];
    for (const [index] of REGIONS.entries()) {
      const apiserver = index % 2 === 0 ? a : b;
      const registered = await registerCluster(apiserver, {
        namespaces: [uniqueName('app')],
        secretNames: [SECRET],
      });
      // One run has one control namespace; these "clusters" share two apiservers.
      await shareControlNamespace(apiserver, control, registered);
      clusters.push(registered);
    }
    const entries = clusters.map(
      (cluster, index) => `
  - name: ${cluster.name}
    kubeconfigSecret: ${cluster.secretId}
    namespaces: { names: [${cluster.namespaces.join(', ')}] }
    ecr: { secretName: ${SECRET}, registries: [${REGIONS[index]?.map((region) => `{ region: ${region} }`).join(', ')}] }`,
    );
    configFile = join(mkdtempSync(join(tmpdir(), 'cc-shards-')), 'clusters.yaml');
    writeFileSync(configFile, `settings:\n  controlNamespace: ${control}\nclusters:${entries.join('')}\n`);
    table = await createLedgerTable();
    // A cluster taken out of the file since the last run: its item must leave the ledger.
    await DynamoDBDocumentClient.from(new DynamoDBClient({})).send(
      new PutCommand({
        TableName: table,
        Item: {
          target: `${gone}#ecr#app/${SECRET}`,
          cluster: gone,
          kind: 'ecr',
          namespace: 'app',
          secretName: SECRET,
          consecutiveFailures: 0,
          version: 1,
        },
      }),
    );
  }, 240_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    if (table) await new DynamoDBClient({}).send(new DeleteTableCommand({ TableName: table }));
  });

  it('delivers every cluster exactly once, mints per shard its distinct scopes, and keeps every cluster in the ledger', async () => {
    // Prepare
    vi.stubEnv('CRED_COURIER_CONFIG', configFile);
    vi.stubEnv('CRED_COURIER_LEDGER_TABLE', table);
    // A fresh module: the handler reads its registration file once per container.
    vi.resetModules();
    const { handler } = await import('../../functions/distribute.ts');
    const ledger = dynamoLedger(table);
    const ledgerClusters = async () => [...new Set((await ledger.read()).map((row) => row.cluster))].sort();
    const names = clusters.map((c) => c.name);

    // Act: the ECR schedule's input, as the rule sends it to the state machine, without pruning: the
    // "clusters" of one rig apiserver share its inventory, so each would see the others' Secrets as its
    // own to prune (one real cluster, one inventory).
    const input = { kinds: ['ecr' as const], prune: false };
    const { plan, runs } = await stepFunctionsStandIn(handler, input, ledgerClusters);

    // Assess: the shards, in the file's order.
    expect(plan.shards).toEqual([
      { clusters: names.slice(0, 2), ...input },
      { clusters: names.slice(2, 4), ...input },
      { clusters: names.slice(4), ...input },
    ]);
    // Each shard's invocation succeeded for its own clusters only.
    for (const run of runs) {
      expect(run.summary).toMatchObject({
        clusters: run.shard.clusters?.length,
        clustersFailed: 0,
        secretsDelivered: run.shard.clusters?.length,
        secretsFailed: 0,
      });
    }
    // Every cluster delivered exactly once, by the shard that names it.
    const done = runs.flatMap((run) =>
      run.lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((record) => record.message === 'cluster done')
        .map((record) => ({ cluster: record.cluster, shard: runs.indexOf(run) })),
    );
    expect(done.map((d) => d.cluster).sort()).toEqual([...names].sort());
    for (const { cluster, shard } of done) expect(runs[shard]?.shard.clusters).toContain(cluster);
    // One mint per distinct scope of each shard: 2, 1 and 2 GetAuthorizationToken calls.
    expect(runs.map((run) => run.mintedRegions)).toEqual([
      ['eu-west-1', 'us-east-1'],
      ['us-east-1'],
      ['eu-central-1', 'eu-west-1'],
    ]);
    // After each shard the ledger holds the clusters of every shard so far: none pruned another's, and
    // the cluster no longer in the file left with the first.
    expect(runs.map((run) => run.ledgerClusters)).toEqual([
      [...names.slice(0, 2)].sort(),
      [...names.slice(0, 4)].sort(),
      [...names].sort(),
    ]);
    const rows = await ledger.read();
    expect(rows.map((row) => row.target).sort()).toEqual(
      clusters.map((c) => `${c.name}#ecr#${c.namespaces[0]}/${SECRET}`).sort(),
    );
    for (const row of rows) {
      expect(row).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: expect.any(String) });
      expect(row.alert).toBeUndefined();
    }
    // The clusters' own credentials are recorded for every cluster too, not only the last shard's.
    const { credentials } = await ledger.readState();
    expect(credentials.map((c) => c.cluster).sort()).toEqual([...names].sort());
    for (const cluster of clusters) {
      expect(runs.flatMap((run) => run.lines).join('\n')).not.toContain(cluster.token);
    }
  }, 240_000);
});
