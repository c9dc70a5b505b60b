/**
 * The fleet over time (pure): the delivery ledger's rows, how a run changes them, and what they say about
 * the credentials now in the clusters. A run only knows what it just did; the ledger remembers when each
 * target last received a credential and when that credential expires, so a cluster that keeps failing
 * shows its old credentials ageing until an alarm fires — before its workloads fail.
 */
import type { KindId } from '../kinds/kind.ts';
import type { ClusterResult, CredentialState, Failure, RunResult, SecretOutcome } from '../run/types.ts';
import type { FailureClass } from './classify.ts';

/**
 * Seconds of validity left below which a target is at risk, per kind: the alarm thresholds.
 * - `ecr`: 4 h (14400 s). Tokens live 12 h and are delivered every 4 h, so a healthy target never has
 *   less than about 8 h left; under 4 h, two deliveries in a row have been missed.
 * - `s3`: 20 min (1200 s). Sessions live at least the cadence (interval + kubelet lag + SDK refresh
 *   window + margin); under 20 min the consumer's SDK is already inside its refresh window.
 * - `aws`: as `s3`: role sessions on the same schedule, under the same cadence rule.
 */
export const VALIDITY_THRESHOLDS_SECONDS = {
  ecr: 14_400,
  s3: 1_200,
  aws: 1_200,
} as const satisfies Record<KindId, number>;

export type ValidityThresholds = Readonly<Record<KindId, number>>;

/** One delivery target in the ledger: a Secret of one kind in one namespace of one cluster. */
export interface LedgerRow {
  /** Partition key: `<cluster>#<kind>#<namespace>/<secretName>`. */
  readonly target: string;
  readonly cluster: string;
  readonly kind: KindId;
  readonly namespace: string;
  readonly secretName: string;
  /** When a credential was last written there (ISO 8601). */
  readonly lastSuccessAt?: string;
  /** When the credential last written there expires (ISO 8601). */
  readonly expiresAt?: string;
  /** Runs in a row that failed to deliver there; 0 after a delivery. */
  readonly consecutiveFailures: number;
  readonly lastFailureClass?: FailureClass;
  readonly lastFailureAt?: string;
  /** The run's scrubbed message: never secret material. */
  readonly lastFailureReason?: string;
  /**
   * The problem last recorded (and notified) for this target: `failing`, or `at-risk` (failing with less
   * validity left than the kind's threshold); absent when healthy. Stored with the row so a transition is
   * seen once, by the writer that records it.
   */
  readonly alert?: TargetAlert;
}

/** A target's problem, from least to most urgent. */
export type TargetAlert = 'failing' | 'at-risk';

/** What to write to the ledger after a run: rows to put (whole items) and target keys to delete. */
export interface LedgerChanges {
  readonly put: LedgerRow[];
  readonly remove: string[];
}

/** The ledger's key of a target. */
export function targetKey(cluster: string, kind: string, namespace: string, secretName: string): string {
  return `${cluster}#${kind}#${namespace}/${secretName}`;
}

/** A row as it stands before this run, or a fresh one for a target never seen. */
function baseRow(
  previous: ReadonlyMap<string, LedgerRow>,
  cluster: string,
  outcome: SecretOutcome,
): LedgerRow {
  const key = targetKey(cluster, outcome.kind, outcome.namespace, outcome.secretName);
  return (
    previous.get(key) ?? {
      target: key,
      cluster,
      kind: outcome.kind,
      namespace: outcome.namespace,
      secretName: outcome.secretName,
      consecutiveFailures: 0,
    }
  );
}

/** The row after a failure: the count goes up, the last success and its expiry stay (they keep ageing). */
function withFailure(row: LedgerRow, failure: Failure, now: Date): LedgerRow {
  return {
    ...row,
    consecutiveFailures: row.consecutiveFailures + 1,
    lastFailureClass: failure.failureClass,
    lastFailureAt: now.toISOString(),
    lastFailureReason: failure.message,
  };
}

