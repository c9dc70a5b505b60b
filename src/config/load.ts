/**
 * Reads the registration file: YAML → schema validation → `defaults` merged into each cluster →
 * cross-field checks → the resolved `Config`. Every problem of a file is collected and thrown at once
 * as one `ConfigError`, each naming its path (`clusters[2].ecr.registries[0].region`) and, when the
 * YAML document knows it, the line.
 */
import { readFile } from 'node:fs/promises';
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type YAMLError,
} from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { fleetProblems, resolveKinds } from '../kinds/config.ts';
import { KIND_IDS } from '../kinds/kind.ts';
import { needsNamespaceListing } from '../plan/namespaces.ts';
import {
  formatPath,
  type LocatedCluster,
  mergeShallow,
  type Part,
  type Path,
  type Problem,
} from './problems.ts';
import {
  type ClusterEntry,
  ClusterSchema,
  ConfigFileSchema,
  DEFAULT_SETTINGS,
  type DefaultsEntry,
  DefaultsSchema,
  quote,
  SettingsSchema,
  showValue,
} from './schema.ts';
import { didYouMean, keysAt } from './suggest.ts';
import type { ClusterSpec, Config, NamespaceSelection, ProxySpec, Settings } from './types.ts';

export { DEFAULT_SETTINGS } from './schema.ts';

/** More problems than this are summarised; a broken or hostile file should not produce megabytes of text. */
const MAX_ISSUES = 50;
/** YAML library messages can quote the source; keep them to a line. */
const MAX_YAML_MESSAGE_CHARS = 200;

/** One problem, with the line it was found on so the list can be shown in file order. */
interface Issue {
  readonly line: number | undefined;
  readonly text: string;
}

/** Finds the line a path was written on, so messages can point into the file. */
type Locate = (path: Path) => number | undefined;

/**
 * Reads and validates the registration file.
 * @throws ConfigError when the file cannot be read, or is not a valid registration file.
 */
export async function loadConfig(file: string): Promise<Config> {
  return (await loadConfigWithWarnings(file)).config;
}

/** How messages name positions. */
export interface ParseOptions {
  /**
   * For text that is an edit of the file (`register`): a line of `text` back to the file as it is, or
   * undefined for a line the edit wrote (see `EditResult.originalLine`), so messages point at the lines
   * the user sees. Default: lines of `text`.
   */
  readonly originalLine?: (line: number) => number | undefined;
}

/** A valid registration file and what is worth saying about it although it is valid. */
export interface CheckedConfig {
  readonly config: Config;
  /** In file order, each naming its path and line, like the problems of a `ConfigError`. */
  readonly warnings: readonly string[];
}

/**
 * Parses registration-file text into the resolved `Config`. Pure: `file` is only used in messages.
 * @throws ConfigError listing every problem found.
 */
export function parseConfig(text: string, file: string, options: ParseOptions = {}): Config {
  return parseConfigWithWarnings(text, file, options).config;
}

