/**
 * Retries for Kubernetes requests: only transient failure classes, a bounded count, exponential backoff
 * with jitter, and the server's Retry-After when it gives one. Never past the caller's deadline.
 */
import pRetry from 'p-retry';
import { classify, isTransient, retryAfterSeconds } from '../report/classify.ts';

export interface RetryOptions {
  readonly retries: number;
  /** Stops retrying when aborted (the cluster's deadline). */
  readonly signal?: AbortSignal;
  readonly minDelayMs?: number;
  /** Called before each retry, for logs and counts. */
  readonly onRetry?: (attempt: number, error: unknown) => void;
}

/** The longest Retry-After honoured within a run; a longer wait is the next run's business. */
const MAX_RETRY_AFTER_SECONDS = 5;

export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  return pRetry(operation, {
    retries: options.retries,
    minTimeout: options.minDelayMs ?? 200,
    factor: 2,
    randomize: true,
    ...(options.signal ? { signal: options.signal } : {}),
    shouldRetry: ({ error }) => isTransient(classify(error)) && !options.signal?.aborted,
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft === 0 || !isTransient(classify(error))) return;
      options.onRetry?.(attemptNumber, error);
      const wait = retryAfterSeconds(error);
      if (wait) await delay(Math.min(wait, MAX_RETRY_AFTER_SECONDS) * 1000, options.signal);
    },
  });
}

/** Waits `ms`, or less when `signal` aborts first: the server's Retry-After never outlasts the deadline. */
function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((done) => {
    if (signal?.aborted) return done();
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    };
    const timer = setTimeout(finish, ms);
    signal?.addEventListener('abort', finish, { once: true });
  });
}
