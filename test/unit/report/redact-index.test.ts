/**
 * The redactor's indexed scrub replaces exactly what trying every registered value, longest first, did
 * (the algorithm it replaced, kept here as the oracle), whatever the values and the text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor } from '../../../src/report/redact.ts';

/** Every registered value tried on the text, longest first: the scrub before the index. */
function scrubEveryValue(values: readonly string[], text: string): string {
  let out = text;
  for (const value of [...values].sort((a, b) => b.length - a.length))
    if (out.includes(value)) out = out.replaceAll(value, REDACTED);
  return out;
}

// A small alphabet (brackets and the letters of the replacement included) makes overlaps, values inside
// values and values that appear only once another is replaced common rather than rare.
const char = fc.constantFrom(...'abcde[]redact'.split(''));
const text = fc.array(char, { maxLength: 60 }).map((chars) => chars.join(''));
const secret = fc.array(char, { minLength: 8, maxLength: 14 }).map((chars) => chars.join(''));

describe('indexed scrub', () => {
  it('replaces exactly what trying every value longest first replaces', () => {
    fc.assert(
      fc.property(fc.array(secret, { maxLength: 8 }), fc.array(text, { maxLength: 4 }), (secrets, texts) => {
        const redactor = new Redactor();
        redactor.add(...secrets);
        const values = redactor.registered();
        // Texts built from the secrets themselves, so most of them hold one or more.
        const samples = [...texts, secrets.join(''), texts.join(secrets[0] ?? '')];
        for (const sample of samples) expect(redactor.scrub(sample)).toBe(scrubEveryValue(values, sample));
      }),
      { numRuns: 500 },
    );
  });

  it('replaces a value that appears only once another is replaced, as trying every value did', () => {
    const redactor = new Redactor();
    redactor.add('secret-value-1', 'cted]tail');
    const sample = 'secret-value-1tail';
    expect(scrubEveryValue(redactor.registered(), sample)).toBe(`[reda${REDACTED}`);
    expect(redactor.scrub(sample)).toBe(`[reda${REDACTED}`);
  });

  it('a scoped redactor scrubs with its own values and the run-wide ones, as one redactor of both did', () => {
    fc.assert(
      fc.property(
        fc.array(secret, { maxLength: 5 }),
        fc.array(secret, { maxLength: 5 }),
        fc.array(text, { maxLength: 3 }),
        (runWide, own, texts) => {
          const run = new Redactor();
          run.add(...runWide);
          const cluster = run.scoped({ report: false });
          cluster.add(...own);
          const both = new Redactor();
          both.add(...runWide, ...own);
          expect([...cluster.registered()].sort()).toEqual([...both.registered()].sort());
          for (const sample of [...texts, [...own, ...runWide].join(''), texts.join(own[0] ?? '')])
            expect(cluster.scrub(sample)).toBe(scrubEveryValue(both.registered(), sample));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("drops a scope's values with it, unless asked to report them", () => {
    const run = new Redactor();
    run.add('run-wide-secret');
    const quiet = run.scoped({ report: false });
    quiet.add('cluster-secret-one');
    const reporting = run.scoped({ report: true });
    reporting.add('cluster-secret-two');
    expect(quiet.scrub('cluster-secret-one run-wide-secret')).toBe(`${REDACTED} ${REDACTED}`);
    // The run-wide redactor never learns a quiet scope's values; a reporting scope's it does.
    expect(run.scrub('cluster-secret-one cluster-secret-two')).toBe(`cluster-secret-one ${REDACTED}`);
    expect(run.registered()).toContain('cluster-secret-two');
    expect(run.registered()).not.toContain('cluster-secret-one');
  });

  it('sees values registered after a scrub', () => {
    const redactor = new Redactor();
    redactor.add('first-secret-value');
    expect(redactor.scrub('a second-secret-value here')).toBe('a second-secret-value here');
    redactor.add('second-secret-value');
    expect(redactor.scrub('a second-secret-value here')).toBe(`a ${REDACTED} here`);
  });
});