/** `loadConfig`, and the warnings of a valid file (`cred-courier validate` prints them). */
export async function loadConfigWithWarnings(file: string): Promise<CheckedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read the registration file (${readFailure(error)})`], {
      cause: error,
    });
  }
  return parseConfigWithWarnings(text, file);
}

/**
 * `parseConfig`, and the warnings of a valid file.
 * @throws ConfigError listing every problem found.
 */
export function parseConfigWithWarnings(
  text: string,
  file: string,
  options: ParseOptions = {},
): CheckedConfig {
  const lineCounter = new LineCounter();
  // Duplicate keys are found by our own walk below, which can name the path; the parser's check cannot.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, cap(doc.errors.map((error) => syntaxIssue(error, lineCounter))));
  }
  if (doc.contents === null) {
    throw new ConfigError(file, ['top level: the file is empty (expected a mapping with a clusters list)']);
  }
  const data = toData(doc, file);
  const originalLine = options.originalLine ?? ((line: number) => line);
  const locate = locator(doc, lineCounter, originalLine);

  const issues = [...duplicateKeyIssues(doc, lineCounter, originalLine)];
  const parsed = ConfigFileSchema.safeParse(data, { error: fallbackMessage });
  if (!parsed.success)
    issues.push(...parsed.error.issues.flatMap((issue) => zodIssueMessages(issue, locate)));
  issues.push(...duplicateNameIssues(data, locate));
  const resolved = resolveClusters(data, locate);
  issues.push(...resolved.issues);
  const shared = sharedKubeconfigSecrets(data, locate);
  issues.push(...shared.errors);

  if (issues.length > 0 || !parsed.success) throw new ConfigError(file, cap(inFileOrder(issues)));
  const settings: Settings = { ...DEFAULT_SETTINGS, ...parsed.data.settings };
  const warnings = [...receivesNothingWarnings(data, locate), ...shared.warnings];
  return { config: { file, settings, clusters: resolved.clusters }, warnings: cap(inFileOrder(warnings)) };
}

// ---------------------------------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------------------------------

function readFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

function syntaxIssue(error: YAMLError, lineCounter: LineCounter): string {
  const { line, col } = lineCounter.linePos(error.pos[0]);
  const message =
    error.code === 'MULTIPLE_DOCS'
      ? "the file must hold a single YAML document, but a '---' starts another"
      : shortYamlMessage(error.message);
  return `line ${line}:${col}: YAML syntax error: ${message}`;
}

/** The first line of a YAML library message, with control characters escaped and length capped. */
function shortYamlMessage(message: string): string {
  const first = message.split('\n', 1)[0] ?? '';
  return quote(first, MAX_YAML_MESSAGE_CHARS).slice(1, -1);
}

/** Plain data from the document; alias bombs are refused by the library's alias budget. */
function toData(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(file, [`top level: cannot expand the YAML: ${shortYamlMessage(message)}`], {
      cause: error,
    });
  }
}

/** Text of a mapping key as `toJS` names it. */
function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function lineOfNode(node: unknown, lineCounter: LineCounter): number | undefined {
  const range = (node as { range?: readonly number[] } | null)?.range;
  const start = range?.[0];
  return start === undefined ? undefined : lineCounter.linePos(start).line;
}

/**
 * Walks `path` through the document. For a mapping key the line is the key's own (where the user
 * typed it); when the path leaves the document (a missing key), the deepest node found gives the line.
 */
function locator(
  doc: Document,
  lineCounter: LineCounter,
  originalLine: (line: number) => number | undefined,
): Locate {
  return (path) => {
    let node: unknown = doc.contents;
    let line = lineOfNode(node, lineCounter);
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.findLast((item) => keyText(item.key) === String(segment));
        if (pair === undefined) break;
        line = lineOfNode(pair.key, lineCounter) ?? lineOfNode(pair.value, lineCounter) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        if (node === undefined) break;
        line = lineOfNode(node, lineCounter) ?? line;
      } else {
        break;
      }
    }
    return line === undefined ? undefined : originalLine(line);
  };
}

/** A key written twice in one mapping: YAML forbids it, and silently keeping one would hide a mistake. */
function duplicateKeyIssues(
  doc: Document,
  lineCounter: LineCounter,
  originalLine: (line: number) => number | undefined,
): Issue[] {
  const lineOf = (node: unknown) => {
    const line = lineOfNode(node, lineCounter);
    return line === undefined ? undefined : originalLine(line);
  };
  const issues: Issue[] = [];
  const walk = (node: unknown, path: Path): void => {
    if (isMap(node)) {
      const firstLine = new Map<string, number | undefined>();
      for (const pair of node.items) {
        const key = keyText(pair.key);
        const line = lineOf(pair.key);
        if (firstLine.has(key)) {
          const first = firstLine.get(key);
          const where = first === undefined ? '' : ` (first at line ${first})`;
          issues.push({
            line,
            text: `${formatPath([...path, key])}${lineSuffix(line)}: duplicate key${where}`,
          });
        } else {
          firstLine.set(key, line);
        }
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        walk(item, [...path, index]);
      });
    }
  };
  walk(doc.contents, []);
  return issues;
}

// ---------------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------------

function lineSuffix(line: number | undefined): string {
  return line === undefined ? '' : ` (line ${line})`;
}

function issueAt(path: Path, locate: Locate, message: string): Issue {
  const line = locate(path);
  return { line, text: `${formatPath(path)}${lineSuffix(line)}: ${message}` };
}

/**
 * Sorted by line (stable, so problems on one line keep their order; problems without a line go last)
 * and without repeats (several clusters can inherit the same broken default).
 */
function inFileOrder(issues: readonly Issue[]): string[] {
  const sorted = issues.toSorted(
    (a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER),
  );
  return [...new Set(sorted.map((issue) => issue.text))];
}

/** Safety net for issues a schema field did not word itself. */
function fallbackMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}, got ${showValue(issue.input)}`;
  return undefined;
}

function toPath(path: readonly PropertyKey[]): Path {
  return path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
}

