/**
 * The registration file as users write it (`config/clusters.yaml`), before `defaults` are applied.
 * Every object is strict, so a misspelt key is an error rather than a silently ignored setting.
 * Each field carries its own message ("expected …, got …") so the loader only has to add the path and
 * the line; cross-field rules that need the merged cluster live in `load.ts`.
 */
import { z } from 'zod';
import { CADENCE_ALLOWANCES, cadenceSeconds } from './cadence.ts';

/** Seconds every S3 session must outlive the schedule interval by (see `cadence.ts`): 1320. */
const CADENCE_ALLOWANCE_SECONDS = cadenceSeconds(0);

/** Values of `settings` keys the file leaves out. */
export const DEFAULT_SETTINGS = {
  // From `npm run bench`'s settings comparison (docs/benchmarks.md): a cluster's requests form a chain of a
  // few round trips, so more clusters at once fill the request slots; 64 ran about 20 % faster than 16 at
  // 200 clusters. 8 requests per cluster covers its Secrets (5 namespaces × 2 kinds) in about one wave.
  concurrency: 64,
  requestConcurrency: 8,
  requestTimeoutSeconds: 10,
  clusterDeadlineSeconds: 60,
  kubeconfigCacheSeconds: 300,
  controlNamespace: 'cred-courier',
  s3IntervalMinutes: 15,
  tokenRenewalFraction: 0.5,
} as const;

/** Values of S3 grant keys the file leaves out (`mountPath` defaults to `<mountPathRoot>/<secretName>`). */
export const S3_GRANT_DEFAULTS = {
  durationSeconds: 3600,
  longSessions: false,
  mountPathRoot: '/var/run/secrets/cred-courier',
} as const;

/**
 * Longest session AWS grants to a role assumed from a role session (role chaining). cred-courier mints
 * from the Lambda's role session, so this caps every grant that does not set `longSessions`.
 */
export const ROLE_CHAINING_MAX_SECONDS = 3600;

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

interface IssueInput {
  readonly input?: unknown;
}

/** An error map saying what a field wants and what it got; "missing" when the key is absent. */
function expecting(what: string): (issue: IssueInput) => string {
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
const NAMESPACE_GLOB = /^[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?$/;
const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const AWS_REGION_SOURCE = '[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\\d';
const ACCOUNT_ID = /^\d{12}$/;
const ROLE_ARN = /^arn:aws[-a-z]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** A Secrets Manager secret name, or the ARN of one (ARNs contain ':', which names cannot). */
const SECRET_REF = new RegExp(
  `^(?:[A-Za-z0-9/_+=.@-]{1,512}|arn:aws[-a-z]*:secretsmanager:${AWS_REGION_SOURCE}:\\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512})$`,
);
/** An ECR repository name, or a prefix of one ending in `*`. */
const REPOSITORY = /^[a-z0-9][a-z0-9._/-]{0,255}\*?$/;
/**
 * A KMS key ARN: `key/<key ID>` or `key/mrk-<multi-Region key ID>`. Never an alias ARN: as a policy
 * Resource an alias ARN does not grant use of the key it points to.
 */
const KMS_KEY_ARN = new RegExp(
  `^arn:aws[-a-z]*:kms:${AWS_REGION_SOURCE}:\\d{12}:key/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`,
);
/** A KMS alias ARN, recognised only to say why it is refused. */
const KMS_ALIAS_ARN = /^arn:aws[-a-z]*:kms:[^:]*:[^:]*:alias\//;
const KMS_KEY_WHAT =
  'a KMS key ARN such as arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** A KMS key ARN; an alias ARN gets its own message saying to use the key ARN instead. */
function kmsKeyArn() {
  const otherwise = expecting(KMS_KEY_WHAT);
  return z
    .string({
      error: (issue) =>
        typeof issue.input === 'string' && KMS_ALIAS_ARN.test(issue.input)
          ? `expected ${KMS_KEY_WHAT}; an alias ARN as a policy Resource does not grant use of the key it ` +
            `points to: use the key ARN the alias points to, got ${quote(issue.input)}`
          : otherwise(issue),
    })
    .regex(KMS_KEY_ARN);
}

/** A string matching `pattern`; every failure (type, length, pattern) says `expected <what>`. */
function patterned(pattern: RegExp, what: string, maxLength?: number) {
  const base = z.string({ error: expecting(what) });
  // Abort on length so an overlong value gets one message, not a length one and a pattern one.
  return (maxLength === undefined ? base : base.max(maxLength, { abort: true })).regex(pattern);
}

/** An integer within [min, max], with one message for wrong type, fractions and range alike. */
function integerIn(min: number, max: number) {
  return z
    .int({ error: expecting(`an integer from ${min} to ${max}`) })
    .min(min)
    .max(max);
}

/** A number within [min, max], with one message for wrong type and range alike. */
function numberIn(min: number, max: number) {
  return z
    .number({ error: expecting(`a number from ${min} to ${max}`) })
    .min(min)
    .max(max);
}

function flag() {
  return z.boolean({ error: expecting('true or false') });
}

/**
 * A strict mapping whose unknown keys are reported with the keys it does accept, so a typo
 * (`ecrr`) points straight at the right spelling.
 */
function mapping<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape).join(', ');
  const notMapping = expecting('a mapping');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown key (expected one of: ${known})` : notMapping(issue),
  });
}

function list<T extends z.core.$ZodType>(item: T, what: string) {
  return z.array(item, { error: expecting(`a list of ${what}`) });
}

/** A list that must hold at least one entry. */
function nonEmptyList<T extends z.core.$ZodType>(item: T, what: string, one: string) {
  return list(item, what).min(1, { error: `expected at least one ${one}, got an empty list` });
}

/** A string checked by `problemOf`, whose problem (the rule broken) goes between what and what was got. */
function ruled(what: string, problemOf: (value: string) => string | undefined) {
  return z.string({ error: expecting(what) }).superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}; ${problem}, got ${quote(value)}` });
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------------------------------

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const SELECTOR_SYNTAX = 'key, !key, key=value, key!=value, key in (a,b) or key notin (a,b)';