/**
 * The row after one Secret's outcome. A written Secret (`action`) sets the last success and expiry; a
 * failure counts, even next to a write (the Secret was written but a ServiceAccount could not reference
 * it): the run reports that target as failed too.
 */
function applyOutcome(row: LedgerRow, outcome: SecretOutcome, now: Date): LedgerRow {
  let next = row;
  if (outcome.action) {
    const { expiresAt: _previousExpiry, ...rest } = row;
    next = {
      ...rest,
      lastSuccessAt: now.toISOString(),
      ...(outcome.expiresAt ? { expiresAt: outcome.expiresAt } : {}),
      consecutiveFailures: 0,
    };
  }
  return outcome.failure ? withFailure(next, outcome.failure, now) : next;
}

/** The changes one cluster's result makes to the rows of that cluster. */
function mergeCluster(
  previous: ReadonlyMap<string, LedgerRow>,
  cluster: ClusterResult,
  kinds: ReadonlySet<KindId>,
  now: Date,
): LedgerChanges {
  const put = new Map<string, LedgerRow>();
  for (const outcome of cluster.secrets) {
    const row = applyOutcome(baseRow(previous, cluster.cluster, outcome), outcome, now);
    put.set(row.target, row);
  }
  // A cluster stopped by a failure: every target it did not get to shares that failure.
  const { failure } = cluster;
  if (failure) {
    for (const row of previous.values()) {
      if (row.cluster === cluster.cluster && kinds.has(row.kind) && !put.has(row.target)) {
        put.set(row.target, withFailure(row, failure, now));
      }
    }
  }
  const remove = cluster.pruned
    .filter((p) => !p.failure)
    .map((p) => targetKey(cluster.cluster, p.kind, p.namespace, p.secretName))
    .filter((key) => previous.has(key) && !put.has(key));
  return { put: [...put.values()], remove };
}

/**
 * What a run changes in the ledger. Per cluster of the run: a written Secret resets its failures and sets
 * `lastSuccessAt` (now) and `expiresAt`; a failed one counts a failure and keeps its last success and
 * expiry; a cluster stopped by a failure (unreachable, 401, …) counts it on each of its previous rows of
 * the run's kinds that no Secret outcome covered; pruned Secrets leave the ledger. Rows of clusters no
 * longer in `knownClusters` leave the ledger; rows of kinds or clusters not in this run are untouched.
 */
export function mergeLedger(
  previous: readonly LedgerRow[],
  result: RunResult,
  knownClusters: readonly string[],
  now: Date,
): LedgerChanges {
  const byTarget = new Map(previous.map((row) => [row.target, row]));
  const known = new Set(knownClusters);
  const kinds = new Set(result.kinds);
  const put: LedgerRow[] = [];
  const remove = new Set<string>();
  for (const cluster of result.clusters) {
    if (!known.has(cluster.cluster)) continue;
    const changes = mergeCluster(byTarget, cluster, kinds, now);
    put.push(...changes.put);
    for (const key of changes.remove) remove.add(key);
  }
  for (const row of previous) if (!known.has(row.cluster)) remove.add(row.target);
  return { put: put.map((row) => withAlert(row, now)), remove: [...remove] };
}

/** A target's problem at `now`: failing (its last delivery failed), and at risk when also short of validity. */
export function targetAlert(
  row: LedgerRow,
  now: Date,
  thresholds: ValidityThresholds = VALIDITY_THRESHOLDS_SECONDS,
): TargetAlert | undefined {
  if (row.consecutiveFailures === 0) return undefined;
  return secondsLeft(row, now) < thresholds[row.kind] ? 'at-risk' : 'failing';
}

function withAlert(row: LedgerRow, now: Date): LedgerRow {
  const { alert: _previous, ...rest } = row;
  const alert = targetAlert(row, now);
  return alert ? { ...rest, alert } : rest;
}

