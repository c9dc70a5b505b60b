/**
 * The S3 cadence rule (pure): how long a delivered S3 session must live given how often the S3 schedule
 * delivers a new one.
 *
 * A session minted and delivered at time t expires at t + durationSeconds. The next one is delivered at
 * t + interval at the latest, and the kubelet copies it into the Pod's Secret volume up to the kubelet lag
 * after that. The consumer's SDK re-runs credential_process (reads the file again) once the credential it
 * holds is within its refresh window of expiry, i.e. at t + durationSeconds - window. For that read to
 * find the new credential, the file must have been updated before then, with a margin:
 *
 *   interval + kubelet lag + SDK refresh window + margin < durationSeconds
 *
 * Otherwise the SDK reads the old credential again, keeps it until it expires, and the workload fails.
 */

/** Allowances added to the schedule interval, in seconds. */
export const CADENCE_ALLOWANCES = {
  /** Kubelet lag: Secret volumes are re-synced every 60 s (kubelet sync period) plus the Secret cache delay. */
  KUBELET_LAG_SECONDS: 120,
  /** SDK refresh window: boto3 refreshes up to 15 min before expiry (the AWS SDK for JavaScript v3: 5 min). */
  SDK_REFRESH_WINDOW_SECONDS: 900,
  /** Margin: a late or retried schedule run, a slow STS call, clock skew. */
  MARGIN_SECONDS: 300,
} as const;

/**
 * The time from one delivery until the consumer's SDK must be able to read the next one:
 * `intervalMinutes * 60` plus every allowance. A grant's `durationSeconds` must be greater than this.
 */
export function cadenceSeconds(intervalMinutes: number): number {
  return (
    intervalMinutes * 60 +
    CADENCE_ALLOWANCES.KUBELET_LAG_SECONDS +
    CADENCE_ALLOWANCES.SDK_REFRESH_WINDOW_SECONDS +
    CADENCE_ALLOWANCES.MARGIN_SECONDS
  );
}

/** Seconds every session must outlive the schedule interval by: `cadenceSeconds(0)`, 1320. */
export const CADENCE_ALLOWANCE_SECONDS = cadenceSeconds(0);

/** The shortest `durationSeconds` accepted with this schedule interval: `cadenceSeconds + 1` (2221 for 15 min). */
export function minimumDurationSeconds(intervalMinutes: number): number {
  return cadenceSeconds(intervalMinutes) + 1;
}

/**
 * Longest session AWS grants to a role assumed from a role session (role chaining). cred-courier mints
 * from the Lambda's role session, so this caps every grant that does not set `longSessions`.
 */
export const ROLE_CHAINING_MAX_SECONDS = 3600;
/** Longest session `AssumeRole` grants at all (an IAM user's, or a role's maximum session duration). */
export const LONG_SESSION_MAX_SECONDS = 43200;

/** The longest schedule interval, in whole minutes, that sessions of `durationSeconds` cover (0: none). */
export function longestIntervalMinutes(durationSeconds: number): number {
  return Math.max(0, Math.floor((durationSeconds - minimumDurationSeconds(0)) / 60));
}

/**
 * Why sessions of `durationSeconds` are too short for an S3 schedule every `intervalMinutes`, or
 * undefined when they are long enough. The text shows the arithmetic, is meant to follow a path, and
 * only advises values the grant can take: at most 3600 s unless it sets `longSessions`.
 */
export function cadenceProblem(
  intervalMinutes: number,
  durationSeconds: number,
  longSessions = false,
): string | undefined {
  const needed = cadenceSeconds(intervalMinutes);
  if (needed < durationSeconds) return undefined;
  const { KUBELET_LAG_SECONDS, SDK_REFRESH_WINDOW_SECONDS, MARGIN_SECONDS } = CADENCE_ALLOWANCES;
  const why =
    `${durationSeconds} s is too short for an S3 schedule every ${intervalMinutes} min: ` +
    `${intervalMinutes} min × 60 + ${KUBELET_LAG_SECONDS} s kubelet lag + ${SDK_REFRESH_WINDOW_SECONDS} s SDK refresh window + ` +
    `${MARGIN_SECONDS} s margin = ${needed} s, and durationSeconds must be greater: a delivered credential must ` +
    "still be valid when the consumer's SDK next decides to refresh after the kubelet updated the file; ";
  const cap = longSessions ? LONG_SESSION_MAX_SECONDS : ROLE_CHAINING_MAX_SECONDS;
  const keeping = longestIntervalMinutes(durationSeconds);
  if (needed + 1 <= cap) {
    const most = longSessions ? '' : ` (at most ${ROLE_CHAINING_MAX_SECONDS} without longSessions)`;
    const lower = keeping >= 1 ? `, or lower settings.s3IntervalMinutes to ${keeping} or less` : '';
    return `${why}set durationSeconds to at least ${needed + 1}${most}${lower}`;
  }
  const largest = longestIntervalMinutes(ROLE_CHAINING_MAX_SECONDS);
  const orKeeping =
    keeping >= 1 && keeping < largest
      ? `, or to ${keeping} or less keeping durationSeconds ${durationSeconds}`
      : '';
  return (
    `${why}no durationSeconds can cover it without longSessions, which AWS caps at ${ROLE_CHAINING_MAX_SECONDS} s for a ` +
    "session assumed from a role session (role chaining: the function mints from its role's session): " +
    `lower settings.s3IntervalMinutes to ${largest} or less, the largest interval that works without longSessions ` +
    `(${largest} min × 60 + ${cadenceSeconds(0)} s = ${cadenceSeconds(largest)} s < ${ROLE_CHAINING_MAX_SECONDS} s), with ` +
    `durationSeconds ${ROLE_CHAINING_MAX_SECONDS}${orKeeping}. longSessions: true (up to ${LONG_SESSION_MAX_SECONDS} s) works only ` +
    "when the identity that mints is an IAM user: STS refuses a longer session to the deployed function's role"
  );
}
