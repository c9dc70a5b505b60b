/**
 * The delivery ledger in DynamoDB: one item per delivery target (cluster × kind × namespace/Secret),
 * remembering its last success, the expiry of what was delivered and its failures in a row, and one item
 * per cluster for its stored kubeconfig's credential and when it expires. The table is small (one item
 * per Secret cred-courier writes), so a run reads all of it with a Scan and merges its result in (pure,
 * `mergeLedger`, `mergeCredentials`).
 *
 * Writers overlap (the ECR and S3 schedules coincide, a CLI run may join): every item carries a `version`,
 * and each write is conditioned on the version the writer read. A write that loses reads that one item
 * again, merges the run into what is there now and tries again, so no failure count is lost. The writer
 * whose write moved an item's `alert` is the one that reports the transition: each is notified once.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { KIND_IDS } from '../kinds/kind.ts';
import { FAILURE_CLASSES, type FailureClass } from '../report/classify.ts';
import {
  type CredentialRow,
  credentialKey,
  type LedgerRow,
  mergeCredentials,
  mergeLedger,
} from '../report/fleet.ts';
import { credentialTransition, type Transition, targetTransition } from '../report/transitions.ts';
import type { RunResult } from '../run/types.ts';

export type { CredentialRow, LedgerRow } from '../report/fleet.ts';

/** The environment variable naming the ledger's table; without it, no ledger is kept. */
export const LEDGER_TABLE_ENV = 'CRED_COURIER_LEDGER_TABLE';

/** Everything the ledger holds. */
export interface LedgerState {
  readonly targets: LedgerRow[];
  readonly credentials: CredentialRow[];
}

/** What recording a run did: the state after it, and the transitions this writer recorded. */
export interface LedgerRecord extends LedgerState {
  readonly transitions: Transition[];
}

/** The ledger of delivery targets and cluster credentials. */
export interface Ledger {
  /** Every valid target row of the table. */
  read(): Promise<LedgerRow[]>;
  /** Every valid target and credential row. */
  readState(): Promise<LedgerState>;
  /** Merges a run's result into the table and returns the target rows now in it. */
  record(result: RunResult, knownClusters: readonly string[], now: Date): Promise<LedgerRow[]>;
  /** Merges a run's result into the table; returns the state now and the transitions this call recorded. */
  commit(result: RunResult, knownClusters: readonly string[], now: Date): Promise<LedgerRecord>;
}

/** Attempts at one item whose conditional write keeps losing to other writers, with growing jittered waits. */
const CONFLICT_ATTEMPTS = 25;
const CONFLICT_BASE_DELAY_MS = 10;
/** Items written at once. */
const WRITE_CONCURRENCY = 16;

const optionalString = z.string().min(1).optional();
const FAILURE_CLASS_NAMES = Object.keys(FAILURE_CLASSES) as [FailureClass, ...FailureClass[]];

/** A target item as stored; items of another shape (written by hand, or by a newer version) are skipped. */
const RowSchema = z.object({
  target: z.string().min(1),
  cluster: z.string().min(1),
  kind: z.enum(KIND_IDS),
  namespace: z.string().min(1),
  secretName: z.string().min(1),
  lastSuccessAt: optionalString,
  expiresAt: optionalString,
  consecutiveFailures: z.number().int().nonnegative().catch(0),
  lastFailureClass: z.enum(FAILURE_CLASS_NAMES).optional().catch(undefined),
  lastFailureAt: optionalString,
  lastFailureReason: z.string().optional(),
  alert: z.enum(['failing', 'at-risk']).optional().catch(undefined),
});

const CredentialSchema = z.object({
  target: z.string().min(1),
  record: z.literal('credential'),
  cluster: z.string().min(1),
  credentialKind: z.enum(['token', 'long-lived-token', 'client-certificate']),
  expiresAt: optionalString,
  seenAt: z.string().min(1),
  renewalFailureClass: z.enum(FAILURE_CLASS_NAMES).optional().catch(undefined),
  renewalFailureReason: z.string().optional(),
  alert: z.literal('expiring').optional().catch(undefined),
});

/** Drops keys whose value is undefined (zod's `.catch(undefined)` leaves them in). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** A stored item as a target row, or undefined when it is not one. */
function toRow(item: Record<string, unknown>): LedgerRow | undefined {
  const parsed = RowSchema.safeParse(item);
  return parsed.success ? defined(parsed.data) : undefined;
}

function toCredential(item: Record<string, unknown>): CredentialRow | undefined {
  const parsed = CredentialSchema.safeParse(item);
  return parsed.success && parsed.data.target === credentialKey(parsed.data.cluster)
    ? defined(parsed.data)
    : undefined;
}

/** One item as a writer last saw it: whether it exists, its version, and the row in it (if valid). */
interface Snapshot {
  readonly exists: boolean;
  /** Absent on an item written before versions (or by hand). */
  readonly version?: number;
  readonly target?: LedgerRow;
  readonly credential?: CredentialRow;
}

function snapshotOf(item: Record<string, unknown> | undefined): Snapshot {
  if (!item) return { exists: false };
  const version = typeof item.version === 'number' ? item.version : undefined;
  const target = toRow(item);
  const credential = target ? undefined : toCredential(item);
  return {
    exists: true,
    ...(version !== undefined ? { version } : {}),
    ...(target ? { target } : {}),
    ...(credential ? { credential } : {}),
  };
}

/** What one item should become: a row to put, a delete, or nothing to write. */
type Plan = { readonly put: LedgerRow | CredentialRow } | { readonly remove: true } | undefined;

