/**
 * What `register` proves before storing a kubeconfig and `check` proves about a stored one: the server
 * answers over TLS trusted by the kubeconfig's CA, the identity is cred-courier's ServiceAccount, its
 * token is not about to expire, every permission delivery needs is allowed (one SelfSubjectAccessReview
 * each), and the secret guard refuses what RBAC alone cannot (a dry-run create of a token Secret).
 */
import { X509Certificate } from 'node:crypto';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import type { ClusterSpec, Settings } from '../config/types.ts';
import { LABELS, MANAGER } from '../kinds/metadata.ts';
import { reviewAccess, serverVersion, whoAmI } from '../kube/access-review.ts';
import type { KubeApis } from '../kube/apis.ts';
import { classify, describeFailure, FAILURE_CLASSES } from '../report/classify.ts';
import type { Redactor } from '../report/redact.ts';
import { resolveNamespaces } from '../run/connect.ts';
import {
  describePermission,
  grantIn,
  managedSecretNames,
  requiredPermissions,
  SERVICE_ACCOUNT,
  serviceAccountUser,
} from './rbac.ts';
import { EXPIRY_WARNING_SECONDS, tokenClaims } from './token.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export type CheckName =
  | 'kubeconfig'
  | 'reachability'
  | 'tls'
  | 'identity'
  | 'token-expiry'
  | 'namespaces'
  | 'permissions'
  | 'secret-guard';

/** One line of a verification: what was checked, how it went, and why. Never holds a credential. */
export interface CheckItem {
  readonly check: CheckName;
  readonly status: CheckStatus;
  readonly detail: string;
}

export interface PermissionResult {
  readonly permission: string;
  readonly allowed: boolean;
  readonly reason?: string;
}

export interface Verification {
  /** No check failed or warned. */
  readonly ok: boolean;
  /** No check failed (warnings allowed): what `register` needs to store the kubeconfig. */
  readonly usable: boolean;
  readonly items: readonly CheckItem[];
  readonly permissions: readonly PermissionResult[];
  readonly identity?: string;
  readonly serverVersion?: string;
  readonly expiresAt?: string;
}

export interface VerifyInput {
  readonly apis: KubeApis;
  readonly kubeConfig: KubeConfig;
  readonly cluster: ClusterSpec;
  readonly settings: Settings;
  readonly redactor: Redactor;
  readonly now: Date;
  /** Warnings from reading the kubeconfig (insecure TLS). */
  readonly warnings?: readonly string[];
  /**
   * Keep asking while something is denied, up to this long: right after RBAC objects or the admission
   * policy were written, the apiserver's caches take a moment to see them.
   */
  readonly settleMs?: number;
}

const DAY_SECONDS = 86400;

function conclude(
  items: CheckItem[],
  permissions: PermissionResult[],
  extra: Partial<Pick<Verification, 'identity' | 'serverVersion' | 'expiresAt'>> = {},
): Verification {
  return {
    ok: items.every((i) => i.status === 'ok'),
    usable: items.every((i) => i.status !== 'fail'),
    items,
    permissions,
    ...extra,
  };
}