type Token = { readonly kind: 'word' | 'op'; readonly text: string; readonly at: number };

/** Splits a selector into words and the operators `! = == != ( ) ,`; `<`/`>` are refused here. */
function tokenize(selector: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < selector.length) {
    const c = selector.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '=' || c === '!') {
      const double = selector.charAt(i + 1) === '=';
      tokens.push({ kind: 'op', text: double ? `${c}=` : c, at: i });
      i += double ? 2 : 1;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'op', text: c, at: i });
      i++;
    } else if (c === '<' || c === '>') {
      return `the operator ${quote(c)} at character ${i + 1} is not supported`;
    } else {
      const start = i;
      while (i < selector.length && !/[\s=!(),<>]/.test(selector.charAt(i))) i++;
      tokens.push({ kind: 'word', text: selector.slice(start, i), at: start });
    }
  }
  return tokens;
}

/** Why a label key is invalid: optional DNS-subdomain prefix and '/', then a 63-character name. */
function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  const name = parts.at(-1) ?? '';
  if (parts.length > 2) return `the key ${quote(key)} has more than one '/'`;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `the key prefix ${quote(prefix)} is not a DNS subdomain`;
    }
  }
  if (name.length > 63 || !LABEL_NAME.test(name)) {
    return `the key ${quote(key)} is not a label name (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)`;
  }
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  if (value === '' || (value.length <= 63 && LABEL_NAME.test(value))) return undefined;
  return `the value ${quote(value)} is not a label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)`;
}

/**
 * One requirement of a label selector, with the apiserver's meaning: `exists`/`!` the key is present or
 * absent; `=` present with that value; `!=` absent or another value; `in` present with one of the values;
 * `notin` absent or none of them.
 */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: 'exists' | '!' | '=' | '!=' | 'in' | 'notin';
  readonly values: readonly string[];
}

/**
 * A small recursive-descent reader over tokens; each method returns a problem or undefined, and records
 * each requirement it read in `requirements`.
 */
class SelectorReader {
  readonly #tokens: readonly Token[];
  #next = 0;
  readonly requirements: LabelRequirement[] = [];

  constructor(tokens: readonly Token[]) {
    this.#tokens = tokens;
  }

  read(): string | undefined {
    for (;;) {
      const problem = this.#requirement();
      if (problem !== undefined) return problem;
      const token = this.#take();
      if (token === undefined) return undefined;
      if (token.text !== ',') return this.#unexpected(token, "','");
    }
  }