/** One message per zod issue; an unknown-keys issue becomes one message per key, at the key's line. */
function zodIssueMessages(issue: z.core.$ZodIssue, locate: Locate): Issue[] {
  const path = toPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    // The full list of accepted keys only when no accepted key is close to the one written.
    const known = keysAt(ConfigFileSchema, path) ?? [];
    return issue.keys.map((key) => issueAt([...path, key], locate, didYouMean(key, known) ?? issue.message));
  }
  return [issueAt(path, locate, issue.message)];
}

function cap(issues: readonly string[]): string[] {
  if (issues.length <= MAX_ISSUES) return [...issues];
  return [...issues.slice(0, MAX_ISSUES), `… and ${issues.length - MAX_ISSUES} more problems`];
}

// ---------------------------------------------------------------------------------------------------
// Cross-field checks and defaults
// ---------------------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rawClusters(data: unknown): readonly unknown[] {
  return isRecord(data) && Array.isArray(data.clusters) ? data.clusters : [];
}

/** Cluster names are the key of everything downstream (logs, inventory), so two clusters may not share one. */
function duplicateNameIssues(data: unknown, locate: Locate): Issue[] {
  const firstIndex = new Map<string, number>();
  const issues: Issue[] = [];
  rawClusters(data).forEach((cluster, index) => {
    const name = isRecord(cluster) ? cluster.name : undefined;
    if (typeof name !== 'string') return;
    const first = firstIndex.get(name);
    if (first === undefined) {
      firstIndex.set(name, index);
    } else {
      issues.push(
        issueAt(
          ['clusters', index, 'name'],
          locate,
          `duplicate cluster name ${quote(name)}, already used by clusters[${first}]; names must be unique`,
        ),
      );
    }
  });
  return issues;
}

/** A Secrets Manager ARN's parts; a reference that is not an ARN is a name in the function's region and account. */
const SECRET_ARN = /^arn:([^:]+):secretsmanager:([^:]+):(\d{12}):secret:(.+)$/;
/** Secret references are validated (no control characters) and may be long ARNs: quoted whole. */
const MAX_REFERENCE_CHARS = 600;
/** The `-` and six characters Secrets Manager appends to a secret's name in its full ARN. */
const SECRET_ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;

interface SecretReference {
  readonly index: number;
  readonly cluster: string;
  readonly reference: string;
  /** `partition:region:account` of an ARN; undefined for a name. */
  readonly where?: string;
  readonly name: string;
}

/**
 * Whether two different references may name one secret, and when: a full ARN ends in a suffix a partial
 * ARN or a name leaves out (`…:secret:a-AbC123` is the secret `a`, or one named `a-AbC123`), and a name
 * is resolved in the region and account the function runs in, which the file does not say.
 */
function mayBeOneSecret(a: SecretReference, b: SecretReference): string | undefined {
  if (a.where !== undefined && b.where !== undefined && a.where !== b.where) return undefined;
  const sameName =
    a.name === b.name ||
    a.name.replace(SECRET_ARN_SUFFIX, '') === b.name ||
    a.name === b.name.replace(SECRET_ARN_SUFFIX, '');
  if (!sameName) return undefined;
  if (a.where !== undefined && b.where !== undefined)
    return 'the same secret if one ARN is the full ARN of the secret the other names';
  // Two different names are two secrets; a name and an ARN, one if the name resolves where the ARN points.
  const arn = a.where ?? b.where;
  if (arn === undefined) return undefined;
  const [, region, account] = arn.split(':');
  return `the same secret if the function runs in ${region} in account ${account}`;
}

/**
 * A kubeconfig secret belongs to one cluster: register stores that cluster's kubeconfig in it, runs
 * renew its token there and unregister deletes it, so two entries sharing one would overwrite and delete
 * each other's credentials (or register one cluster twice under two names). The same reference twice is
 * an error; references that name one secret only depending on where the function runs are a warning.
 */