/** Runs every check against the identity of `input.apis`; stops early when the server or token fails. */
export async function verifyAccess(input: VerifyInput): Promise<Verification> {
  const { apis, redactor, cluster, settings } = input;
  const items: CheckItem[] = [];
  const failureText = (error: unknown) => describeFailure(error, redactor);
  for (const warning of input.warnings ?? []) items.push({ check: 'tls', status: 'warn', detail: warning });

  let version: string | undefined;
  try {
    version = await serverVersion(apis.version);
    items.push({
      check: 'reachability',
      status: 'ok',
      detail: `${apis.server} answers (Kubernetes ${version})`,
    });
    if (!input.warnings?.length)
      items.push({ check: 'tls', status: 'ok', detail: "server certificate trusted by the kubeconfig's CA" });
  } catch (error) {
    const failureClass = classify(error);
    if (failureClass !== 'unauthorized') {
      const check = failureClass === 'tls' ? 'tls' : 'reachability';
      items.push({
        check,
        status: 'fail',
        detail: `${failureClass}: ${failureText(error)} (${FAILURE_CLASSES[failureClass]})`,
      });
      return conclude(items, []);
    }
    items.push({ check: 'reachability', status: 'ok', detail: `${apis.server} answers` });
    items.push({ check: 'tls', status: 'ok', detail: "server certificate trusted by the kubeconfig's CA" });
  }

  const token = input.kubeConfig.getCurrentUser()?.token;
  const claims = token ? tokenClaims(token) : undefined;
  let identity: string | undefined;
  try {
    identity = (await whoAmI(apis.authentication)) ?? claims?.subject;
  } catch (error) {
    const failureClass = classify(error);
    items.push({
      check: 'identity',
      status: 'fail',
      detail: `${failureClass}: ${failureText(error)} (${FAILURE_CLASSES[failureClass]})`,
    });
    return conclude(items, [], version ? { serverVersion: version } : {});
  }
  const expected = serviceAccountUser(settings.controlNamespace);
  items.push(
    identity === expected
      ? { check: 'identity', status: 'ok', detail: identity }
      : {
          check: 'identity',
          status: 'warn',
          detail: `${identity ?? 'unknown identity'} is not cred-courier's ServiceAccount ${expected}: register the cluster to store a least-privilege token`,
        },
  );

  const expiry = expiryItem(input, token, claims?.expiresAt);
  items.push(expiry.item);

  let namespaces: string[];
  try {
    namespaces = await resolveNamespaces(apis.core, cluster.namespaces);
    items.push({
      check: 'namespaces',
      status: 'ok',
      detail: `${namespaces.length} selected: ${namespaces.join(', ') || '(none)'}`,
    });
  } catch (error) {
    items.push({
      check: 'namespaces',
      status: 'fail',
      detail: `cannot list namespaces: ${failureText(error)}`,
    });
    namespaces = [];
  }

  const permissions = await checkPermissions(input, namespaces);
  const denied = permissions.filter((p) => !p.allowed);
  items.push(
    denied.length === 0
      ? {
          check: 'permissions',
          status: 'ok',
          detail: `all ${permissions.length} permissions delivery needs are allowed`,
        }
      : {
          check: 'permissions',
          status: 'fail',
          detail: `${denied.length} of ${permissions.length} denied: ${denied.map((p) => p.permission).join('; ')} (see cred-courier rbac)`,
        },
  );
  items.push(await checkSecretGuard(input, namespaces));
  return conclude(items, permissions, {
    ...(identity ? { identity } : {}),
    ...(version ? { serverVersion: version } : {}),
    ...(expiry.expiresAt ? { expiresAt: expiry.expiresAt } : {}),
  });
}

function expiryItem(
  input: VerifyInput,
  token: string | undefined,
  expiresAt: Date | undefined,
): { item: CheckItem; expiresAt?: string } {
  const now = input.now.getTime();
  if (!token) {
    const certData = input.kubeConfig.getCurrentUser()?.certData;
    if (!certData)
      return { item: { check: 'token-expiry', status: 'ok', detail: 'no token (client certificate)' } };
    const validTo = new Date(new X509Certificate(Buffer.from(certData, 'base64')).validTo);
    return { item: expiryOf('client certificate', validTo, now), expiresAt: validTo.toISOString() };
  }
  if (!expiresAt) {
    return {
      item: {
        check: 'token-expiry',
        status: 'ok',
        detail: 'the token does not expire (Secret-based token: revoked by deleting its Secret)',
      },
    };
  }
  return { item: expiryOf('token', expiresAt, now), expiresAt: expiresAt.toISOString() };
}

