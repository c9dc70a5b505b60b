/**
 * Redaction by construction, as the run uses it: secrets registered the moment they exist (`add`), a
 * rendered Secret's data registered as written (`addEncoded`), and failure descriptions scrubbed before
 * they are cut. Secrets of many lengths, at every position relative to the cut and at every alignment
 * inside a larger base64 blob: no fragment of 8 or more characters of a secret survives.
 */
import { ApiException } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CredCourierError } from '../../../src/errors.ts';
import { describeFailure, MAX_DESCRIPTION_CHARACTERS } from '../../../src/report/classify.ts';
import { REDACTED, Redactor } from '../../../src/report/redact.ts';

/** The shortest fragment that counts as a leak (the Redactor's own minimum). */
const FRAGMENT = 8;
/** Visible ASCII without space: what tokens and keys are made of; the padding below is spaces. */
const SECRET_CHARACTERS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
const secretOf = (minLength: number, maxLength: number) =>
  fc.array(fc.constantFrom(...SECRET_CHARACTERS), { minLength, maxLength }).map((c) => c.join(''));
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** The first fragment of `secret` (FRAGMENT characters or more) found in `text`, if any. */
function fragmentIn(text: string, secret: string): string | undefined {
  for (let start = 0; start + FRAGMENT <= secret.length; start++) {
    const fragment = secret.slice(start, start + FRAGMENT);
    if (text.includes(fragment)) return fragment;
  }
  return undefined;
}

/**
 * A fragment of `secret` in `text` as it is, or inside any base64 run of `text` decoded at any of the
 * four character offsets: what someone reading the message could recover.
 */
function recoverableFragment(text: string, secret: string): string | undefined {
  const plain = fragmentIn(text, secret);
  if (plain) return plain;
  for (const run of text.match(/[A-Za-z0-9+/]{4,}/g) ?? []) {
    for (let offset = 0; offset < 4; offset++) {
      const decoded = Buffer.from(run.slice(offset), 'base64').toString('latin1');
      const found = fragmentIn(decoded, secret);
      if (found) return found;
    }
  }
  return undefined;
}

/** An apiserver error whose message quotes `quoted` after `before` characters of padding. */
function admissionError(before: number, quoted: string): ApiException<string> {
  const message = `${' '.repeat(before)}${quoted} is not allowed`;
  return new ApiException(422, 'Unprocessable Entity', JSON.stringify({ kind: 'Status', message }), {});
}

/** `HTTP 422: `: what describeFailure puts before the apiserver's message. */
const STATUS_PREFIX = 'HTTP 422: '.length;