function sharedKubeconfigSecrets(data: unknown, locate: Locate): { errors: Issue[]; warnings: Issue[] } {
  const references: SecretReference[] = [];
  rawClusters(data).forEach((cluster, index) => {
    // A reference the schema refuses is reported there; comparing it too would only repeat that.
    if (
      !isRecord(cluster) ||
      !ClusterSchema.shape.kubeconfigSecret.safeParse(cluster.kubeconfigSecret).success
    )
      return;
    const reference = cluster.kubeconfigSecret as string;
    const arn = SECRET_ARN.exec(reference);
    references.push({
      index,
      cluster: typeof cluster.name === 'string' ? cluster.name : `clusters[${index}]`,
      reference,
      ...(arn ? { where: `${arn[1]}:${arn[2]}:${arn[3]}` } : {}),
      name: arn?.[4] ?? reference,
    });
  });
  const errors: Issue[] = [];
  const warnings: Issue[] = [];
  const firstOf = new Map<string, SecretReference>();
  const byName = new Map<string, SecretReference[]>();
  const describe = (ref: SecretReference) => {
    const line = locate(['clusters', ref.index, 'kubeconfigSecret']);
    return `cluster ${quote(ref.cluster)} (clusters[${ref.index}]${line === undefined ? '' : `, line ${line}`})`;
  };
  for (const ref of references) {
    const at = ['clusters', ref.index, 'kubeconfigSecret'];
    const first = firstOf.get(ref.reference);
    if (first !== undefined) {
      errors.push(
        issueAt(
          at,
          locate,
          `cluster ${quote(ref.cluster)} uses the kubeconfig secret ${quote(ref.reference, MAX_REFERENCE_CHARS)} of ${describe(first)}: each cluster needs its own, since register stores the cluster's kubeconfig there, runs renew its token in it and unregister deletes it; give one of them another kubeconfigSecret`,
        ),
      );
      continue;
    }
    firstOf.set(ref.reference, ref);
    const keys = new Set([ref.name, ref.name.replace(SECRET_ARN_SUFFIX, '')]);
    const seen = new Set<SecretReference>();
    for (const key of keys) {
      for (const other of byName.get(key) ?? []) {
        if (seen.has(other)) continue;
        seen.add(other);
        const when = mayBeOneSecret(other, ref);
        if (when === undefined) continue;
        warnings.push(
          issueAt(
            at,
            locate,
            `cluster ${quote(ref.cluster)} (${quote(ref.reference, MAX_REFERENCE_CHARS)}) and ${describe(other)} (${quote(other.reference, MAX_REFERENCE_CHARS)}) name ${when}; each cluster needs its own kubeconfig secret`,
          ),
        );
      }
      byName.set(key, [...(byName.get(key) ?? []), ref]);
    }
  }
  return { errors, warnings };
}

/**
 * A cluster none of whose kinds delivers anything: every kind's key is absent from the entry and from
 * `defaults`, or is an empty list. Valid (the entry may be waiting for its first grant), but a run then
 * delivers no Secret to it, which is rarely what was meant.
 */
function receivesNothingWarnings(data: unknown, locate: Locate): Issue[] {
  const defaults = isRecord(data) && isRecord(data.defaults) ? data.defaults : {};
  const issues: Issue[] = [];
  rawClusters(data).forEach((cluster, index) => {
    if (!isRecord(cluster)) return;
    const states = KIND_IDS.map((kind) => {
      const value = cluster[kind] !== undefined ? cluster[kind] : defaults[kind];
      if (value === undefined || value === null) return { kind, delivers: false, state: 'not set' };
      if (Array.isArray(value) && value.length === 0)
        return {
          kind,
          delivers: false,
          state: `an empty list${cluster[kind] === undefined ? ' in defaults' : ''}`,
        };
      return { kind, delivers: true, state: '' };
    });
    if (states.some((state) => state.delivers)) return;
    const name = typeof cluster.name === 'string' ? quote(cluster.name) : `clusters[${index}]`;
    issues.push(
      issueAt(
        ['clusters', index],
        locate,
        `cluster ${name} receives nothing (${states.map((s) => `${s.kind}: ${s.state}`).join(', ')}): no kind delivers a Secret to it, so runs only check its kubeconfig; give it credentials (${KIND_IDS.join(', ')}), or remove it with cred-courier unregister`,
      ),
    );
  });
  return issues;
}

/**
 * Merges `defaults` into every cluster and runs the checks that need the merged result. Entries the
 * schema already rejected are skipped (their problems are reported), so one bad cluster does not hide
 * the problems of the others.
 */
