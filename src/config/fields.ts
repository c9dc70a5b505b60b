/**
 * The building blocks of the registration file's schema, shared by `schema.ts` and every kind's schema
 * part (`src/kinds/<kind>/config.ts`): how received values are shown in messages, the patterns every
 * part uses, and field constructors that word their own "expected …, got …" messages.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------------

/** Longest slice of a received string quoted back in a message; a hostile file must not flood logs. */
const MAX_SHOWN_CHARS = 60;

/**
 * How a received value appears in a message: strings JSON-quoted and truncated (so newlines, escape
 * sequences and bidi controls cannot forge message text), other values by kind.
 */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/**
 * JSON-quotes a string cut to `maxChars` (60) characters, also escaping the invisible characters
 * (bidi controls, zero-width spaces, line separators) JSON leaves raw.
 */
export function quote(text: string, maxChars = MAX_SHOWN_CHARS): string {
  const cut = text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
  return escapeInvisible(JSON.stringify(cut));
}

/** The invisible characters JSON leaves raw: DEL, C1 and bidi controls, zero-width spaces, line separators. */
const INVISIBLE = /[\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g;
/** C0 controls (line breaks, carriage return, ESC, …) and the invisible characters above. */
const CONTROL_OR_INVISIBLE = new RegExp(`[\\u0000-\\u001f${INVISIBLE.source.slice(1, -1)}]`, 'g');

const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, unicodeEscape);
}

/**
 * `text` on one line with nothing a terminal acts on: every control, bidi and invisible character as a
 * `\uXXXX` escape, everything else (quotes included) as it is. For text someone else wrote (an
 * apiserver's message) that goes into log lines and CLI output.
 */
export function printable(text: string): string {
  return text.replace(CONTROL_OR_INVISIBLE, unicodeEscape);
}

export interface IssueInput {
  readonly input?: unknown;
}

/** An error map saying what a field wants and what it got; "missing" when the key is absent. */
export function expecting(what: string): (issue: IssueInput) => string {
  return (issue) =>
    issue.input === undefined
      ? `missing (expected ${what})`
      : `expected ${what}, got ${showValue(issue.input)}`;
}

// ---------------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------------

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A namespace name, or a glob over the same characters with `*` (any run) and `?` (one character). */
export const NAMESPACE_GLOB = /^[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?$/;
export const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
export const AWS_REGION_SOURCE = '[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\\d';
export const ACCOUNT_ID = /^\d{12}$/;
export const ROLE_ARN = /^arn:aws[-a-z]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** A Secrets Manager secret name, or the ARN of one (ARNs contain ':', which names cannot). */
export const SECRET_REF = new RegExp(
  `^(?:[A-Za-z0-9/_+=.@-]{1,512}|arn:aws[-a-z]*:secretsmanager:${AWS_REGION_SOURCE}:\\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512})$`,
);

/** A string matching `pattern`; every failure (type, length, pattern) says `expected <what>`. */
export function patterned(pattern: RegExp, what: string, maxLength?: number) {
  const base = z.string({ error: expecting(what) });
  // Abort on length so an overlong value gets one message, not a length one and a pattern one.
  return (maxLength === undefined ? base : base.max(maxLength, { abort: true })).regex(pattern);
}

/** An integer within [min, max], with one message for wrong type, fractions and range alike. */
export function integerIn(min: number, max: number) {
  return z
    .int({ error: expecting(`an integer from ${min} to ${max}`) })
    .min(min)
    .max(max);
}

/** A number within [min, max], with one message for wrong type and range alike. */
export function numberIn(min: number, max: number) {
  return z
    .number({ error: expecting(`a number from ${min} to ${max}`) })
    .min(min)
    .max(max);
}

export function flag() {
  return z.boolean({ error: expecting('true or false') });
}

/**
 * A strict mapping whose unknown keys are reported with the keys it does accept, so a typo
 * (`ecrr`) points straight at the right spelling.
 */
export function mapping<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape).join(', ');
  const notMapping = expecting('a mapping');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown key (expected one of: ${known})` : notMapping(issue),
  });
}

export function list<T extends z.core.$ZodType>(item: T, what: string) {
  return z.array(item, { error: expecting(`a list of ${what}`) });
}

/** A list that must hold at least one entry. */
export function nonEmptyList<T extends z.core.$ZodType>(item: T, what: string, one: string) {
  return list(item, what).min(1, { error: `expected at least one ${one}, got an empty list` });
}

/** A string checked by `problemOf`, whose problem (the rule broken) goes between what and what was got. */
export function ruled(what: string, problemOf: (value: string) => string | undefined) {
  return z.string({ error: expecting(what) }).superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}; ${problem}, got ${quote(value)}` });
    }
  });
}

export const dnsSubdomain = (what: string) =>
  patterned(DNS_SUBDOMAIN, `${what}: a DNS-1123 subdomain (a-z 0-9 - ., at most 253 characters)`, 253);
