import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor } from '../../../src/report/redact.ts';

/** A PEM-shaped block built at run time, so no file holds one (they are fakes, never real keys). */
function pemBlock(label: string, body: string): string {
  const dashes = '-'.repeat(5);
  return `${dashes}BEGIN ${label}${dashes}\n${body}\n${dashes}END ${label}${dashes}\n`;
}

const SECRET = 'ecr-password-0123456789abcdef';
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('Module: redact (Redactor)', () => {
  describe('Function: forget', () => {
    it('drops every form add registered for the forgotten secret, and only for it', () => {
      // Prepare
      const redactor = new Redactor();
      const quoted = 'session-"token"-0123456789';
      redactor.add(SECRET, quoted, 'kept-secret-value');
      const fullForms = [SECRET, b64(SECRET), quoted, JSON.stringify(quoted).slice(1, -1)];
      expect(fullForms.every((form) => redactor.registered().includes(form))).toBe(true);

      // Act
      redactor.forget(SECRET, quoted);

      // Assess
      expect(redactor.registered()).toEqual(expect.arrayContaining(['kept-secret-value']));
      for (const form of fullForms) expect(redactor.registered()).not.toContain(form);
      expect(redactor.scrub(`${SECRET} kept-secret-value`)).toBe(`${SECRET} ${REDACTED}`);
      // Nothing of the forgotten ones is left: every remaining value belongs to the kept secret.
      const kept = new Redactor();
      kept.add('kept-secret-value');
      expect([...redactor.registered()].sort()).toEqual([...kept.registered()].sort());
    });
  });

  describe('Function: scrub', () => {
    it('replaces every occurrence of a registered value', () => {
      // Prepare
      const redactor = new Redactor();
      redactor.add(SECRET);

      // Act
      const text = redactor.scrub(`first ${SECRET} then ${SECRET}.`);

      // Assess
      expect(text).toBe(`first ${REDACTED} then ${REDACTED}.`);
    });

    it('replaces the base64 form of a registered value', () => {
      // Prepare
      const redactor = new Redactor();
      redactor.add(SECRET);

      // Act
      const text = redactor.scrub(`Authorization: Basic ${b64(SECRET)}`);

      // Assess
      expect(text).toBe(`Authorization: Basic ${REDACTED}`);
      expect(text).not.toContain(b64(SECRET));
    });

    it('registers several values at once', () => {
      // Prepare
      const redactor = new Redactor();
      redactor.add('first-secret-value', 'second-secret-value');

      // Act
      const text = redactor.scrub('a first-secret-value b second-secret-value c');

      // Assess
      expect(text).toBe(`a ${REDACTED} b ${REDACTED} c`);
    });

    it('ignores values shorter than 8 characters, and registers those of exactly 8', () => {
      // Prepare
      const redactor = new Redactor();
      redactor.add('1234567', 'abcdefgh');

      // Act
      const text = redactor.scrub('short 1234567 exact abcdefgh');

      // Assess
      expect(text).toBe(`short 1234567 exact ${REDACTED}`);
    });

    it('leaves text without registered values unchanged', () => {
      // Prepare
      const redactor = new Redactor();
      redactor.add(SECRET);

      // Act
      const text = redactor.scrub('nothing to see here');

      // Assess
      expect(text).toBe('nothing to see here');
    });

    it('scrubs multi-line values such as a PEM key in plain text', () => {
      // Prepare
      const pem = pemBlock('RSA PRIVATE KEY', 'MIIEsecretkeymaterial');
      const redactor = new Redactor();
      redactor.add(pem);

      // Act
      const text = redactor.scrub(`key: ${pem}`);

      // Assess
      expect(text).not.toContain('MIIEsecretkeymaterial');
    });

    // Regression (fixed): scrub replaces registered values in insertion order, so when a shorter registered value is a
    // part of a longer one and was registered first, the longer value is only partly replaced and its
    // remainder is left in the text. Replacing the longest values first avoids it.
    it('scrubs all of a registered value that contains a shorter value registered before it', () => {
      // Prepare
      const redactor = new Redactor();
      redactor.add('token-prefix', 'token-prefix-AND-SECRET-TAIL');

      // Act
      const text = redactor.scrub('header token-prefix-AND-SECRET-TAIL');

      // Assess
      expect(text).not.toContain('SECRET-TAIL');
    });
  });

  describe('Function: scrubValue', () => {
    it('scrubs strings nested in objects and arrays, keeping the structure', () => {
      // Prepare
      const redactor = new Redactor();
      redactor.add(SECRET);
      const value = {
        cluster: 'gke-prod',
        count: 3,
        ok: true,
        nested: { header: `Bearer ${SECRET}`, list: ['fine', SECRET, { deep: b64(SECRET) }] },
      };

      // Act
      const scrubbed = redactor.scrubValue(value);

      // Assess
      expect(scrubbed).toEqual({
        cluster: 'gke-prod',
        count: 3,
        ok: true,
        nested: { header: `Bearer ${REDACTED}`, list: ['fine', REDACTED, { deep: REDACTED }] },
      });
      expect(value.nested.list[1]).toBe(SECRET);
    });

    it('scrubs a registered value used as an object key', () => {
      // Prepare
      const redactor = new Redactor();
      redactor.add(SECRET);

      // Act
      const scrubbed = redactor.scrubValue({ [SECRET]: 'x' });

      // Assess
      expect(JSON.stringify(scrubbed)).not.toContain(SECRET);
    });

    it('returns the value itself when nothing is registered', () => {
      // Prepare
      const redactor = new Redactor();
      const value = { when: new Date(0) };

      // Act
      const scrubbed = redactor.scrubValue(value);

      // Assess
      expect(scrubbed).toBe(value);
    });

    it('leaves undefined as it is', () => {
      // Prepare
      const redactor = new Redactor();
      redactor.add(SECRET);

      // Act
      const scrubbed = redactor.scrubValue(undefined);

      // Assess
      expect(scrubbed).toBeUndefined();
    });

    // Regression: scrubValue once searched the JSON text of the value, where newlines are escaped, so a
    // multi-line value such as a PEM client key was never found there.
    it('scrubs a registered multi-line value (a PEM key) inside an attribute', () => {
      // Prepare
      const pem = pemBlock('RSA PRIVATE KEY', 'MIIEsecretkeymaterial');
      const redactor = new Redactor();
      redactor.add(pem);

      // Act
      const scrubbed = redactor.scrubValue({ kubeconfigKey: pem });

      // Assess
      expect(JSON.stringify(scrubbed)).not.toContain('MIIEsecretkeymaterial');
    });
  });
});
