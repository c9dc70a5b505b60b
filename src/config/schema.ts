/**
 * The registration file as users write it (`config/clusters.yaml`), before `defaults` are applied.
 * Every object is strict, so a misspelt key is an error rather than a silently ignored setting.
 * Each field carries its own message ("expected …, got …") so the loader only has to add the path and
 * the line; cross-field rules that need the merged cluster live in `load.ts`. Each credential kind's
 * part (`ecr`, `s3`, …) lives in its folder under `src/kinds/` and is composed here.
 */
import { z } from 'zod';
import { KIND_CLUSTER_OPTIONS } from '../kinds/config.ts';
import { CADENCE_ALLOWANCE_SECONDS } from './cadence.ts';
import {
  DNS_LABEL,
  DNS_SUBDOMAIN,
  expecting,
  flag,
  type IssueInput,
  integerIn,
  list,
  mapping,
  NAMESPACE_GLOB,
  nonEmptyList,
  numberIn,
  patterned,
  quote,
  SECRET_REF,
} from './fields.ts';

export { DNS_LABEL, DNS_SUBDOMAIN, printable, quote, showValue } from './fields.ts';

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
// Fields
// ---------------------------------------------------------------------------------------------------

const namespacePattern = patterned(
  NAMESPACE_GLOB,
  'a namespace name or glob (a-z 0-9 -, plus * and ?, alphanumeric or wildcard at both ends, at most 63 characters) such as team-*',
);

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

/**
 * Why `value` is not a usable forward proxy URL, if it is not. Only the scheme, host and port may be
 * set: credentials in the URL would sit in the file (they come from `credentialsSecret`), and a path,
 * query or fragment would mean nothing to an HTTP CONNECT proxy.
 */
export function proxyUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `the scheme is ${quote(url.protocol)}`;
  if (url.username || url.password)
    return 'it holds a user name or password: put the credentials in the Secrets Manager secret named by credentialsSecret';
  if (url.search || url.hash || /[?#]/.test(value)) return 'it holds a query or fragment';
  if (url.pathname !== '/') return 'it holds a path';
  return undefined;
}

const PROXY_URL_WHAT = 'an http:// or https:// URL of a forward proxy such as http://proxy.example:3128';

const ProxySchema = mapping({
  url: z
    .string({ error: expecting(PROXY_URL_WHAT) })
    .superRefine((value, ctx) => {
      const problem = proxyUrlProblem(value);
      if (problem === undefined) return;
      // The value is not quoted back when it holds credentials: they must not reach a log either.
      const shown = /@/.test(value) ? 'a URL with credentials' : quote(value);
      ctx.addIssue({ code: 'custom', message: `expected ${PROXY_URL_WHAT}; ${problem}, got ${shown}` });
    })
    .meta({
      description:
        "The forward proxy (HTTP CONNECT) the cluster's Kubernetes connections go through: scheme, host and port only. TLS to the apiserver stays end to end through the tunnel.",
      examples: ['http://proxy.example:3128'],
    }),
  credentialsSecret: z
    .string({ error: secretRefMessage })
    .regex(SECRET_REF)
    .optional()
    .meta({
      description:
        'Secrets Manager secret name or ARN holding the proxy\'s basic credentials as JSON {"username": "...", "password": "..."} (password at least 8 characters); sent only to the proxy, as Proxy-Authorization on CONNECT.',
      examples: ['cred-courier/proxies/corp'],
    }),
}).meta({
  id: 'Proxy',
  title: 'Forward proxy',
  description:
    "A forward proxy for the cluster's Kubernetes connections only (AWS calls do not use it). A kubeconfig's own proxy-url is ignored.",
});

/** Keys a cluster shares with `defaults`. */
const clusterOptions = {
  namespaces: NamespacesSchema.optional(),
  ...KIND_CLUSTER_OPTIONS,
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
  proxy: ProxySchema.optional().meta({
    description:
      "A forward proxy for the cluster's Kubernetes connections. A cluster's own proxy replaces defaults.proxy.",
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

/**
 * JSON Schema (draft-07, which yaml-language-server and most editors understand) of the file as
 * written, for `config/clusters.schema.json`. Describes input: settings with defaults are optional.
 * Selector syntax and cross-field rules are not expressible here; the loader still checks them.
 */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ConfigFileSchema, { target: 'draft-07', io: 'input' }) as Record<string, unknown>;
}
