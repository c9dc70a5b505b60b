/**
 * `register`: with the operator's admin kubeconfig, make a cluster ready for delivery and record it.
 *
 * config entry (computed and validated first) → RBAC applied (create or update each object) → a token
 * for cred-courier's ServiceAccount (TokenRequest, or a long-lived token Secret) → a minimal kubeconfig
 * (server, CA, token) → verified with that kubeconfig alone (TLS, identity, every permission, secret
 * guard) → stored in Secrets Manager → the config entry written.
 *
 * Guard or nothing: a secret guard not proven in effect fails verification, so nothing is stored.
 * `withoutSecretGuard` (exact namespace names only) stores anyway and records `secretGuard: false` on the
 * entry, which is how `check` knows the cluster opted out; without it the entry requires the guard.
 *
 * Idempotent: RBAC already as wanted is not written, a stored kubeconfig that still verifies (same
 * server and CA, same token kind, more than 7 days left) is kept unless `rotate`, and an entry already
 * saying what is asked is not rewritten. With `dryRun` nothing is written anywhere: RBAC goes to the
 * apiserver as server-side dry runs and the report says what would happen.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { secretsManagerKubeconfigs } from '../aws/kubeconfig-store.ts';
import {
  describeOwnedSecret,
  readStoredKubeconfig,
  type SecretsWriterApi,
  type StoreAction,
  storeKubeconfig,
} from '../aws/kubeconfig-writer.ts';
import { clusterProxy } from '../aws/proxy-credentials.ts';
import { clusterFields, type EditAction, upsertCluster } from '../config/edit.ts';
import { parseConfig } from '../config/load.ts';
import type { ClusterSpec, Config } from '../config/types.ts';
import { CredCourierError, KubeconfigError, UsageError } from '../errors.ts';
import { LABELS, MANAGER } from '../kinds/metadata.ts';
import { createKubeApis, type KubeApis } from '../kube/apis.ts';
import { type ApplyAction, applyObject, describeObject, isUnservedKind } from '../kube/apply.ts';
import { type ParsedKubeconfig, parseKubeconfig } from '../kube/kubeconfig.ts';
import {
  deleteTokenSecret,
  ensureTokenSecret,
  type IssuedToken,
  requestServiceAccountToken,
  tokenSecretState,
  waitForTokenSecret,
} from '../kube/tokens.ts';
import { needsNamespaceListing } from '../plan/namespaces.ts';
import { describeFailure } from '../report/classify.ts';
import { Redactor } from '../report/redact.ts';
import type { AdminAccess } from './admin.ts';
import { clusterRoleWarning, rbacManifests, SERVICE_ACCOUNT, TOKEN_SECRET } from './rbac.ts';
import { serverWarnings } from './server-reach.ts';
import { storedAccess } from './stored.ts';
import { minimalKubeconfig, tokenClaims } from './token.ts';
import { type Verification, verifyAccess } from './verify.ts';

/** How the stored token is issued. */
export type TokenMode =
  | { readonly kind: 'token-request'; readonly seconds: number }
  | { readonly kind: 'long-lived' };

/** What the command line may set on the cluster's entry. */
export interface EntryOptions {
  /** `namespaces.names`; required when the cluster is not in the file yet. */
  readonly namespaces?: readonly string[];
  /** Default for a new entry: `cred-courier/clusters/<name>`. */
  readonly kubeconfigSecret?: string;
  readonly ecrSecretName?: string;
  readonly ecrRegistries?: readonly { readonly accountId?: string; readonly region: string }[];
  readonly ecrServiceAccounts?: readonly string[];
  /** `--without-secret-guard`: record `secretGuard: false`; otherwise an opted-out entry opts back in. */
  readonly withoutSecretGuard?: boolean;
}

export interface RegisterOptions {
  readonly configFile: string;
  readonly cluster: string;
  readonly admin: AdminAccess;
  /** The server URL stored for cred-courier; default: the admin kubeconfig's. */
  readonly server?: string;
  readonly rbac: 'apply' | 'skip';
  readonly token: TokenMode;
  readonly rotate: boolean;
  readonly dryRun: boolean;
  readonly entry: EntryOptions;
  readonly secrets: SecretsWriterApi;
  readonly redactor?: Redactor;
  readonly now?: () => Date;
  /** How long to wait for fresh RBAC to take effect before calling a permission denied. */
  readonly settleMs?: number;
  readonly requestTimeoutMs?: number;
}

export type TokenAction = 'minted' | 'kept' | 'would-mint' | 'would-keep';

