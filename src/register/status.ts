/**
 * `status`: per cluster and namespace, each of cred-courier's Secrets as the cluster holds it — kind,
 * issued-at, expires-at and time left (its annotations), whether the listed ServiceAccounts reference
 * it — and the inventory's entries the configuration no longer selects. Reads only, with the stored
 * kubeconfig: `get` on the managed names, the ServiceAccounts and the inventory.
 */
import { ApiException } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import type { KubeconfigSource } from '../aws/kubeconfig-store.ts';
import { clusterProxy } from '../aws/proxy-credentials.ts';
import type { Config } from '../config/types.ts';
import type { KindId } from '../kinds/kind.ts';
import { ANNOTATIONS } from '../kinds/metadata.ts';
import { inventoryEntry, managedNames, parseInventoryEntry, readInventory } from '../kube/inventory.ts';
import { readSecretHead } from '../kube/secrets.ts';
import { referencesPullSecret } from '../kube/service-accounts.ts';
import { planRun, targetNamespaces } from '../plan/plan.ts';
import { classify, describeFailure } from '../report/classify.ts';
import { Redactor } from '../report/redact.ts';
import { resolveNamespaces } from '../run/connect.ts';
import type { Failure } from '../run/types.ts';
import { selectClusters } from './select.ts';
import { storedAccess } from './stored.ts';
import { renewalDueAt, storedCredential } from './token.ts';

/**
 * - `ok`: cred-courier's, not expired; `expired`: its expires-at has passed; `missing`: not there;
 * - `not-owned`: a Secret of that name without the managed-by label; `invalid`: no readable expires-at;
 * - `unreadable`: the read failed (see `failure`); `stale`: listed in the inventory but no longer
 *   selected (the next run prunes it; not read).
 */
export type SecretState = 'ok' | 'expired' | 'missing' | 'not-owned' | 'invalid' | 'unreadable' | 'stale';

export type ReferenceState = 'referenced' | 'not-referenced' | 'no-such-account' | 'unreadable';

export interface SecretStatus {
  readonly kind: KindId;
  readonly namespace: string;
  readonly secretName: string;
  readonly state: SecretState;
  readonly issuedAt?: string;
  readonly expiresAt?: string;
  /** Seconds until expires-at; negative once expired. */
  readonly secondsLeft?: number;
  /** Per listed ServiceAccount (ECR): whether its imagePullSecrets has the Secret. */
  readonly serviceAccounts?: Readonly<Record<string, ReferenceState>>;
  /** Whether the inventory lists it (so a later prune can find it). */
  readonly inInventory?: boolean;
  readonly failure?: Failure;
}

/** The stored kubeconfig's own credential, as `status` shows it. */
export interface StoredCredentialStatus {
  readonly kind: 'token' | 'long-lived-token' | 'client-certificate';
  /** Absent: it never expires (long-lived token). */
  readonly expiresAt?: string;
  /** Seconds until expiresAt; negative once expired. */
  readonly secondsLeft?: number;
  /** Tokens only: when runs renew it (tokenRenewalFraction of its lifetime). */
  readonly renewsFrom?: string;
}

export interface ClusterStatus {
  readonly cluster: string;
  /** What the stored kubeconfig authenticates with, and until when. */
  readonly credential?: StoredCredentialStatus;
  /** Nothing expired, missing, foreign, unreadable or unreferenced. */
  readonly ok: boolean;
  readonly secrets: readonly SecretStatus[];
  readonly failure?: Failure;
}

export interface StatusReport {
  readonly ok: boolean;
  readonly clusters: readonly ClusterStatus[];
}

export interface StatusOptions {
  readonly config: Config;
  readonly clusters?: readonly string[];
  readonly kubeconfigs: KubeconfigSource;
  readonly redactor?: Redactor;
  readonly now?: () => Date;
}

const GOOD_STATES: ReadonlySet<SecretState> = new Set(['ok', 'stale']);

/** Whether a Secret's status is a problem `status` exits non-zero for. */
export function isProblem(secret: SecretStatus): boolean {
  if (!GOOD_STATES.has(secret.state)) return true;
  return Object.values(secret.serviceAccounts ?? {}).some((state) => state !== 'referenced');
}

