import { describe, expect, it } from 'vitest';
import {
  CADENCE_ALLOWANCES,
  cadenceProblem,
  cadenceSeconds,
  LONG_SESSION_MAX_SECONDS,
  longestIntervalMinutes,
  minimumDurationSeconds,
  ROLE_CHAINING_MAX_SECONDS,
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
        'decides to refresh after the kubelet updated the file; set durationSeconds to at least 2221 (at most 3600 without ' +
        'longSessions), or lower settings.s3IntervalMinutes to 14 or less',
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

/** The numbers an advice names, by what they are for. */
function advisedNumbers(advice: string) {
  const number = (pattern: RegExp) => {
    const found = pattern.exec(advice)?.[1];
    return found === undefined ? undefined : Number(found);
  };
  return {
    duration: number(/set durationSeconds to at least (\d+)/),
    interval: number(/lower settings\.s3IntervalMinutes to (\d+) or less/),
    keepingInterval: number(/or to (\d+) or less keeping durationSeconds/),
  };
}

describe('Function: cadenceProblem advice', () => {
  it('with s3IntervalMinutes 45 and no longSessions, advises no duration above the 3600 s cap but the largest interval that works', () => {
    // Prepare
    const intervalMinutes = 45;

    // Act
    const advice = cadenceProblem(intervalMinutes, 3600) ?? '';

    // Assess
    expect(advice).not.toMatch(/set durationSeconds to at least/);
    expect(advice).toContain(
      'no durationSeconds can cover it without longSessions, which AWS caps at 3600 s for a session assumed from a role session',
    );
    expect(advice).toContain(
      'lower settings.s3IntervalMinutes to 37 or less, the largest interval that works without longSessions ' +
        '(37 min × 60 + 1320 s = 3540 s < 3600 s), with durationSeconds 3600',
    );
    expect(advice).toContain(
      'longSessions: true (up to 43200 s) works only when the identity that mints is an IAM user',
    );
  });

  it('with longSessions, advises the duration the interval needs', () => {
    // Prepare
    const intervalMinutes = 45;

    // Act
    const advice = cadenceProblem(intervalMinutes, 3600, true) ?? '';

    // Assess
    expect(advice).toMatch(
      /set durationSeconds to at least 4021, or lower settings\.s3IntervalMinutes to 37 or less$/,
    );
  });

  it('names 37 min as the largest interval without longSessions, and 0 when a duration covers none', () => {
    // Prepare
    const oneHour = ROLE_CHAINING_MAX_SECONDS;

    // Act
    const largest = longestIntervalMinutes(oneHour);

    // Assess
    expect(largest).toBe(37);
    expect(cadenceProblem(largest, oneHour)).toBeUndefined();
    expect(cadenceProblem(largest + 1, oneHour)).toBeDefined();
    expect(longestIntervalMinutes(900)).toBe(0);
  });

  it('only ever advises values that pass: every interval 1-60 × every duration 900-3600 (and to 43200 with longSessions)', () => {
    // Prepare
    const cases: [number, number, boolean][] = [];
    for (let interval = 1; interval <= 60; interval++) {
      for (let duration = 900; duration <= ROLE_CHAINING_MAX_SECONDS; duration++)
        cases.push([interval, duration, false]);
      for (let duration = 900; duration <= LONG_SESSION_MAX_SECONDS; duration += 97)
        cases.push([interval, duration, true]);
    }
    const wrong: string[] = [];

    // Act
    for (const [interval, duration, longSessions] of cases) {
      const advice = cadenceProblem(interval, duration, longSessions);
      if (advice === undefined) continue;
      const cap = longSessions ? LONG_SESSION_MAX_SECONDS : ROLE_CHAINING_MAX_SECONDS;
      const advised = advisedNumbers(advice);
      const passes = (minutes: number, seconds: number) =>
        seconds <= cap && cadenceProblem(minutes, seconds, longSessions) === undefined;
      if (advised.duration !== undefined && !passes(interval, advised.duration))
        wrong.push(`${interval}/${duration}: duration ${advised.duration}`);
      if (advised.duration !== undefined && passes(interval, advised.duration - 1))
        wrong.push(`${interval}/${duration}: duration ${advised.duration} is not the least`);
      // The advised interval is the largest that works, with the duration the advice keeps or sets.
      const seconds = advice.includes(`with durationSeconds ${ROLE_CHAINING_MAX_SECONDS}`)
        ? ROLE_CHAINING_MAX_SECONDS
        : duration;
      if (advised.interval !== undefined && !passes(advised.interval, seconds))
        wrong.push(`${interval}/${duration}: interval ${advised.interval}`);
      if (advised.interval !== undefined && passes(advised.interval + 1, seconds))
        wrong.push(`${interval}/${duration}: interval ${advised.interval} is not the largest`);
      if (advised.keepingInterval !== undefined && !passes(advised.keepingInterval, duration))
        wrong.push(`${interval}/${duration}: keeping interval ${advised.keepingInterval}`);
      if (advised.duration === undefined && advised.interval === undefined)
        wrong.push(`${interval}/${duration}: no advice`);
    }

    // Assess
    expect(wrong).toEqual([]);
  });
});