  #requirement(): string | undefined {
    const first = this.#take();
    if (first === undefined) return 'a requirement is missing at the end';
    if (first.text === '!') {
      const key = this.#take();
      if (key?.kind !== 'word') return this.#unexpected(key, "a label key after '!'");
      this.requirements.push({ key: key.text, operator: '!', values: [] });
      return labelKeyProblem(key.text) ?? this.#endOfRequirement();
    }
    if (first.kind !== 'word') return this.#unexpected(first, 'a label key');
    const keyProblem = labelKeyProblem(first.text);
    if (keyProblem !== undefined) return keyProblem;
    const op = this.#peek();
    if (op === undefined || op.text === ',') {
      this.requirements.push({ key: first.text, operator: 'exists', values: [] });
      return undefined;
    }
    this.#next++;
    if (op.text === '=' || op.text === '==' || op.text === '!=')
      return this.#value(first.text, op.text === '!=' ? '!=' : '=');
    if (op.text === 'in' || op.text === 'notin') return this.#valueSet(first.text, op.text);
    return this.#unexpected(op, `an operator (=, ==, !=, in, notin) after ${quote(first.text)}`);
  }

  #value(key: string, operator: '=' | '!='): string | undefined {
    const value = this.#peek();
    if (value === undefined || value.text === ',') {
      this.requirements.push({ key, operator, values: [''] }); // `key=` selects an empty value
      return undefined;
    }
    if (value.kind !== 'word') return this.#unexpected(value, 'a label value');
    this.#next++;
    this.requirements.push({ key, operator, values: [value.text] });
    return labelValueProblem(value.text) ?? this.#endOfRequirement();
  }

  #valueSet(key: string, op: 'in' | 'notin'): string | undefined {
    const open = this.#take();
    if (open?.text !== '(') return this.#unexpected(open, `'(' after ${op}`);
    const values: string[] = [];
    for (;;) {
      let token = this.#take();
      let value = '';
      if (token?.kind === 'word') {
        value = token.text;
        token = this.#take();
      }
      const problem = labelValueProblem(value);
      if (problem !== undefined) return problem;
      values.push(value);
      if (token?.text === ')') break;
      if (token?.text !== ',') return this.#unexpected(token, "',' or ')' in the value list");
    }
    if (values.length === 1 && values[0] === '') return `${op} () needs at least one value`;
    this.requirements.push({ key, operator: op, values });
    return this.#endOfRequirement();
  }

  #endOfRequirement(): string | undefined {
    const token = this.#peek();
    return token === undefined || token.text === ',' ? undefined : this.#unexpected(token, "',' or the end");
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#next];
  }

  #take(): Token | undefined {
    const token = this.#tokens[this.#next];
    if (token !== undefined) this.#next++;
    return token;
  }

  #unexpected(token: Token | undefined, wanted: string): string {
    if (token === undefined) return `expected ${wanted} but the selector ends`;
    return `expected ${wanted} at character ${token.at + 1}, found ${quote(token.text)}`;
  }
}

/**
 * Why `selector` is not a Kubernetes label selector, or undefined when it is one. Accepts what the API
 * server accepts for equality- and set-based requirements; `<`/`>` and empty selectors (which would
 * select every namespace) are refused.
 */
export function labelSelectorProblem(selector: string): string | undefined {
  const parsed = parseLabelSelector(selector);
  return 'problem' in parsed ? parsed.problem : undefined;
}

/** The requirements of `selector` (all must hold), or why it is not a label selector (as above). */
export function parseLabelSelector(
  selector: string,
): { readonly requirements: readonly LabelRequirement[] } | { readonly problem: string } {
  if (selector.trim() === '')
    return { problem: 'an empty selector would select every namespace; list names: ["*"] instead' };
  const tokens = tokenize(selector);
  if (typeof tokens === 'string') return { problem: tokens };
  const reader = new SelectorReader(tokens);
  const problem = reader.read();
  return problem === undefined ? { requirements: reader.requirements } : { problem };
}