export async function clusterStatus(options: StatusOptions): Promise<StatusReport> {
  const redactor = options.redactor ?? new Redactor();
  const now = options.now ?? (() => new Date());
  const { settings } = options.config;
  const names = selectClusters(options.config, options.clusters).map((c) => c.name);
  const plan = planRun(options.config, { clusters: names });
  const limit = pLimit(settings.concurrency);
  const failureOf = (error: unknown): Failure => ({
    failureClass: classify(error),
    message: describeFailure(error, redactor),
  });
  const clusters = await Promise.all(
    plan.clusters.map((planned) =>
      limit(async (): Promise<ClusterStatus> => {
        const cluster = planned.cluster;
        const secrets: SecretStatus[] = [];
        let credential: StoredCredentialStatus | undefined;
        try {
          const text = await options.kubeconfigs.get(cluster.name, cluster.kubeconfigSecret);
          const proxy = await clusterProxy(cluster, options.kubeconfigs, redactor);
          const { apis, kubeConfig } = storedAccess(
            cluster,
            settings,
            text,
            redactor,
            AbortSignal.timeout(settings.clusterDeadlineSeconds * 1000),
            undefined,
            proxy,
          );
          credential = credentialStatus(
            kubeConfig.getCurrentUser() ?? {},
            settings.tokenRenewalFraction,
            now(),
          );
          const core = apis.core;
          const namespaces = await resolveNamespaces(core, cluster.namespaces);
          const inventory = await readInventory(core, settings.controlNamespace, managedNames(cluster)).catch(
            () => undefined,
          );
          const wanted = new Set<string>();
          for (const { kind, target } of planned.targets) {
            for (const namespace of targetNamespaces(target, namespaces)) {
              const entry = inventoryEntry(namespace, target.secretName);
              wanted.add(`${kind.id}:${entry}`);
              const base = { kind: kind.id, namespace, secretName: target.secretName };
              const inInventory = inventory
                ? (inventory.entries.get(kind.id) ?? []).includes(entry)
                : undefined;
              let status: SecretStatus;
              try {
                const head = await readSecretHead(core, namespace, target.secretName);
                status = {
                  ...base,
                  ...secretState(head, now()),
                  ...(inInventory === undefined ? {} : { inInventory }),
                };
              } catch (error) {
                secrets.push({ ...base, state: 'unreadable', failure: failureOf(error) });
                continue;
              }
              if (target.serviceAccounts.length > 0) {
                const references: Record<string, ReferenceState> = {};
                for (const account of target.serviceAccounts) {
                  references[account] = await referenceState(core, namespace, account, target.secretName);
                }
                status = { ...status, serviceAccounts: references };
              }
              secrets.push(status);
            }
          }
          for (const [kind, entries] of inventory?.entries ?? []) {
            for (const entry of entries) {
              if (wanted.has(`${kind}:${entry}`)) continue;
              secrets.push({
                kind: kind as KindId,
                ...parseInventoryEntry(entry),
                state: 'stale',
                inInventory: true,
              });
            }
          }
          return {
            cluster: cluster.name,
            ...(credential ? { credential } : {}),
            ok: !secrets.some(isProblem),
            secrets,
          };
        } catch (error) {
          return {
            cluster: cluster.name,
            ...(credential ? { credential } : {}),
            ok: false,
            secrets,
            failure: failureOf(error),
          };
        }
      }),
    ),
  );
  return { ok: clusters.every((c) => c.ok), clusters };
}

function credentialStatus(
  user: { readonly token?: string; readonly certData?: string },
  fraction: number,
  now: Date,
): StoredCredentialStatus | undefined {
  const stored = storedCredential(user);
  if (!stored) return undefined;
  const renewsFrom = stored.kind === 'token' ? renewalDueAt(stored.claims, fraction) : undefined;
  return {
    kind: stored.kind,
    ...(stored.expiresAt
      ? {
          expiresAt: stored.expiresAt.toISOString(),
          secondsLeft: Math.round((stored.expiresAt.getTime() - now.getTime()) / 1000),
        }
      : {}),
    ...(renewsFrom ? { renewsFrom: renewsFrom.toISOString() } : {}),
  };
}

function secretState(
  head: Awaited<ReturnType<typeof readSecretHead>>,
  now: Date,
): Pick<SecretStatus, 'state' | 'issuedAt' | 'expiresAt' | 'secondsLeft'> {
  if (!head) return { state: 'missing' };
  const issuedAt = head.annotations[ANNOTATIONS.issuedAt];
  const expiresAt = head.annotations[ANNOTATIONS.expiresAt];
  const dates = { ...(issuedAt ? { issuedAt } : {}), ...(expiresAt ? { expiresAt } : {}) };
  if (!head.owned) return { state: 'not-owned', ...dates };
  const expiry = expiresAt ? Date.parse(expiresAt) : Number.NaN;
  if (Number.isNaN(expiry)) return { state: 'invalid', ...dates };
  const secondsLeft = Math.round((expiry - now.getTime()) / 1000);
  return { state: secondsLeft > 0 ? 'ok' : 'expired', ...dates, secondsLeft };
}

async function referenceState(
  core: Parameters<typeof referencesPullSecret>[0],
  namespace: string,
  account: string,
  secretName: string,
): Promise<ReferenceState> {
  try {
    const present = await referencesPullSecret(core, namespace, account, secretName);
    return present === undefined ? 'no-such-account' : present ? 'referenced' : 'not-referenced';
  } catch (error) {
    if (error instanceof ApiException) return 'unreadable';
    throw error;
  }
}
