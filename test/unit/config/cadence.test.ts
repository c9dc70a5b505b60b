import { describe, expect, it } from 'vitest';
import {
  CADENCE_ALLOWANCES,
  cadenceProblem,
  cadenceSeconds,
  minimumDurationSeconds,
} from '../../../src/config/cadence.ts';

describe('Constant: CADENCE_ALLOWANCES', () => {
  it('allows 120 s kubelet lag, a 900 s SDK refresh window and a 300 s margin', () => {
    // Prepare
    const expected = { KUBELET_LAG_SECONDS: 120, SDK_REFRESH_WINDOW_SECONDS: 900, MARGIN_SECONDS: 300 };

    // Act
    const allowances = { ...CADENCE_ALLOWANCES };

    // Assess
    expect(allowances).toEqual(expected);
  });
});

describe('Function: cadenceSeconds', () => {
  it.each([
    [1, 60 + 1320],
    [5, 300 + 1320],
    [15, 900 + 1320],
    [60, 3600 + 1320],
  ])('adds the allowances to %i minutes', (intervalMinutes, expected) => {
    // Prepare
    const minutes = intervalMinutes;

    // Act
    const seconds = cadenceSeconds(minutes);

    // Assess
    expect(seconds).toBe(expected);
  });
});

describe('Function: minimumDurationSeconds', () => {
  it.each([
    [15, 2221],
    [5, 1621],
    [37, 3541],
  ])('is one second above the cadence for %i minutes', (intervalMinutes, expected) => {
    // Prepare
    const minutes = intervalMinutes;

    // Act
    const minimum = minimumDurationSeconds(minutes);

    // Assess
    expect(minimum).toBe(expected);
    expect(cadenceProblem(minutes, minimum)).toBeUndefined();
    expect(cadenceProblem(minutes, minimum - 1)).toBeDefined();
  });

  it('leaves 37 minutes as the longest schedule a 1-hour session allows', () => {
    // Prepare
    const oneHour = 3600;

    // Act
    const at37 = cadenceProblem(37, oneHour);
    const at38 = cadenceProblem(38, oneHour);

    // Assess
    expect(at37).toBeUndefined();
    expect(at38).toBeDefined();
  });
});

describe('Function: cadenceProblem', () => {
  it('rejects a duration equal to the cadence (15 min: 2220 rejected, 2221 accepted)', () => {
    // Prepare
    const intervalMinutes = 15;

    // Act
    const atCadence = cadenceProblem(intervalMinutes, 2220);
    const justAbove = cadenceProblem(intervalMinutes, 2221);

    // Assess
    expect(atCadence).toBe(
      '2220 s is too short for an S3 schedule every 15 min: 15 min × 60 + 120 s kubelet lag + 900 s SDK refresh window + 300 s margin = 2220 s, ' +
        "and durationSeconds must be greater: a delivered credential must still be valid when the consumer's SDK next " +
        'decides to refresh after the kubelet updated the file; set durationSeconds to at least 2221 or lower settings.s3IntervalMinutes',
    );
    expect(justAbove).toBeUndefined();
  });

  it('follows the interval (5 min: 1620 rejected, 1621 accepted)', () => {
    // Prepare
    const intervalMinutes = 5;

    // Act
    const atCadence = cadenceProblem(intervalMinutes, 1620);
    const justAbove = cadenceProblem(intervalMinutes, 1621);

    // Assess
    expect(atCadence).toContain(
      '5 min × 60 + 120 s kubelet lag + 900 s SDK refresh window + 300 s margin = 1620 s',
    );
    expect(atCadence).toContain('at least 1621');
    expect(justAbove).toBeUndefined();
  });
});