function expiryOf(what: string, expiresAt: Date, now: number): CheckItem {
  const left = (expiresAt.getTime() - now) / 1000;
  const when = expiresAt.toISOString();
  if (left <= 0)
    return {
      check: 'token-expiry',
      status: 'fail',
      detail: `${what} expired at ${when}: run register --rotate`,
    };
  const days = (left / DAY_SECONDS).toFixed(1);
  if (left < EXPIRY_WARNING_SECONDS) {
    return {
      check: 'token-expiry',
      status: 'warn',
      detail: `${what} expires at ${when}, in ${days} days: run register --rotate before then`,
    };
  }
  return { check: 'token-expiry', status: 'ok', detail: `${what} expires at ${when} (${days} days)` };
}

async function checkPermissions(
  input: VerifyInput,
  namespaces: readonly string[],
): Promise<PermissionResult[]> {
  const wanted = requiredPermissions(input.cluster, input.settings, namespaces);
  const limit = pLimit(8);
  const deadline = Date.now() + (input.settleMs ?? 0);
  const ask = () =>
    Promise.all(
      wanted.map((permission) =>
        limit(async (): Promise<PermissionResult> => {
          const answer = await reviewAccess(input.apis.authorization, permission);
          return {
            permission: describePermission(permission),
            allowed: answer.allowed,
            ...(answer.reason ? { reason: answer.reason } : {}),
          };
        }),
      ),
    );
  let results = await ask();
  while (results.some((r) => !r.allowed) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    results = await ask();
  }
  return results;
}

/**
 * Dry-run create, as the identity, of a service-account-token Secret under a managed name — allowed by
 * RBAC, so only the secret guard can refuse it. Nothing is persisted either way.
 */
async function checkSecretGuard(input: VerifyInput, namespaces: readonly string[]): Promise<CheckItem> {
  const candidates = namespaces.filter((ns) => grantIn(input.cluster, ns).secretNames.length > 0);
  const name = managedSecretNames(input.cluster)[0];
  if (!name || candidates.length === 0) {
    return { check: 'secret-guard', status: 'ok', detail: 'not tested: no namespace receives Secrets' };
  }
  const deadline = Date.now() + (input.settleMs ?? 0);
  for (;;) {
    const outcome = await tryForbiddenCreate(input, candidates, name);
    if (outcome.status !== 'warn' || Date.now() >= deadline) return outcome;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function tryForbiddenCreate(
  input: VerifyInput,
  namespaces: readonly string[],
  name: string,
): Promise<CheckItem> {
  for (const namespace of namespaces) {
    try {
      await input.apis.core.createNamespacedSecret({
        namespace,
        dryRun: 'All',
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/service-account-token',
          metadata: {
            name,
            namespace,
            labels: { [LABELS.managedBy]: MANAGER },
            annotations: { 'kubernetes.io/service-account.name': SERVICE_ACCOUNT },
          },
        },
      });
      return guardMissing(namespace);
    } catch (error) {
      if (!(error instanceof ApiException)) throw error;
      const message = describeFailure(error, input.redactor);
      if (error.code === 404) continue; // the namespace does not exist (yet): try another
      if (/ValidatingAdmissionPolicy/i.test(message)) {
        return {
          check: 'secret-guard',
          status: 'ok',
          detail: `active: a service-account-token Secret is refused (${namespace})`,
        };
      }
      if (error.code === 409) return guardMissing(namespace);
      return {
        check: 'secret-guard',
        status: 'warn',
        detail: `could not be tested in ${namespace}: ${message}`,
      };
    }
  }
  return { check: 'secret-guard', status: 'ok', detail: 'not tested: no target namespace exists yet' };
}

function guardMissing(namespace: string): CheckItem {
  return {
    check: 'secret-guard',
    status: 'warn',
    detail: `not in effect: in ${namespace} the identity could create a service-account-token Secret under a name it can read (apply the ValidatingAdmissionPolicy of cred-courier rbac; needs Kubernetes 1.30+)`,
  };
}
