/**
 * After a run: record it in the ledger and notify the transitions this writer recorded, one message per
 * cluster. Callable without the Lambda (a test drives it with its own clock, ledger and notifier); the
 * handler and `cred-courier run --ledger-table` call it. Neither a ledger nor a notifier that fails ever
 * changes the run's own result: both are logged.
 */
import type { Ledger } from '../aws/ledger.ts';
import type { Notifier } from '../aws/notifier.ts';
import { describeFailure } from '../report/classify.ts';
import { type FleetMetrics, fleetMetrics, minCredentialSecondsLeft } from '../report/fleet.ts';
import type { RunLogger } from '../report/logger.ts';
import { type Notification, notificationsFor, type Transition } from '../report/transitions.ts';
import type { RunResult } from './types.ts';

export interface RecordOptions {
  readonly ledger: Ledger;
  /** Without one, transitions are worked out and logged but sent nowhere. */
  readonly notifier?: Notifier;
  readonly now: () => Date;
  readonly logger: RunLogger;
}

export interface Recorded {
  /** False when the ledger could not be read or written (then nothing else here is known). */
  readonly recorded: boolean;
  /** The fleet's state per kind, from every target in the ledger; `{}` when not recorded. */
  readonly fleet: FleetMetrics;
  /** The least validity left over the clusters' stored credentials; undefined when none expires or not recorded. */
  readonly minCredentialSecondsLeft?: number;
  readonly targets: number;
  /** The transitions this call recorded. */
  readonly transitions: readonly Transition[];
  /** The messages sent, and those that could not be. */
  readonly notified: readonly Notification[];
  readonly notNotified: readonly Notification[];
}

/** Records `result` in the ledger and notifies its transitions. Never throws for the ledger or the topic. */
export async function recordAndNotify(
  result: RunResult,
  knownClusters: readonly string[],
  options: RecordOptions,
): Promise<Recorded> {
  const { ledger, notifier, logger } = options;
  const now = options.now();
  let record: Awaited<ReturnType<Ledger['commit']>>;
  try {
    record = await ledger.commit(result, knownClusters, now);
  } catch (error) {
    logger.error('ledger not updated', { reason: describeFailure(error) });
    return { recorded: false, fleet: {}, targets: 0, transitions: [], notified: [], notNotified: [] };
  }
  const fleet = fleetMetrics(record.targets, now);
  const minCredential = minCredentialSecondsLeft(record.credentials, now);
  logger.info('ledger recorded', {
    targets: record.targets.length,
    fleet,
    transitions: record.transitions.length,
  });
  const notified: Notification[] = [];
  const notNotified: Notification[] = [];
  for (const notification of notificationsFor(record.transitions)) {
    const attributes = {
      cluster: notification.cluster,
      subject: notification.subject,
      transitions: notification.transitions.map((t) => t.type),
    };
    if (!notifier) {
      logger.info('transition not notified (no alarm topic)', attributes);
      notNotified.push(notification);
      continue;
    }
    try {
      await notifier.notify(notification);
      logger.info('transition notified', attributes);
      notified.push(notification);
    } catch (error) {
      logger.error('notification not sent', { ...attributes, reason: describeFailure(error) });
      notNotified.push(notification);
    }
  }
  return {
    recorded: true,
    fleet,
    ...(minCredential !== undefined ? { minCredentialSecondsLeft: minCredential } : {}),
    targets: record.targets.length,
    transitions: record.transitions,
    notified,
    notNotified,
  };
}