const labelSelector = z
  .string({ error: expecting(`a label selector (${SELECTOR_SYNTAX})`) })
  .superRefine((value, ctx) => {
    const problem = labelSelectorProblem(value);
    if (problem !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid label selector: ${problem} (requirements are ${SELECTOR_SYNTAX}, comma-separated), got ${quote(value)}`,
      });
    }
  })
  .meta({
    description: `Kubernetes label selector on namespace labels: comma-separated ${SELECTOR_SYNTAX}.`,
    examples: ['env=prod', 'env in (prod,staging),!legacy'],
  });

// ---------------------------------------------------------------------------------------------------
// S3 names
// ---------------------------------------------------------------------------------------------------

/** Bucket-name prefixes AWS reserves, with what for. */
const RESERVED_BUCKET_PREFIXES = [
  ['xn--', 'reserved for punycode'],
  ['sthree-', 'reserved by S3'],
  ['amzn-s3-demo-', 'reserved for documentation examples'],
] as const;

/** Bucket-name suffixes AWS reserves for access points and other bucket types, with what for. */
const RESERVED_BUCKET_SUFFIXES = [
  ['-s3alias', 'reserved for access point aliases'],
  ['--ol-s3', 'reserved for Object Lambda access point aliases'],
  ['.mrap', 'reserved for Multi-Region Access Points'],
  ['--x-s3', 'reserved for directory buckets'],
  ['--table-s3', 'reserved for table buckets'],
] as const;

/** Why `name` is not an S3 general purpose bucket name, naming the rule broken; undefined when it is one. */
export function bucketNameProblem(name: string): string | undefined {
  if (/[*?]/.test(name)) return 'wildcards (* and ?) are not allowed: a grant names each bucket exactly';
  if (name.length < 3 || name.length > 63) return `it must be 3 to 63 characters long, not ${name.length}`;
  if (!/^[a-z0-9.-]+$/.test(name)) return "it may only contain lowercase letters, digits, '.' and '-'";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'it must start and end with a letter or digit';
  if (name.includes('..')) return 'it must not contain two adjacent periods';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'it must not be formatted as an IP address';
  for (const [prefix, why] of RESERVED_BUCKET_PREFIXES) {
    if (name.startsWith(prefix)) return `it must not start with ${quote(prefix)} (${why})`;
  }
  for (const [suffix, why] of RESERVED_BUCKET_SUFFIXES) {
    if (name.endsWith(suffix)) return `it must not end with ${quote(suffix)} (${why})`;
  }
  return undefined;
}

/** Longest key prefix accepted, as written. */
const MAX_PREFIX_CHARS = 512;

/**
 * Why `prefix` cannot scope a grant, or undefined when it can. Wildcards and policy variables would be
 * interpreted by IAM in the session policy and widen what the grant opens.
 */
export function keyPrefixProblem(prefix: string): string | undefined {
  if (/[*?]/.test(prefix))
    return 'wildcards (* and ?) are not allowed: IAM would expand them and widen the grant';
  if (prefix.includes('${')) return "'${' is not allowed: IAM would read it as a policy variable";
  if (prefix.length > MAX_PREFIX_CHARS)
    return `it must be at most ${MAX_PREFIX_CHARS} characters, not ${prefix.length}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f]/.test(prefix)) return 'control characters are not allowed';
  if (prefix.startsWith('/'))
    return "it must not start with '/': S3 keys do not (write reports/, not /reports/)";
  if (prefix.includes('//')) return "it must not contain '//'";
  if (prefix.split('/').includes('..')) return "it must not contain a '..' segment";
  return undefined;
}

/**
 * A prefix as the grant uses it: ending in `/`, so `reports` never opens `reports-old/`. An empty or
 * absent prefix means the whole bucket and stays absent.
 */
export function normalizeKeyPrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined || prefix === '') return undefined;
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** Longest mount path accepted. */
const MAX_MOUNT_PATH_CHARS = 200;

/**
 * Why `path` cannot be a grant's mount path, or undefined when it can. The path is written into the
 * Secret's `credential_process` command line, which some SDKs run through a shell, so only plain path
 * characters are accepted.
 */
