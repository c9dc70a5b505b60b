/**
 * The clearable deadline that replaces AbortSignal.timeout/any per cluster and per request: it aborts
 * as they do (a TimeoutError, or the parent's reason), and once disposed holds nothing: no timer, no
 * listener on the parent (which outlives every cluster's turn).
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deadline } from '../../../src/kube/deadline.ts';

describe('deadline', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('aborts with the TimeoutError AbortSignal.timeout gives, when its time is up', () => {
    const { signal } = deadline(1_000);
    vi.advanceTimersByTime(999);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(DOMException);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it("aborts with the parent's reason when the parent aborts first, or already has", () => {
    const parent = new AbortController();
    const { signal } = deadline(60_000, parent.signal);
    const reason = new Error('run deadline');
    parent.abort(reason);
    expect(signal.reason).toBe(reason);
    expect(deadline(60_000, parent.signal).signal.reason).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('once disposed, keeps no timer and no listener on the parent, and never aborts', () => {
    const parent = new AbortController();
    const turns = Array.from({ length: 5 }, () => deadline(60_000, parent.signal));
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(5);
    expect(vi.getTimerCount()).toBe(5);
    for (const turn of turns) turn.dispose();
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(120_000);
    parent.abort();
    expect(turns.every((turn) => !turn.signal.aborted)).toBe(true);
  });

  it('lets go of the parent when its own time is up', () => {
    const parent = new AbortController();
    const { signal } = deadline(1_000, parent.signal);
    vi.advanceTimersByTime(1_000);
    expect(signal.aborted).toBe(true);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });
});