/** The ledger's rows once `changes` are written: what a reader sees next. */
export function applyChanges(previous: readonly LedgerRow[], changes: LedgerChanges): LedgerRow[] {
  const rows = new Map(previous.map((row) => [row.target, row]));
  for (const key of changes.remove) rows.delete(key);
  for (const row of changes.put) rows.set(row.target, row);
  return [...rows.values()];
}

/** How one target stands at `now`. */
export interface TargetStatus {
  /** expiresAt − now in whole seconds; negative once expired; 0 when never delivered. */
  readonly secondsLeft: number;
  /** Fewer seconds left than the kind's threshold. */
  readonly atRisk: boolean;
  /** The last run (or more) failed to deliver there. */
  readonly failed: boolean;
  /** No valid credential is left there (expired, or never delivered). */
  readonly expired: boolean;
}

/** Seconds of validity a row has left at `now`; a row never delivered counts as 0. */
export function secondsLeft(row: LedgerRow, now: Date): number {
  if (!row.expiresAt) return 0;
  const expires = Date.parse(row.expiresAt);
  // An unreadable date is treated like no credential: it must not look healthy.
  return Number.isNaN(expires) ? 0 : Math.floor((expires - now.getTime()) / 1000);
}

/** A target's validity, risk and failure at `now`. */
export function targetStatus(
  row: LedgerRow,
  now: Date,
  thresholds: ValidityThresholds = VALIDITY_THRESHOLDS_SECONDS,
): TargetStatus {
  const left = secondsLeft(row, now);
  return {
    secondsLeft: left,
    atRisk: left < thresholds[row.kind],
    failed: row.consecutiveFailures > 0,
    expired: left <= 0,
  };
}

/** The fleet's state for one kind: what the alarms watch. */
export interface KindFleetMetrics {
  /** The least validity left over the kind's targets, in seconds (negative when one has expired). */
  readonly minSecondsOfValidityLeft: number;
  /** Targets with less validity left than the kind's threshold. */
  readonly targetsAtRisk: number;
  /** Targets whose last delivery failed (consecutiveFailures > 0). */
  readonly targetsFailed: number;
  readonly targets: number;
}

/** Per kind with at least one target in the ledger. */
export type FleetMetrics = Partial<Record<KindId, KindFleetMetrics>>;

/** The fleet's state per kind at `now`, from every ledger row (not only the last run's). */
export function fleetMetrics(
  rows: readonly LedgerRow[],
  now: Date,
  thresholds: ValidityThresholds = VALIDITY_THRESHOLDS_SECONDS,
): FleetMetrics {
  const fleet: FleetMetrics = {};
  for (const row of rows) {
    const status = targetStatus(row, now, thresholds);
    const current = fleet[row.kind];
    fleet[row.kind] = {
      minSecondsOfValidityLeft: Math.min(current?.minSecondsOfValidityLeft ?? Infinity, status.secondsLeft),
      targetsAtRisk: (current?.targetsAtRisk ?? 0) + (status.atRisk ? 1 : 0),
      targetsFailed: (current?.targetsFailed ?? 0) + (status.failed ? 1 : 0),
      targets: (current?.targets ?? 0) + 1,
    };
  }
  return fleet;
}

// ---------------------------------------------------------------------------------------------------
// The clusters' own credentials
// ---------------------------------------------------------------------------------------------------

/**
 * Remaining validity of a stored cluster credential below which it is close to expiry: 7 days. A token
 * renews itself well before (at a fraction of its lifetime); under 7 days, renewal has been failing for
 * days, or the credential cannot renew itself (a client certificate): a person has a week to act.
 */
export const CREDENTIAL_EXPIRY_WARNING_SECONDS = 7 * 24 * 3600;

