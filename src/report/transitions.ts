/**
 * Notifications on transitions (pure): what changed between a ledger item as it was and as a run wrote
 * it, and the messages that say so, one per cluster per run. A target that stays broken changes nothing
 * worth saying, so it says nothing; a second cluster breaking is its own transition, whatever the first
 * is doing. The stored `alert` of each item is what makes a transition happen once: the writer whose
 * conditional write moved it is the one that notifies (src/aws/ledger.ts).
 *
 * Also here: whether a run could not work at all, the only case in which the Lambda ends in error.
 */
import type { KindId } from '../kinds/kind.ts';
import type { RunResult } from '../run/types.ts';
import { FAILURE_ADVICE, FAILURE_CLASSES, type FailureClass } from './classify.ts';
import {
  type CredentialRow,
  credentialAdvice,
  credentialSecondsLeft,
  type LedgerRow,
  secondsLeft,
  VALIDITY_THRESHOLDS_SECONDS,
} from './fleet.ts';

/** A delivery target's transition. */
export interface TargetTransition {
  /** `failing`: it started failing; `at-risk`: it is failing and short of validity; `recovered`: delivered again. */
  readonly type: 'failing' | 'at-risk' | 'recovered';
  readonly cluster: string;
  readonly kind: KindId;
  readonly namespace: string;
  readonly secretName: string;
  /** The last failure (for `recovered`: the one it recovered from). */
  readonly failureClass?: FailureClass;
  /** The run's scrubbed message: never secret material. */
  readonly reason?: string;
  /** Validity left at the transition (seconds; negative once expired). */
  readonly secondsLeft: number;
}

/** A cluster's stored credential came within CREDENTIAL_EXPIRY_WARNING_SECONDS of its expiry. */
export interface CredentialTransition {
  readonly type: 'credential-expiring';
  readonly cluster: string;
  readonly credentialKind: CredentialRow['credentialKind'];
  readonly expiresAt: string;
  readonly secondsLeft: number;
  readonly renewalFailureClass?: FailureClass;
  readonly advice: string;
}

export type Transition = TargetTransition | CredentialTransition;

/**
 * The transition between a target's item before and after a write, if any: none alert → `failing` or
 * `at-risk` (it started failing, maybe already short of validity); `failing` → `at-risk`; a problem →
 * none (recovered). `at-risk` → `failing` (a fresh credential written, yet the target still failed) says
 * nothing: it is still the same problem. A target leaving the ledger (pruned, cluster removed) says nothing.
 */
export function targetTransition(
  before: LedgerRow | undefined,
  after: LedgerRow | undefined,
  now: Date,
): TargetTransition | undefined {
  if (!after) return undefined;
  const was = before?.alert;
  const is = after.alert;
  let type: TargetTransition['type'] | undefined;
  if (is === 'at-risk' && was !== 'at-risk') type = 'at-risk';
  else if (is === 'failing' && was === undefined) type = 'failing';
  else if (is === undefined && was !== undefined) type = 'recovered';
  if (!type) return undefined;
  const failureClass = after.lastFailureClass ?? before?.lastFailureClass;
  const reason = type === 'recovered' ? undefined : after.lastFailureReason;
  return {
    type,
    cluster: after.cluster,
    kind: after.kind,
    namespace: after.namespace,
    secretName: after.secretName,
    ...(failureClass ? { failureClass } : {}),
    ...(reason ? { reason } : {}),
    secondsLeft: secondsLeft(after, now),
  };
}

/** The transition of a cluster's credential item: it became `expiring`. Renewed again says nothing. */
export function credentialTransition(
  before: CredentialRow | undefined,
  after: CredentialRow | undefined,
  now: Date,
): CredentialTransition | undefined {
  if (after?.alert !== 'expiring' || before?.alert === 'expiring' || !after.expiresAt) return undefined;
  return {
    type: 'credential-expiring',
    cluster: after.cluster,
    credentialKind: after.credentialKind,
    expiresAt: after.expiresAt,
    secondsLeft: credentialSecondsLeft(after, now) ?? 0,
    ...(after.renewalFailureClass ? { renewalFailureClass: after.renewalFailureClass } : {}),
    advice: credentialAdvice(after),
  };
}

/** One message for the alarm topic. */
export interface Notification {
  readonly cluster: string;
  /** SNS subject: printable ASCII, one line, at most 100 characters. */
  readonly subject: string;
  readonly message: string;
  readonly transitions: readonly Transition[];
}

const SUBJECT_LIMIT = 100;
/** Targets listed by name in one message; the rest are counted. */
const LISTED_TARGETS = 10;

/** A subject SNS accepts: printable ASCII, one line, at most 100 characters. */
function subjectText(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= SUBJECT_LIMIT ? ascii : `${ascii.slice(0, SUBJECT_LIMIT - 3)}...`;
}

/** `3h 05m`, `6d 23h`, `-2h 10m` (negative: that long ago). */
function durationText(totalSeconds: number): string {
  const sign = totalSeconds < 0 ? '-' : '';
  const s = Math.abs(totalSeconds);
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) return `${sign}${days}d ${hours}h`;
  return `${sign}${hours}h ${String(minutes).padStart(2, '0')}m`;
}

const TARGET_HEADINGS: Record<TargetTransition['type'], string> = {
  failing: 'started failing',
  'at-risk': 'failing, credentials at risk',
  recovered: 'recovered',
};