export function mountPathProblem(path: string): string | undefined {
  if (path.length > MAX_MOUNT_PATH_CHARS)
    return `it must be at most ${MAX_MOUNT_PATH_CHARS} characters, not ${path.length}`;
  if (!path.startsWith('/')) return "it must be absolute (start with '/')";
  if (!/^[A-Za-z0-9._/-]+$/.test(path)) {
    return "it may only contain letters, digits, '.', '_', '-' and '/' (no whitespace): it is written into a credential_process command line";
  }
  if (path.split('/').includes('..')) return "it must not contain a '..' segment";
  if (/^\/+$/.test(path)) return "it must name a directory below '/'";
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------------------

/** Repository entries: `*` is only meaningful as a trailing prefix wildcard, so say so precisely. */
function repositoryMessage(issue: IssueInput): string {
  const value = issue.input;
  const what = 'an ECR repository name (2-256 of a-z 0-9 . _ / -) or a prefix ending in *';
  if (typeof value === 'string' && value.slice(0, -1).includes('*')) {
    return `expected ${what}; '*' is only allowed as the last character, got ${quote(value)}`;
  }
  return expecting(what)(issue);
}

/** YAML reads bare digits as a number (dropping leading zeros), so tell the user to quote them. */
function accountIdMessage(issue: IssueInput): string {
  if (typeof issue.input === 'number') {
    return `expected a 12-digit AWS account ID as a quoted string, got number ${issue.input}; write it in quotes (accountId: "111122223333") because YAML reads bare digits as a number and drops leading zeros`;
  }
  return expecting('a 12-digit AWS account ID such as "111122223333"')(issue);
}

const namespacePattern = patterned(
  NAMESPACE_GLOB,
  'a namespace name or glob (a-z 0-9 -, plus * and ?, alphanumeric or wildcard at both ends, at most 63 characters) such as team-*',
);

const dnsSubdomain = (what: string) =>
  patterned(DNS_SUBDOMAIN, `${what}: a DNS-1123 subdomain (a-z 0-9 - ., at most 253 characters)`, 253);

const NamespacesSchema = mapping({
  names: list(namespacePattern, 'namespace names or globs')
    .meta({
      description: 'Namespaces selected by name; globs use * (any run) and ? (one character).',
      examples: [['app', 'team-*']],
    })
    .optional(),
  selector: labelSelector.optional(),
  exclude: list(namespacePattern, 'namespace names or globs')
    .meta({
      description: 'Namespace names or globs removed from the selection, whatever selected them.',
      examples: [['team-legacy*']],
    })
    .optional(),
}).meta({
  id: 'Namespaces',
  title: 'Namespace selection',
  description:
    'Which namespaces of the cluster receive credentials: those matching names or selector, minus exclude. Merged key by key over defaults.namespaces.',
});

const RegistrySchema = mapping({
  accountId: z
    .string({ error: accountIdMessage })
    .regex(ACCOUNT_ID)
    .optional()
    .meta({
      description:
        '12-digit account of the registry, as a quoted string. Absent: the account of the identity that mints the token.',
      examples: ['111122223333'],
    }),
  region: patterned(AWS_REGION, 'an AWS region such as eu-west-1').meta({
    description: 'AWS region of the registry.',
    examples: ['eu-west-1', 'us-east-1'],
  }),
  roleArn: patterned(ROLE_ARN, 'an IAM role ARN such as arn:aws:iam::111122223333:role/ecr-pull')
    .optional()
    .meta({
      description:
        'Role assumed to mint the token; its policy is the ceiling of what the token can pull. Required when repositories is set.',
      examples: ['arn:aws:iam::111122223333:role/ecr-pull'],
    }),
}).meta({
  id: 'EcrRegistry',
  title: 'ECR registry',
  description: 'One ECR registry the cluster pulls from.',
});

const EcrSchema = mapping({
  secretName: dnsSubdomain('a Secret name')
    .optional()
    .meta({
      description: 'Name of the kubernetes.io/dockerconfigjson Secret written into each selected namespace.',
      examples: ['ecr-pull'],
    }),
  registries: nonEmptyList(RegistrySchema, 'registries', 'registry').optional().meta({
    description: 'Registries the pull Secret holds credentials for (at least one).',
  }),
  repositories: list(
    z
      .string({ error: repositoryMessage })
      .min(2, { abort: true })
      .max(256, { abort: true })
      .regex(REPOSITORY),
    'ECR repository names or prefixes',
  )
    .optional()
    .meta({
      description:
        'Repositories the cluster may pull (app/api), or prefixes ending in * (team-a/*). Absent: all. When set, every registry needs roleArn and accountId: a session policy can only narrow an assumed role, and repository ARNs need the account.',
      examples: [['app/api', 'team-a/*']],
    }),
  serviceAccounts: list(dnsSubdomain('a ServiceAccount name'), 'ServiceAccount names')
    .optional()
    .meta({
      description:
        'ServiceAccounts whose imagePullSecrets get the Secret appended in every selected namespace.',
      default: ['default'],
    }),
}).meta({
  id: 'Ecr',
  title: 'ECR pull secret',
  description: 'The ECR pull Secret written into the cluster. Merged key by key over defaults.ecr.',
});

/** A grant's namespaces are exact: say so when a glob is given. */
function grantNamespaceMessage(issue: IssueInput): string {
  const what =
    'an exact namespace name (a DNS label: a-z 0-9 -, alphanumeric at both ends, at most 63 characters)';
  if (typeof issue.input === 'string' && /[*?]/.test(issue.input)) {
    return `expected ${what}; globs are not allowed in a grant's namespaces, got ${quote(issue.input)}`;
  }
  return expecting(what)(issue);
}

const S3BucketSchema = mapping({
  bucket: ruled('an S3 bucket name (3-63 of a-z 0-9 . -)', bucketNameProblem).meta({
    description:
      'Bucket name, exactly (no wildcards): 3-63 of a-z 0-9 . -, starting and ending with a letter or digit.',
    examples: ['acme-reports'],
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
  }),
  prefix: ruled('an S3 key prefix such as reports/2026/', keyPrefixProblem)
    .optional()
    .meta({
      description:
        "Key prefix the grant is limited to, normalised to end in '/' (reports becomes reports/, so it never opens reports-old/). No * or ?, no leading '/', no '//', no '..' segment, at most 512 characters. Absent or empty: the whole bucket.",
      examples: ['reports/2026/'],
      maxLength: MAX_PREFIX_CHARS,
      pattern: '^(?:[^*?/][^*?]*)?$',
    }),
  access: z.enum(['read', 'write', 'readwrite'], { error: expecting('read, write or readwrite') }).meta({
    description: 'What the session may do under the prefix: read, write, or readwrite (both).',
  }),
}).meta({
  id: 'S3BucketGrant',
  title: 'S3 bucket grant',
  description: 'One bucket, optionally one prefix in it, and what the session may do there.',
});

const S3GrantSchema = mapping({
  secretName: dnsSubdomain('a Secret name').meta({
    description:
      "Name of the Opaque Secret written into each of the grant's namespaces; unique among the cluster's S3 grants and different from its ecr.secretName.",
    examples: ['reports-reader'],
  }),
  roleArn: patterned(ROLE_ARN, 'an IAM role ARN such as arn:aws:iam::111122223333:role/s3-reports').meta({
    description:
      "Role assumed for the session; its own policy is the ceiling, the session policy narrows it to the grant's buckets.",
    examples: ['arn:aws:iam::111122223333:role/cred-courier-s3-reports'],
  }),
  namespaces: nonEmptyList(
    z.string({ error: grantNamespaceMessage }).max(63, { abort: true }).regex(DNS_LABEL),
    'namespace names',
    'namespace',
  )
    .optional()
    .meta({
      description:
        "Exact namespace names (no globs) receiving the Secret, each selected by the cluster's namespaces. Absent: all the cluster's selected namespaces.",
      examples: [['analytics']],
    }),
  region: patterned(AWS_REGION, 'an AWS region such as eu-west-1').meta({
    description: 'Region written to AWS_REGION and the config profile; STS is called there too.',
    examples: ['eu-west-1'],
  }),
  durationSeconds: integerIn(900, 43200)
    .optional()
    .meta({
      description: `Session lifetime in seconds: 900-${ROLE_CHAINING_MAX_SECONDS} (AWS caps role chaining at 1 hour, and cred-courier mints from the Lambda's role session), up to 43200 with longSessions. Must exceed settings.s3IntervalMinutes × 60 + ${CADENCE_ALLOWANCE_SECONDS} (kubelet lag ${CADENCE_ALLOWANCES.KUBELET_LAG_SECONDS}, SDK refresh window ${CADENCE_ALLOWANCES.SDK_REFRESH_WINDOW_SECONDS}, margin ${CADENCE_ALLOWANCES.MARGIN_SECONDS}).`,
      default: S3_GRANT_DEFAULTS.durationSeconds,
    }),
  longSessions: flag().optional().meta({
    description:
      'Allow durationSeconds above 3600. Only valid when the minting identity is an IAM user, not a role session.',
    default: S3_GRANT_DEFAULTS.longSessions,
  }),
  mountPath: ruled('an absolute path such as /var/run/secrets/cred-courier/reports-reader', mountPathProblem)
    .optional()
    .meta({
      description: `Where Pods mount the Secret; the config file's credential_process reads from it. Absolute, no '..' segment, no whitespace, at most ${MAX_MOUNT_PATH_CHARS} characters. Default: ${S3_GRANT_DEFAULTS.mountPathRoot}/<secretName>.`,
      examples: ['/var/run/secrets/cred-courier/reports-reader'],
      maxLength: MAX_MOUNT_PATH_CHARS,
      pattern: '^/[A-Za-z0-9._/-]+$',
    }),
  kmsKeyArns: list(kmsKeyArn(), 'KMS key ARNs')
    .optional()
    .meta({
      description:
        "KMS key ARNs (key/<id> or key/mrk-<id>) the objects are encrypted with; kms actions are granted on these keys only, through S3 in the grant's region. Not alias ARNs: as a policy Resource an alias ARN does not grant use of the key it points to, so use the key ARN the alias points to.",
      examples: [['arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab']],
    }),
  buckets: nonEmptyList(S3BucketSchema, 'bucket grants', 'bucket').meta({
    description:
      'Buckets and prefixes the session may use (at least one); the same bucket and prefix at most once.',
  }),
}).meta({
  id: 'S3Grant',
  title: 'S3 grant',
  description:
    'An STS session limited to some buckets and prefixes, delivered as one Opaque Secret (environment, credentials file and credential_process forms).',
});

/** Keys a cluster shares with `defaults`. */
const clusterOptions = {
  namespaces: NamespacesSchema.optional(),
  ecr: EcrSchema.optional(),
  s3: list(S3GrantSchema, 'S3 grants').optional().meta({
    description:
      "S3 grants of the cluster. A cluster's own list replaces defaults.s3 (lists do not concatenate); [] turns inherited grants off.",
  }),
  allowInsecureSkipTlsVerify: flag().optional().meta({
    description: 'Accept a kubeconfig with insecure-skip-tls-verify (warned about on every run).',
    default: false,
  }),
  trustSystemRoots: flag().optional().meta({
    description:
      "Accept a kubeconfig without certificate-authority-data and trust the system's root CAs for the API server (only for an endpoint with a publicly trusted certificate; warned about on every run).",
    default: false,
  }),
  adoptExistingSecrets: flag().optional().meta({
    description: 'Take over Secrets of the same name that cred-courier did not create.',
    default: false,
  }),
};

/** Settings for the whole run; every key is optional. */
export const SettingsSchema = mapping({
  concurrency: integerIn(1, 256)
    .default(DEFAULT_SETTINGS.concurrency)
    .meta({ description: 'Clusters worked on at once.' }),
  requestConcurrency: integerIn(1, 64)
    .default(DEFAULT_SETTINGS.requestConcurrency)
    .meta({ description: 'Kubernetes requests in flight at once within one cluster.' }),
  requestTimeoutSeconds: integerIn(1, 120)
    .default(DEFAULT_SETTINGS.requestTimeoutSeconds)
    .meta({ description: 'Each Kubernetes request is abandoned after this many seconds.' }),
  clusterDeadlineSeconds: integerIn(5, 900)
    .default(DEFAULT_SETTINGS.clusterDeadlineSeconds)
    .meta({ description: "A cluster's whole delivery is abandoned after this many seconds." }),
  kubeconfigCacheSeconds: integerIn(0, 86400).default(DEFAULT_SETTINGS.kubeconfigCacheSeconds).meta({
    description: 'How long a warm Lambda reuses a kubeconfig read from Secrets Manager (0: never).',
  }),
  controlNamespace: patterned(
    DNS_LABEL,
    'a DNS label (a-z 0-9 -, at most 63 characters) such as cred-courier',
  )
    .default(DEFAULT_SETTINGS.controlNamespace)
    .meta({ description: "Namespace on each cluster holding cred-courier's own objects." }),
  s3IntervalMinutes: integerIn(1, 60)
    .default(DEFAULT_SETTINGS.s3IntervalMinutes)
    .meta({
      description: `How often the S3 schedule delivers, in minutes. Every S3 grant's durationSeconds must exceed this × 60 + ${CADENCE_ALLOWANCE_SECONDS}.`,
    }),
  tokenRenewalFraction: numberIn(0.1, 0.9).default(DEFAULT_SETTINGS.tokenRenewalFraction).meta({
    description:
      "A run renews a cluster's stored TokenRequest token once this fraction of its lifetime (exp - iat) is used. Long-lived tokens and client certificates are not renewed.",
  }),
}).meta({ title: 'Run settings', description: 'Run-wide settings; every key has a default.' });

/** What every cluster inherits unless it sets the key itself. */
export const DefaultsSchema = mapping(clusterOptions).meta({
  title: 'Cluster defaults',
  description:
    "Applied to every cluster: namespaces and ecr are merged key by key (lists replace, they do not concatenate), a cluster's own s3 list replaces defaults.s3; flags default to false.",
});

/** One cluster entry as written, before defaults are merged. */
export const ClusterSchema = mapping({
  name: patterned(
    DNS_LABEL,
    'a DNS label (a-z 0-9 -, alphanumeric at both ends, at most 63 characters) such as gke-prod',
  ).meta({ description: 'Cluster name, unique in the file; used in logs, metrics and Secret annotations.' }),
  kubeconfigSecret: z
    .string({ error: secretRefMessage })
    .regex(SECRET_REF)
    .meta({
      description: "Secrets Manager secret name or ARN holding the cluster's kubeconfig.",
      examples: ['cred-courier/clusters/gke-prod'],
    }),
  ...clusterOptions,
  // Per cluster only (never from defaults): running without the guard is a decision about one cluster.
  secretGuard: flag().optional().meta({
    description:
      'false: the cluster was registered with register --without-secret-guard and register and check do not require the secret guard (a ValidatingAdmissionPolicy, Kubernetes 1.30+). Only with exact namespace names (no globs, no selector). Absent: the guard is required.',
    default: true,
  }),
}).meta({ id: 'Cluster', title: 'Cluster' });

function secretRefMessage(issue: IssueInput): string {
  if (typeof issue.input === 'string' && issue.input.startsWith('arn:')) {
    return expecting(
      'a Secrets Manager ARN such as arn:aws:secretsmanager:eu-west-1:111122223333:secret:name',
    )(issue);
  }
  return expecting('a Secrets Manager secret name (1-512 of A-Z a-z 0-9 / _ + = . @ -) or ARN')(issue);
}

/** The whole registration file. */
export const ConfigFileSchema = mapping({
  settings: SettingsSchema.optional(),
  defaults: DefaultsSchema.optional(),
  clusters: nonEmptyList(ClusterSchema, 'clusters', 'cluster').meta({
    description: 'The clusters cred-courier delivers credentials to (at least one).',
  }),
}).meta({
  title: 'cred-courier registration file',
  description: 'Which Kubernetes clusters receive which short-lived AWS credentials.',
});

export type ConfigFile = z.output<typeof ConfigFileSchema>;
export type ClusterEntry = z.output<typeof ClusterSchema>;
export type DefaultsEntry = z.output<typeof DefaultsSchema>;
export type RegistryEntry = z.output<typeof RegistrySchema>;
export type S3GrantEntry = z.output<typeof S3GrantSchema>;
export type S3BucketEntry = z.output<typeof S3BucketSchema>;

/**
 * JSON Schema (draft-07, which yaml-language-server and most editors understand) of the file as
 * written, for `config/clusters.schema.json`. Describes input: settings with defaults are optional.
 * Selector syntax and cross-field rules are not expressible here; the loader still checks them.
 */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ConfigFileSchema, { target: 'draft-07', io: 'input' }) as Record<string, unknown>;
}
