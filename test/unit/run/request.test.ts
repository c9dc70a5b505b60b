import { describe, expect, it } from 'vitest';
import { parseInvocation } from '../../../src/run/request.ts';

describe('parseInvocation', () => {
  it('is a run for a schedule event, sls invoke data or nothing', () => {
    expect(parseInvocation(undefined)).toEqual({ mode: 'run', request: {} });
    expect(parseInvocation({ 'detail-type': 'Scheduled Event', kinds: ['ecr'] })).toEqual({
      mode: 'run',
      request: { kinds: ['ecr'] },
    });
    expect(parseInvocation({ clusters: ['a'], prune: false })).toEqual({
      mode: 'run',
      request: { clusters: ['a'], prune: false },
    });
  });

  it('is a check for a check key, of all clusters or the named ones', () => {
    expect(parseInvocation({ check: {} })).toEqual({ mode: 'check', request: {} });
    expect(parseInvocation({ check: { clusters: ['a', 'b'] } })).toEqual({
      mode: 'check',
      request: { clusters: ['a', 'b'] },
    });
  });

  it.each([
    [{ check: {}, clusters: ['a'] }, /\(event\): Unrecognized key: "clusters"/],
    [{ check: {}, kinds: ['ecr'] }, /Unrecognized key: "kinds"/],
    [{ check: { clusters: ['a'], prune: false } }, /check: Unrecognized key: "prune"/],
    [{ check: { clusters: [] } }, /check\.clusters: Too small/],
    [{ check: { clusters: [''] } }, /check\.clusters\.0: Too small/],
    [{ check: true }, /check: Invalid input/],
    [{ check: null }, /check: Invalid input/],
  ])('refuses the check event %j, so it never becomes a delivery', (event, message) => {
    expect(() => parseInvocation(event)).toThrow(message);
    expect(() => parseInvocation(event)).toThrow(/^invalid invocation event: /);
  });

  it('still refuses a bad run event', () => {
    expect(() => parseInvocation({ kinds: ['nope'] })).toThrow(/^invalid invocation event: kinds\.0: /);
  });
});