function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function targetSection(type: TargetTransition['type'], transitions: readonly TargetTransition[]): string[] {
  const kinds = distinct(transitions.map((t) => t.kind)).sort();
  const classes = distinct(transitions.flatMap((t) => (t.failureClass ? [t.failureClass] : []))).sort();
  const lines = [
    `${transitions.length} target(s) ${TARGET_HEADINGS[type]} (kind: ${kinds.join(', ')}${
      classes.length > 0 ? `; failure class: ${classes.join(', ')}` : ''
    }):`,
  ];
  for (const t of transitions.slice(0, LISTED_TARGETS)) {
    const validity =
      t.secondsLeft <= 0 ? 'no valid credential left' : `${durationText(t.secondsLeft)} of validity left`;
    lines.push(
      `  - ${t.kind} ${t.namespace}/${t.secretName}: ${validity}${t.reason ? ` (${t.reason})` : ''}`,
    );
  }
  if (transitions.length > LISTED_TARGETS) lines.push(`  - and ${transitions.length - LISTED_TARGETS} more`);
  if (type === 'at-risk') {
    const thresholds = kinds.map((k) => `${k} ${durationText(VALIDITY_THRESHOLDS_SECONDS[k])}`).join(', ');
    lines.push(`  Under the kind's threshold (${thresholds}): workloads fail once the credentials expire.`);
  }
  if (type !== 'recovered') {
    for (const failureClass of classes) {
      lines.push(
        `  What to do (${failureClass}: ${FAILURE_CLASSES[failureClass]}): ${FAILURE_ADVICE[failureClass]}.`,
      );
    }
  }
  return lines;
}

function credentialSection(t: CredentialTransition): string[] {
  const when =
    t.secondsLeft <= 0
      ? `expired at ${t.expiresAt}`
      : `expires at ${t.expiresAt} (in ${durationText(t.secondsLeft)})`;
  return [
    `The stored kubeconfig's credential (${t.credentialKind}) ${when}; delivery to every target of the cluster stops then.`,
    ...(t.renewalFailureClass ? [`  Its renewal keeps failing: ${t.renewalFailureClass}.`] : []),
    `  What to do: ${t.advice}.`,
  ];
}

/** The most urgent transition of a cluster gives the subject. */
function subjectFor(cluster: string, transitions: readonly Transition[]): string {
  const count = (type: Transition['type']) => transitions.filter((t) => t.type === type).length;
  const parts: string[] = [];
  if (count('credential-expiring') > 0) parts.push('credential expiring');
  if (count('at-risk') > 0) parts.push(`${count('at-risk')} at risk`);
  if (count('failing') > 0) parts.push(`${count('failing')} failing`);
  if (count('recovered') > 0) parts.push(`${count('recovered')} recovered`);
  return subjectText(`cred-courier ${cluster}: ${parts.join(', ')}`);
}

/**
 * One notification per cluster with transitions, in cluster order: a cluster with 40 targets failing
 * at once sends one message, naming the cluster, the kinds, the failure classes and what to do.
 */
export function notificationsFor(transitions: readonly Transition[]): Notification[] {
  const byCluster = new Map<string, Transition[]>();
  for (const t of transitions) byCluster.set(t.cluster, [...(byCluster.get(t.cluster) ?? []), t]);
  return [...byCluster.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([cluster, group]) => {
      const lines = [`Cluster ${cluster}:`];
      for (const t of group) if (t.type === 'credential-expiring') lines.push(...credentialSection(t));
      for (const type of ['at-risk', 'failing', 'recovered'] as const) {
        const ofType = group.filter((t): t is TargetTransition => t.type === type);
        if (ofType.length > 0) lines.push(...targetSection(type, ofType));
      }
      lines.push('Every target and its state: npx cred-courier ledger');
      return { cluster, subject: subjectFor(cluster, group), message: lines.join('\n'), transitions: group };
    });
}

/**
 * Why a run could not work at all, or undefined when it did its job for at least part of the fleet
 * (a cluster failing is the notifications' business, not the invocation's). A run could not work when
 * - every mint failed (AWS refused every credential: nothing could be delivered anywhere), or
 * - it had two or more clusters and every one failed with the same class among `kubeconfig` (Secrets
 *   Manager unreadable for all: the function's own access), `deadline` (the function ran out of time
 *   before reaching any) and `mint`: one cause outside the clusters.
 * A configuration that cannot be read, a bad event and a crash throw before a result exists, and end in
 * error too. A single-cluster fleet whose cluster fails is a cluster problem: it is notified, not paged.
 */
export function unworkableReason(result: RunResult): string | undefined {
  if (result.mints.length > 0 && result.mints.every((m) => m.failure)) {
    return `every mint failed (${result.mints.length}): ${distinct(result.mints.map((m) => m.failure?.failureClass)).join(', ')}`;
  }
  const clusters = result.clusters;
  if (clusters.length < 2 || clusters.some((c) => c.ok)) return undefined;
  const classes = distinct(clusters.map((c) => c.failure?.failureClass));
  const [only] = classes;
  if (classes.length === 1 && only !== undefined && NON_CLUSTER_CLASSES.has(only)) {
    return `every cluster (${clusters.length}) failed with ${only}: ${FAILURE_CLASSES[only]}`;
  }
  return undefined;
}

/** Failure classes whose cause is the function's side (AWS access, its time), not a cluster. */
const NON_CLUSTER_CLASSES: ReadonlySet<FailureClass> = new Set(['kubeconfig', 'deadline', 'mint']);