export interface RegisterReport {
  readonly cluster: string;
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly config: { readonly file: string; readonly action: EditAction };
  readonly rbac: readonly {
    readonly object: string;
    readonly action: ApplyAction | 'skipped' | 'unsupported';
  }[];
  readonly token: {
    readonly action: TokenAction;
    readonly kind: TokenMode['kind'];
    readonly expiresAt?: string;
    /** A long-lived token Secret deleted (its token revoked) because the cluster moved to TokenRequest. */
    readonly revokedLongLivedToken?: boolean;
  };
  /** `not-stored`: the new kubeconfig failed verification (see `verification`). */
  readonly kubeconfigSecret: {
    readonly secretId: string;
    readonly action: StoreAction | 'unchanged' | 'would-store' | 'not-stored';
  };
  readonly verification?: Verification;
  /** Stored although the secret guard is not in effect (the entry sets `secretGuard: false`). */
  readonly withoutSecretGuard: boolean;
  readonly warnings: readonly string[];
}

const DEFAULT_SETTLE_MS = 15_000;

/** The kubeconfig secret a new entry gets when none is given. */
export const defaultKubeconfigSecret = (cluster: string) => `cred-courier/clusters/${cluster}`;

/** Reads the registration file; an absent file is an empty one (register creates it). */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return '';
    throw new UsageError(`${file}: cannot read (${String((error as { code?: string }).code ?? error)})`, {
      cause: error,
    });
  }
}

/** Writes the file through a temporary file and a rename, so a reader never sees half of it. */
export async function writeConfigText(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, 'utf8');
  await rename(temporary, file);
}

/**
 * The fields `register` sets on the entry: on a new entry the minimal one (name, kubeconfigSecret,
 * namespaces, and ecr when registries are given); on an existing entry only what options name, merged
 * into what is written.
 */