/** One cluster's stored kubeconfig credential, as the ledger keeps it (an item beside its targets). */
export interface CredentialRow {
  /** Partition key: `cluster#<cluster>#credential` (target keys always hold a `/`, so they never collide). */
  readonly target: string;
  readonly record: 'credential';
  readonly cluster: string;
  readonly credentialKind: CredentialState['kind'];
  /** When the stored credential stops working (ISO 8601); absent when it never expires. */
  readonly expiresAt?: string;
  /** When a run last reported it. */
  readonly seenAt: string;
  /** The last renewal that failed, and why (scrubbed); absent after a renewal or when none was due. */
  readonly renewalFailureClass?: FailureClass;
  readonly renewalFailureReason?: string;
  /** `expiring` once notified as close to expiry; absent while it has more than the warning left. */
  readonly alert?: 'expiring';
}

/** The ledger's key of a cluster's credential item. */
export function credentialKey(cluster: string): string {
  return `cluster#${cluster}#credential`;
}

/** Seconds a stored credential has left at `now`; undefined when it never expires. */
export function credentialSecondsLeft(row: CredentialRow, now: Date): number | undefined {
  if (!row.expiresAt) return undefined;
  const expires = Date.parse(row.expiresAt);
  return Number.isNaN(expires) ? 0 : Math.floor((expires - now.getTime()) / 1000);
}

/** What a cluster's credential needs from a person, in words. */
export function credentialAdvice(row: CredentialRow): string {
  return row.credentialKind === 'client-certificate'
    ? `replace the client certificate in the stored kubeconfig and store it again (npx cred-courier register ${row.cluster} --kubeconfig <admin kubeconfig>)`
    : `renewal is not keeping it fresh: npx cred-courier register ${row.cluster} --kubeconfig <admin kubeconfig> --rotate`;
}

/**
 * What a run changes in the clusters' credential items: each cluster of the run that reported its
 * credential gets its item put (the expiry, the last renewal failure, and `alert: expiring` under
 * CREDENTIAL_EXPIRY_WARNING_SECONDS); items of clusters no longer in `knownClusters` leave the ledger.
 * A cluster that did not report one (stopped before reading it) keeps its item as it was.
 */
export function mergeCredentials(
  previous: readonly CredentialRow[],
  result: RunResult,
  knownClusters: readonly string[],
  now: Date,
): { readonly put: CredentialRow[]; readonly remove: string[] } {
  const known = new Set(knownClusters);
  const put: CredentialRow[] = [];
  for (const cluster of result.clusters) {
    const credential = cluster.credential;
    if (!credential || !known.has(cluster.cluster)) continue;
    const failure = credential.renewal?.outcome === 'failed' ? credential.renewal.failure : undefined;
    const row: CredentialRow = {
      target: credentialKey(cluster.cluster),
      record: 'credential',
      cluster: cluster.cluster,
      credentialKind: credential.kind,
      ...(credential.expiresAt ? { expiresAt: credential.expiresAt } : {}),
      seenAt: now.toISOString(),
      ...(failure
        ? { renewalFailureClass: failure.failureClass, renewalFailureReason: failure.message }
        : {}),
    };
    const left = credentialSecondsLeft(row, now);
    put.push(
      left !== undefined && left < CREDENTIAL_EXPIRY_WARNING_SECONDS ? { ...row, alert: 'expiring' } : row,
    );
  }
  const remove = previous.filter((row) => !known.has(row.cluster)).map((row) => row.target);
  return { put, remove };
}

/**
 * The least validity left over the clusters' stored credentials that expire and have not expired yet;
 * undefined when none does. An expired one already breaks its cluster's delivery, which the failing
 * alarm and the notifications report: counting it too would keep the credential alarm in ALARM for good
 * (a decommissioned cluster left in the file) and hide the next credential that nears its expiry.
 */
export function minCredentialSecondsLeft(rows: readonly CredentialRow[], now: Date): number | undefined {
  let least: number | undefined;
  for (const row of rows) {
    const left = credentialSecondsLeft(row, now);
    if (left !== undefined && left > 0) least = Math.min(least ?? Infinity, left);
  }
  return least;
}
