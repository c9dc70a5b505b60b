/**
 * A signal that aborts after a time or when a parent signal aborts, and lets go of both once disposed.
 * `AbortSignal.timeout` and `AbortSignal.any` cannot be released: a signal with an abort listener is
 * kept, with the listener and everything its closure holds, until its timer fires. A 60 s cluster
 * deadline outlives the cluster's turn by far, so a run kept every finished cluster's client, pool and
 * state until then; a request's timeout kept its request's state likewise.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Stops the timer and detaches from the parent; the signal stays as it is (aborted or not). */
  dispose(): void;
}

/** The reason `AbortSignal.timeout` gives, which the failure classes and callers recognise. */
const timeoutReason = () => new DOMException('The operation was aborted due to timeout', 'TimeoutError');

export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  const dispose = () => {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onParent);
  };
  const onParent = () => {
    dispose();
    controller.abort(parent?.reason);
  };
  const timer = setTimeout(() => {
    dispose();
    controller.abort(timeoutReason());
  }, ms);
  // Like AbortSignal.timeout's: a pending deadline never keeps the process alive.
  timer.unref();
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return { signal: controller.signal, dispose };
}