describe('Module: redaction of failure descriptions', () => {
  describe('Function: describeFailure (scrubbed before it is cut)', () => {
    it('leaves no fragment of a registered secret of any length split across the cut, plain or base64', () => {
      fc.assert(
        fc.property(
          secretOf(8, 400),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.constantFrom('plain', 'base64'),
          (secret, where, form) => {
            // Prepare
            const redactor = new Redactor();
            redactor.add(secret);
            const quoted = form === 'plain' ? secret : b64(secret);
            // Characters of the quoted form before the cut: 1 .. all but one.
            const beforeCut = 1 + Math.floor(where * (quoted.length - 1));
            const error = admissionError(MAX_DESCRIPTION_CHARACTERS - STATUS_PREFIX - beforeCut, quoted);

            // Act
            const description = redactor.scrub(describeFailure(error, redactor));

            // Assess
            expect(description.length).toBeLessThanOrEqual(MAX_DESCRIPTION_CHARACTERS);
            expect(recoverableFragment(description, secret)).toBeUndefined();
          },
        ),
        { numRuns: 300 },
      );
    });

    it('leaves no fragment of a secret inside a larger base64 blob, at any alignment and any cut (a token in .dockerconfigjson)', () => {
      fc.assert(
        fc.property(
          secretOf(8, 200),
          fc.string({ maxLength: 40 }),
          fc.string({ maxLength: 40 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          (secret, head, tail, where) => {
            // Prepare: only the credential is registered, as minting does; the blob is not.
            const redactor = new Redactor();
            redactor.add(secret);
            const blob = b64(JSON.stringify({ auths: { [head]: { password: secret, note: tail } } }));
            const beforeCut = 1 + Math.floor(where * (blob.length - 1));
            const error = admissionError(MAX_DESCRIPTION_CHARACTERS - STATUS_PREFIX - beforeCut, blob);

            // Act
            const description = redactor.scrub(describeFailure(error, redactor));

            // Assess
            expect(recoverableFragment(description, secret)).toBeUndefined();
          },
        ),
        { numRuns: 300 },
      );
    });

    it("scrubs the project's own errors and socket errors before cutting them too", () => {
      // Prepare
      const secret = 'own-error-secret-0123456789abcdefghij';
      const redactor = new Redactor();
      redactor.add(secret);
      const cut = MAX_DESCRIPTION_CHARACTERS - 12;
      const own = new CredCourierError(`${'x'.repeat(cut)}${secret}`);
      const socket = Object.assign(new Error(`${'x'.repeat(cut - 'ECONNRESET: '.length)}${secret}`), {
        code: 'ECONNRESET',
      });

      // Act
      const descriptions = [own, socket].map((error) => redactor.scrub(describeFailure(error, redactor)));

      // Assess
      for (const description of descriptions) {
        expect(fragmentIn(description, secret)).toBeUndefined();
        expect(description.endsWith(REDACTED.slice(0, 12))).toBe(true);
      }
    });
  });

  describe('Function: Redactor.addEncoded (a rendered Secret’s data, as written)', () => {
    /** The data of an S3 Secret as rendering writes it, for credentials of the given lengths. */
    function s3Data(accessKeyId: string, secretAccessKey: string, sessionToken: string) {
      const files = {
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_SESSION_TOKEN: sessionToken,
        AWS_REGION: 'eu-west-1',
        credentials: `[default]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\naws_session_token = ${sessionToken}\n`,
        'credential-process.json': `${JSON.stringify({ Version: 1, AccessKeyId: accessKeyId, SecretAccessKey: secretAccessKey, SessionToken: sessionToken })}\n`,
      };
      return Object.fromEntries(Object.entries(files).map(([key, value]) => [key, b64(value)]));
    }

    it('redacts every data value as written, whole or cut anywhere, and keeps plain values without secrets readable', () => {
      fc.assert(
        fc.property(
          secretOf(8, 40),
          secretOf(8, 60),
          secretOf(8, 300),
          fc.constantFrom('credentials', 'credential-process.json', 'AWS_SESSION_TOKEN'),
          fc.double({ min: 0, max: 1, noNaN: true }),
          (accessKeyId, secretAccessKey, sessionToken, key, where) => {
            // Prepare: credentials registered at minting, the data at rendering.
            const redactor = new Redactor();
            redactor.add(accessKeyId, secretAccessKey, sessionToken);
            const data = s3Data(accessKeyId, secretAccessKey, sessionToken);
            redactor.addEncoded(...Object.values(data));
            const quoted = data[key] as string;
            const beforeCut = 1 + Math.floor(where * (quoted.length - 1));
            const error = admissionError(MAX_DESCRIPTION_CHARACTERS - STATUS_PREFIX - beforeCut, quoted);

            // Act
            const description = redactor.scrub(describeFailure(error, redactor));
            const region = redactor.scrub('minting in eu-west-1');

            // Assess
            for (const secret of [accessKeyId, secretAccessKey, sessionToken])
              expect(recoverableFragment(description, secret)).toBeUndefined();
            expect(region).toBe('minting in eu-west-1');
          },
        ),
        { numRuns: 200 },
      );
    });

    it('registers the plain form of a data value that holds a secret (a credentials file quoted decoded)', () => {
      // Prepare
      const redactor = new Redactor();
      redactor.add('session-token-0123456789');
      const file = '[default]\naws_session_token = session-token-0123456789\n';

      // Act
      redactor.addEncoded(b64(file));

      // Assess
      expect(redactor.registered()).toEqual(expect.arrayContaining([b64(file), file]));
      expect(redactor.scrub(`bad file: ${file}`)).toBe(`bad file: ${REDACTED}`);
    });
  });
});