/** The condition that the item is still as the snapshot saw it. */
function unchangedSince(snapshot: Snapshot): {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  if (!snapshot.exists) {
    return {
      ConditionExpression: 'attribute_not_exists(#key)',
      ExpressionAttributeNames: { '#key': 'target' },
    };
  }
  if (snapshot.version === undefined) {
    return {
      ConditionExpression: 'attribute_exists(#key) AND attribute_not_exists(#version)',
      ExpressionAttributeNames: { '#key': 'target', '#version': 'version' },
    };
  }
  return {
    ConditionExpression: '#version = :version',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':version': snapshot.version },
  };
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

/** A DynamoDB ledger in `tableName`; the client defaults to the SDK's default chain (honours AWS_ENDPOINT_URL). */
export function dynamoLedger(tableName: string, client?: DynamoDBDocumentClient): Ledger {
  const documents =
    client ??
    DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });

  /** Every item of the table, by key. */
  async function scan(): Promise<Map<string, Snapshot>> {
    const items = new Map<string, Snapshot>();
    let startKey: Record<string, unknown> | undefined;
    do {
      // Consistent: the previous run's writes must be seen, or a failure count would be lost.
      const page = await documents.send(
        new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) {
        if (typeof item.target === 'string') items.set(item.target, snapshotOf(item));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  async function readState(): Promise<LedgerState> {
    return stateOf(await scan());
  }

  async function reread(key: string): Promise<Snapshot> {
    const output = await documents.send(
      new GetCommand({ TableName: tableName, Key: { target: key }, ConsistentRead: true }),
    );
    return snapshotOf(output.Item);
  }

  /** Writes `plan(snapshot)` conditioned on the snapshot; on losing, plans again from the item as it is now. */
  async function commitItem(
    key: string,
    first: Snapshot,
    plan: (snapshot: Snapshot) => Plan,
  ): Promise<{ before: Snapshot; after: Snapshot; written: boolean }> {
    let snapshot = first;
    for (let attempt = 1; ; attempt++) {
      const next = plan(snapshot);
      if (!next) return { before: snapshot, after: snapshot, written: false };
      const version = (snapshot.version ?? 0) + 1;
      try {
        if ('put' in next) {
          await documents.send(
            new PutCommand({
              TableName: tableName,
              Item: { ...next.put, version },
              ...unchangedSince(snapshot),
            }),
          );
          return { before: snapshot, after: snapshotOf({ ...next.put, version }), written: true };
        }
        if (!snapshot.exists) return { before: snapshot, after: snapshot, written: false };
        await documents.send(
          new DeleteCommand({ TableName: tableName, Key: { target: key }, ...unchangedSince(snapshot) }),
        );
        return { before: snapshot, after: { exists: false }, written: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        if (attempt >= CONFLICT_ATTEMPTS) {
          throw new Error(`ledger ${tableName}: item ${key} still contended after ${attempt} attempts`);
        }
      }
      await sleep(CONFLICT_BASE_DELAY_MS * Math.min(attempt, 8) * (0.5 + Math.random()));
      snapshot = await reread(key);
    }
  }

  async function commit(
    result: RunResult,
    knownClusters: readonly string[],
    now: Date,
  ): Promise<LedgerRecord> {
    const items = await scan();
    const { targets, credentials } = stateOf(items);
    // The merge decides which items this run touches; each is then merged again on its own, from the item
    // as it stands when written (the same merge, restricted to that one key).
    const targetChanges = mergeLedger(targets, result, knownClusters, now);
    const credentialChanges = mergeCredentials(credentials, result, knownClusters, now);
    const planTarget =
      (key: string) =>
      (snapshot: Snapshot): Plan => {
        const changes = mergeLedger(snapshot.target ? [snapshot.target] : [], result, knownClusters, now);
        const put = changes.put.find((row) => row.target === key);
        if (put) return { put };
        return changes.remove.includes(key) ? { remove: true } : undefined;
      };
    const planCredential =
      (key: string) =>
      (snapshot: Snapshot): Plan => {
        const previous = snapshot.credential ? [snapshot.credential] : [];
        const changes = mergeCredentials(previous, result, knownClusters, now);
        const put = changes.put.find((row) => row.target === key);
        if (put) return { put };
        return changes.remove.includes(key) ? { remove: true } : undefined;
      };
    const work = [...new Set([...targetChanges.put.map((row) => row.target), ...targetChanges.remove])].map(
      (key) => ({ key, plan: planTarget(key) }),
    );
    for (const key of new Set([
      ...credentialChanges.put.map((row) => row.target),
      ...credentialChanges.remove,
    ]))
      work.push({ key, plan: planCredential(key) });

    const transitions: Transition[] = [];
    await eachLimited(work, WRITE_CONCURRENCY, async ({ key, plan }) => {
      const { before, after, written } = await commitItem(key, items.get(key) ?? { exists: false }, plan);
      items.set(key, after);
      if (!written) return;
      const transition =
        targetTransition(before.target, after.target, now) ??
        credentialTransition(before.credential, after.credential, now);
      if (transition) transitions.push(transition);
    });
    return { ...stateOf(items), transitions };
  }

  return {
    read: async () => (await readState()).targets,
    readState,
    record: async (result, knownClusters, now) => (await commit(result, knownClusters, now)).targets,
    commit,
  };
}

function stateOf(items: ReadonlyMap<string, Snapshot>): LedgerState {
  const targets: LedgerRow[] = [];
  const credentials: CredentialRow[] = [];
  for (const snapshot of items.values()) {
    if (snapshot.target) targets.push(snapshot.target);
    if (snapshot.credential) credentials.push(snapshot.credential);
  }
  return { targets, credentials };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