export function entryFields(
  text: string,
  cluster: string,
  entry: EntryOptions,
  file: string,
): Record<string, unknown> {
  const existing = clusterFields(text, cluster, file);
  if (!existing && (!entry.namespaces || entry.namespaces.length === 0)) {
    throw new UsageError(
      `cluster ${cluster} is not in ${file}: give --namespaces (and --ecr-registry unless defaults.ecr provides registries) to add it`,
    );
  }
  const asRecord = (value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  const fields: Record<string, unknown> = {};
  const kubeconfigSecret =
    entry.kubeconfigSecret ?? (existing ? undefined : defaultKubeconfigSecret(cluster));
  if (kubeconfigSecret) fields.kubeconfigSecret = kubeconfigSecret;
  if (entry.namespaces)
    fields.namespaces = { ...asRecord(existing?.namespaces), names: [...entry.namespaces] };
  const ecrGiven = entry.ecrSecretName || entry.ecrRegistries || entry.ecrServiceAccounts;
  if (ecrGiven) {
    const ecr: Record<string, unknown> = { ...asRecord(existing?.ecr) };
    const defaultName = parseDocument(text).getIn(['defaults', 'ecr', 'secretName']);
    if (entry.ecrSecretName) ecr.secretName = entry.ecrSecretName;
    else if (!ecr.secretName && !defaultName) ecr.secretName = 'ecr-pull';
    if (entry.ecrRegistries) ecr.registries = entry.ecrRegistries.map((r) => ({ ...r }));
    if (entry.ecrServiceAccounts) ecr.serviceAccounts = [...entry.ecrServiceAccounts];
    fields.ecr = ecr;
  }
  // Running without the guard takes the flag on every register; an entry that opted out opts back in.
  if (entry.withoutSecretGuard) fields.secretGuard = false;
  else if (existing?.secretGuard === false) fields.secretGuard = true;
  return fields;
}

/**
 * The config as it will be after the edit, validated; the cluster's resolved entry. Problems name the
 * lines of the file as it is (the edit may add or remove lines above them).
 */
export function plannedConfig(
  options: Pick<RegisterOptions, 'cluster' | 'entry' | 'configFile'>,
  text: string,
): { next: string; action: EditAction; config: Config; spec: ClusterSpec } {
  if (options.entry.withoutSecretGuard) requireExactNamespaces(options, text);
  const fields = entryFields(text, options.cluster, options.entry, options.configFile);
  const edit = upsertCluster(text, options.cluster, fields, options.configFile);
  const config = parseConfig(edit.text, options.configFile, { originalLine: edit.originalLine });
  const spec = config.clusters.find((c) => c.name === options.cluster);
  if (!spec)
    throw new CredCourierError(`${options.configFile}: cluster ${options.cluster} missing after the edit`);
  return { next: edit.text, action: edit.action, config, spec };
}

/**
 * `--without-secret-guard` is refused (a usage error) unless the cluster's namespaces, as they will be
 * after the edit, are exact names: with globs or a selector the identity may create Secrets in every
 * namespace, kube-system included, and only the guard holds it to its own.
 */
function requireExactNamespaces(
  options: Pick<RegisterOptions, 'cluster' | 'entry' | 'configFile'>,
  text: string,
): void {
  const { withoutSecretGuard: _, ...entry } = options.entry;
  const fields = entryFields(text, options.cluster, entry, options.configFile);
  const edit = upsertCluster(text, options.cluster, fields, options.configFile);
  const planned = parseConfig(edit.text, options.configFile, {
    originalLine: edit.originalLine,
  }).clusters.find((c) => c.name === options.cluster);
  if (!planned || !needsNamespaceListing(planned.namespaces)) return;
  const how = [
    ...planned.namespaces.names.filter((n) => /[*?]/.test(n)).map((n) => `glob ${n}`),
    ...(planned.namespaces.selector === undefined ? [] : [`selector ${planned.namespaces.selector}`]),
  ].join(', ');
  throw new UsageError(
    `register ${options.cluster}: --without-secret-guard is allowed only for a cluster whose namespaces are exact names; ${options.cluster} selects namespaces by ${how}, so without the guard its identity could create Secrets in every namespace, kube-system included. Name the namespaces exactly, or register it on Kubernetes 1.30+ with the guard`,
  );
}

export async function registerCluster(options: RegisterOptions): Promise<RegisterReport> {
  const now = options.now ?? (() => new Date());
  const redactor = options.redactor ?? new Redactor();
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  const warnings: string[] = [];
  const text = await readConfigText(options.configFile);
  const planned = plannedConfig(options, text);
  const { spec, config } = planned;
  const settings = config.settings;
  const control = settings.controlNamespace;
  const clusterWide = clusterRoleWarning(spec, settings);
  if (clusterWide !== undefined) warnings.push(clusterWide);
  if (options.token.kind === 'long-lived') {
    warnings.push(
      `--long-lived-token: the stored token never renews and never expires; a leaked kubeconfig works until Secret ${control}/${TOKEN_SECRET} is deleted (register --rotate replaces it). Without --long-lived-token the token expires and runs renew it`,
    );
  }
  // The stored kubeconfig embeds the admin's CA; without one it would trust the system's root CAs.
  if (!options.admin.caData && !options.admin.insecureSkipTlsVerify && !spec.trustSystemRoots) {
    throw new KubeconfigError(
      spec.name,
      "the admin kubeconfig names no CA (certificate-authority-data or certificate-authority) to embed in the stored one: use an admin kubeconfig with the cluster's CA, or set trustSystemRoots: true on the cluster entry for an API server with a publicly trusted certificate",
    );
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? settings.requestTimeoutSeconds * 1000;
  const admin = createKubeApis(options.admin.kubeConfig, { requestTimeoutMs });
  const labels = { [LABELS.managedBy]: MANAGER, [LABELS.cluster]: spec.name };
  // Before anything is applied, read or minted: a kubeconfigSecret naming someone else's secret stops here.
  await describeOwnedSecret(options.secrets, spec.kubeconfigSecret, spec.name);

  // RBAC
  const rbac: { object: string; action: ApplyAction | 'skipped' | 'unsupported' }[] = [];
  let rbacChanged = false;
  let guardUnserved = false;
  // In a dry run a namespace that would be created does not exist, so objects in it cannot be tried.
  const namespacesToCreate = new Set<string>();
  for (const manifest of rbacManifests(spec, settings)) {
    const object = describeObject(manifest);
    if (options.rbac === 'skip') {
      rbac.push({ object, action: 'skipped' });
      continue;
    }
    if (manifest.metadata.namespace && namespacesToCreate.has(manifest.metadata.namespace)) {
      rbac.push({ object, action: 'created' });
      continue;
    }
    try {
      const action = await applyObject(admin.objects, manifest, { dryRun: options.dryRun });
      if (options.dryRun && manifest.kind === 'Namespace' && action === 'created') {
        namespacesToCreate.add(manifest.metadata.name);
      }
      if (action !== 'unchanged') rbacChanged = true;
      rbac.push({ object, action });
    } catch (error) {
      if (!isUnservedKind(error)) throw withContext(`applying ${object}`, error, redactor);
      rbac.push({ object, action: 'unsupported' });
      if (manifest.kind.startsWith('ValidatingAdmissionPolicy')) guardUnserved = true;
      warnings.push(
        `${object} not applied: the cluster does not serve ${manifest.apiVersion} ${manifest.kind} (Kubernetes 1.30+); the secret guard is missing`,
      );
    }
  }
  if (options.rbac === 'skip') await requireServiceAccount(admin, control, options.dryRun);

  // The kubeconfig cred-courier will use: same server and CA as the admin's, a token of its own.
  const server = options.server ?? options.admin.server;
  // The server is verified from here; the function connects from elsewhere, without this machine's
  // network, hosts or proxy settings.
  const adminProxy =
    server === options.admin.server ? options.admin.kubeConfig.getCurrentCluster()?.proxyUrl : undefined;
  warnings.push(...(await serverWarnings(server, adminProxy ? { kubeconfigProxyUrl: adminProxy } : {})));
  const caData = options.admin.caData;
  const insecureSkipTlsVerify = !caData && options.admin.insecureSkipTlsVerify;
  const secretId = spec.kubeconfigSecret;
  // The stored kubeconfig is verified the way delivery connects: through the cluster's proxy, if any.
  const proxy = await clusterProxy(
    spec,
    secretsManagerKubeconfigs(options.secrets, { ttlSeconds: 0 }),
    redactor,
  );
  const verifyWith = async (kubeconfigText: string, settle: number) => {
    const access = storedAccess(spec, settings, kubeconfigText, redactor, undefined, undefined, proxy);
    return verifyAccess({
      apis: access.apis,
      kubeConfig: access.kubeConfig,
      cluster: spec,
      settings,
      redactor,
      now: now(),
      warnings: access.warnings,
      settleMs: settle,
      guardUnserved,
    });
  };

  // Keep the stored kubeconfig when it still does everything (idempotence), unless rotating.
  const stored = await readStoredKubeconfig(options.secrets, secretId);
  let kept: Verification | undefined;
  if (stored && !options.rotate && storedMatches(spec, stored, server, caData, options.token)) {
    const verification = await verifyWith(stored, rbacChanged && !options.dryRun ? settleMs : 0).catch(
      () => undefined,
    );
    if (verification && stillGood(verification)) kept = verification;
  }
  if (kept) {
    const expiresAt = kept.expiresAt;
    return finish(
      {
        action: options.dryRun ? 'would-keep' : 'kept',
        kind: options.token.kind,
        ...(expiresAt ? { expiresAt } : {}),
      },
      'unchanged',
      kept,
    );
  }
  if (options.dryRun) {
    return finish({ action: 'would-mint', kind: options.token.kind }, 'would-store');
  }

  const issued = await issueToken(admin, options, control, labels, warnings);
  redactor.add(issued.token);
  const kubeconfigText = minimalKubeconfig({
    cluster: spec.name,
    server,
    ...(caData ? { caData } : {}),
    insecureSkipTlsVerify,
    token: issued.token,
  });
  const verification = await verifyWith(kubeconfigText, settleMs);
  if (!verification.usable) {
    // Nothing is stored and the file is not changed: the report says which check failed.
    const expiry = issued.expiresAt?.toISOString();
    return finish(
      { action: 'minted', kind: options.token.kind, ...(expiry ? { expiresAt: expiry } : {}) },
      'not-stored',
      verification,
    );
  }
  const storeAction = await storeKubeconfig(options.secrets, secretId, spec.name, kubeconfigText);
  let revokedLongLivedToken = false;
  if (options.token.kind === 'token-request') {
    // Moving from a long-lived token to TokenRequest: the old token is revoked with its Secret.
    revokedLongLivedToken = await deleteTokenSecret(admin.core, control, TOKEN_SECRET, SERVICE_ACCOUNT);
  }
  const expiresAt = issued.expiresAt?.toISOString();
  return finish(
    {
      action: 'minted',
      kind: options.token.kind,
      ...(expiresAt ? { expiresAt } : {}),
      ...(revokedLongLivedToken ? { revokedLongLivedToken } : {}),
    },
    storeAction,
    verification,
  );

  async function finish(
    token: RegisterReport['token'],
    storeAction: RegisterReport['kubeconfigSecret']['action'],
    verification?: Verification,
  ): Promise<RegisterReport> {
    const usable = verification ? verification.usable : true;
    if (!options.dryRun && usable && planned.action !== 'unchanged') {
      await writeConfigText(options.configFile, planned.next);
    }
    for (const item of verification?.items ?? []) {
      if (item.status === 'warn') warnings.push(`${item.check}: ${item.detail}`);
    }
    const withoutSecretGuard =
      usable &&
      (verification?.items.some((i) => i.check === 'secret-guard' && i.status === 'warn' && i.accepted) ??
        false);
    if (withoutSecretGuard) {
      warnings.unshift(
        `REGISTERED WITHOUT THE SECRET GUARD (--without-secret-guard; ${options.configFile} records secretGuard: false): in ${spec.namespaces.names.join(', ')} cred-courier's identity can create a Secret of any type under a managed name, a service-account-token one included, and read it back`,
      );
    }
    return {
      cluster: spec.name,
      ok: usable,
      dryRun: options.dryRun,
      config: { file: options.configFile, action: planned.action },
      rbac,
      token,
      kubeconfigSecret: { secretId, action: storeAction },
      ...(verification ? { verification } : {}),
      withoutSecretGuard,
      warnings,
    };
  }
}

/**
 * Whether a stored kubeconfig can stay: nothing failed, and its identity and token are fine (a token
 * expiring within 7 days is replaced; a missing secret guard or insecure TLS is not the token's fault).
 */
function stillGood(verification: Verification): boolean {
  return (
    verification.usable &&
    verification.items.every(
      (i) => (i.check !== 'token-expiry' && i.check !== 'identity') || i.status === 'ok',
    )
  );
}

/** With `--rbac=skip` the ServiceAccount must already be there (applied from `cred-courier rbac`). */
async function requireServiceAccount(admin: KubeApis, namespace: string, dryRun: boolean): Promise<void> {
  try {
    await admin.core.readNamespacedServiceAccount({ name: SERVICE_ACCOUNT, namespace });
  } catch (error) {
    if (dryRun) return;
    throw new CredCourierError(
      `ServiceAccount ${namespace}/${SERVICE_ACCOUNT} is not readable (${describeFailure(error)}): apply the output of cred-courier rbac first, or use --rbac=apply`,
      { cause: error },
    );
  }
}

/** Mints the token: TokenRequest, or the long-lived token Secret (recreated when rotating). */
async function issueToken(
  admin: KubeApis,
  options: RegisterOptions,
  control: string,
  labels: Record<string, string>,
  warnings: string[],
): Promise<IssuedToken> {
  if (options.token.kind === 'token-request') {
    const issued = await requestServiceAccountToken(
      admin.core,
      control,
      SERVICE_ACCOUNT,
      options.token.seconds,
    );
    if (issued.expiresAt) {
      const granted = (issued.expiresAt.getTime() - Date.now()) / 1000;
      if (granted < options.token.seconds * 0.9) {
        warnings.push(
          `the apiserver shortened the token lifetime to ${Math.round(granted / 3600)} h (asked ${Math.round(options.token.seconds / 3600)} h; --service-account-max-token-expiration)`,
        );
      }
    }
    return issued;
  }
  if (options.rotate) await deleteTokenSecret(admin.core, control, TOKEN_SECRET, SERVICE_ACCOUNT);
  if ((await tokenSecretState(admin.core, control, TOKEN_SECRET, SERVICE_ACCOUNT)) === 'foreign') {
    throw new CredCourierError(
      `Secret ${control}/${TOKEN_SECRET} exists and is not cred-courier's token Secret; left untouched`,
    );
  }
  await ensureTokenSecret(admin.core, control, TOKEN_SECRET, SERVICE_ACCOUNT, labels);
  return waitForTokenSecret(admin.core, control, TOKEN_SECRET, 30_000);
}

/**
 * Whether the stored kubeconfig points at the same server with the same CA and holds a token of the kind
 * asked for (a JWT with `exp` is a TokenRequest token; a Secret-based token has none).
 */
function storedMatches(
  spec: ClusterSpec,
  stored: string,
  server: string,
  caData: string | undefined,
  mode: TokenMode,
): boolean {
  let kubeConfig: ParsedKubeconfig['kubeConfig'];
  try {
    kubeConfig = parseKubeconfig(spec, stored).kubeConfig;
  } catch {
    return false;
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster?.server !== server || (cluster?.caData ?? undefined) !== caData) return false;
  const token = kubeConfig.getCurrentUser()?.token;
  const claims = token ? tokenClaims(token) : undefined;
  if (!claims) return false;
  return mode.kind === 'token-request' ? claims.expiresAt !== undefined : claims.expiresAt === undefined;
}

function withContext(what: string, error: unknown, redactor: Redactor): CredCourierError {
  if (error instanceof CredCourierError) return error;
  return new CredCourierError(`${what}: ${describeFailure(error, redactor)}`, { cause: error });
}
