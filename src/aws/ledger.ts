/**
 * The delivery ledger in DynamoDB: one item per delivery target (cluster × kind × namespace/Secret),
 * remembering its last success, the expiry of what was delivered and its failures in a row. The table
 * is small (one item per Secret cred-courier writes), so a run reads all of it with a Scan, merges its
 * result in (pure, `mergeLedger`) and writes back only the items it changed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { KIND_IDS } from '../kinds/kind.ts';
import { FAILURE_CLASSES, type FailureClass } from '../report/classify.ts';
import { applyChanges, type LedgerChanges, type LedgerRow, mergeLedger } from '../report/fleet.ts';
import type { RunResult } from '../run/types.ts';

export type { LedgerRow } from '../report/fleet.ts';

/** The environment variable naming the ledger's table; without it, no ledger is kept. */
export const LEDGER_TABLE_ENV = 'CRED_COURIER_LEDGER_TABLE';

/** The ledger of delivery targets. */
export interface Ledger {
  /** Every valid row of the table. */
  read(): Promise<LedgerRow[]>;
  /** Merges a run's result into the table and returns the rows now in it. */
  record(result: RunResult, knownClusters: readonly string[], now: Date): Promise<LedgerRow[]>;
}

/** BatchWriteItem takes at most 25 requests. */
const BATCH_SIZE = 25;
/** Attempts at a batch whose items DynamoDB left unprocessed (throttling), with doubling waits. */
const UNPROCESSED_ATTEMPTS = 6;
const UNPROCESSED_BASE_DELAY_MS = 50;

const optionalString = z.string().min(1).optional();
const FAILURE_CLASS_NAMES = Object.keys(FAILURE_CLASSES) as [FailureClass, ...FailureClass[]];

/** An item as stored; items of another shape (written by hand, or by a newer version) are skipped. */
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
});

/** A stored item as a row, or undefined when it is not one. */
function toRow(item: Record<string, unknown>): LedgerRow | undefined {
  const parsed = RowSchema.safeParse(item);
  if (!parsed.success) return undefined;
  // An unknown failure class is dropped rather than kept as an undefined attribute.
  const { lastFailureClass, ...row } = parsed.data;
  return lastFailureClass ? { ...row, lastFailureClass } : row;
}

/** Splits a list into chunks of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

/** The write requests of a set of changes: whole items to put, keys to delete. */
function writeRequests(changes: LedgerChanges): WriteRequests {
  const put = new Set(changes.put.map((row) => row.target));
  return [
    ...changes.put.map((row) => ({ PutRequest: { Item: { ...row } } })),
    // One batch may not touch a key twice; a row put this run is not also deleted.
    ...changes.remove
      .filter((key) => !put.has(key))
      .map((key) => ({ DeleteRequest: { Key: { target: key } } })),
  ];
}

/** A DynamoDB ledger in `tableName`; the client defaults to the SDK's default chain (honours AWS_ENDPOINT_URL). */
export function dynamoLedger(tableName: string, client?: DynamoDBDocumentClient): Ledger {
  const documents =
    client ??
    DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });

  async function read(): Promise<LedgerRow[]> {
    const rows: LedgerRow[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      // Consistent: the previous run's writes must be seen, or a failure count would be lost.
      const page = await documents.send(
        new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) {
        const row = toRow(item);
        if (row) rows.push(row);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return rows;
  }

  /** Writes one batch, again for whatever DynamoDB leaves unprocessed, until all is written or attempts end. */
  async function writeBatch(requests: WriteRequests): Promise<void> {
    let pending = requests;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= UNPROCESSED_ATTEMPTS)
        throw new Error(
          `ledger ${tableName}: ${pending.length} writes still unprocessed after ${attempt} attempts`,
        );
      if (attempt > 0) await sleep(UNPROCESSED_BASE_DELAY_MS * 2 ** (attempt - 1));
      const output = await documents.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = output.UnprocessedItems?.[tableName] ?? [];
    }
  }

  async function record(
    result: RunResult,
    knownClusters: readonly string[],
    now: Date,
  ): Promise<LedgerRow[]> {
    const previous = await read();
    const changes = mergeLedger(previous, result, knownClusters, now);
    for (const batch of chunks(writeRequests(changes), BATCH_SIZE)) await writeBatch(batch);
    return applyChanges(previous, changes);
  }

  return { read, record };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