function resolveClusters(data: unknown, locate: Locate): { clusters: ClusterSpec[]; issues: Issue[] } {
  const defaults = DefaultsSchema.optional().safeParse(isRecord(data) ? data.defaults : undefined);
  if (!defaults.success) return { clusters: [], issues: [] };
  // Invalid settings are reported by the schema; the cadence check is then skipped rather than guessed.
  const settings = SettingsSchema.optional().safeParse(isRecord(data) ? data.settings : undefined);
  const s3IntervalMinutes = settings.success
    ? (settings.data?.s3IntervalMinutes ?? DEFAULT_SETTINGS.s3IntervalMinutes)
    : undefined;
  const clusters: ClusterSpec[] = [];
  const issues: Issue[] = [];
  const located: LocatedCluster[] = [];
  rawClusters(data).forEach((raw, index) => {
    const entry = ClusterSchema.safeParse(raw);
    if (!entry.success) return;
    const resolved = resolveCluster(entry.data, defaults.data, ['clusters', index], s3IntervalMinutes);
    issues.push(...resolved.problems.map((problem) => issueAt(problem.path, locate, problem.message)));
    if (resolved.spec !== undefined) {
      clusters.push(resolved.spec);
      located.push({ index, entry: entry.data, spec: resolved.spec });
    }
  });
  issues.push(...fleetProblems(located).map((problem) => issueAt(problem.path, locate, problem.message)));
  return { clusters, issues };
}

interface Resolved {
  readonly spec?: ClusterSpec;
  readonly problems: readonly Problem[];
}

function resolveCluster(
  cluster: ClusterEntry,
  defaults: DefaultsEntry | undefined,
  at: Path,
  s3IntervalMinutes: number | undefined,
): Resolved {
  const namespaces = resolveNamespaces(cluster, defaults, at);
  const kinds = resolveKinds({ cluster, defaults, at, namespaces: namespaces.value, s3IntervalMinutes });
  const problems = [
    ...namespaces.problems,
    ...kinds.problems,
    ...secretGuardProblems(cluster, namespaces.value, at),
  ];
  if (namespaces.value === undefined || kinds.value === undefined || problems.length > 0) return { problems };
  const spec: ClusterSpec = {
    name: cluster.name,
    kubeconfigSecret: cluster.kubeconfigSecret,
    namespaces: namespaces.value,
    ...kinds.value,
    allowInsecureSkipTlsVerify:
      cluster.allowInsecureSkipTlsVerify ?? defaults?.allowInsecureSkipTlsVerify ?? false,
    trustSystemRoots: cluster.trustSystemRoots ?? defaults?.trustSystemRoots ?? false,
    adoptExistingSecrets: cluster.adoptExistingSecrets ?? defaults?.adoptExistingSecrets ?? false,
    ...(cluster.secretGuard === false ? { secretGuard: false as const } : {}),
    ...proxyOf(cluster.proxy ?? defaults?.proxy),
  };
  return { spec, problems };
}

function proxyOf(entry: ClusterEntry['proxy']): { proxy?: ProxySpec } {
  if (!entry) return {};
  // The origin: the schema allows nothing else in the URL, and `http://p:80/` and `http://p` are one proxy.
  const url = new URL(entry.url).origin;
  return {
    proxy: { url, ...(entry.credentialsSecret ? { credentialsSecret: entry.credentialsSecret } : {}) },
  };
}

/**
 * Without the secret guard, RBAC's unrestricted `create` on Secrets is held only by the namespaces it is
 * granted in: with globs or a selector that is every namespace (kube-system too), so opting out is
 * allowed for exact names only.
 */
function secretGuardProblems(
  cluster: ClusterEntry,
  namespaces: NamespaceSelection | undefined,
  at: Path,
): Problem[] {
  if (cluster.secretGuard !== false || !namespaces || !needsNamespaceListing(namespaces)) return [];
  return [
    {
      path: [...at, 'secretGuard'],
      message: `false is allowed only when cluster ${cluster.name} names its namespaces exactly (no globs, no selector): with globs or a selector its identity may create Secrets in every namespace, kube-system included, and only the secret guard holds it to its own`,
    },
  ];
}

function resolveNamespaces(
  cluster: ClusterEntry,
  defaults: DefaultsEntry | undefined,
  at: Path,
): Part<NamespaceSelection> {
  const merged = mergeShallow(defaults?.namespaces, cluster.namespaces);
  if (merged?.names === undefined && merged?.selector === undefined) {
    const message =
      merged === undefined
        ? 'missing: set namespaces (names and/or selector) on the cluster or in defaults.namespaces'
        : 'selects nothing: set names and/or selector on the cluster or in defaults.namespaces';
    return { problems: [{ path: [...at, 'namespaces'], message }] };
  }
  const value: NamespaceSelection = {
    names: [...(merged.names ?? [])],
    ...(merged.selector === undefined ? {} : { selector: merged.selector }),
    exclude: [...(merged.exclude ?? [])],
  };
  return { value, problems: [] };
}
