/**
 * What `register` proves before storing a kubeconfig and `check` proves about a stored one: the server
 * answers over TLS trusted by the kubeconfig's CA, the identity is cred-courier's ServiceAccount, its
 * token is not about to expire, every permission delivery needs is allowed (one SelfSubjectAccessReview
 * each), and the secret guard refuses what RBAC alone cannot (a dry-run create of a token Secret). A
 * guard not proven in effect is a failure unless the entry opted out (`secretGuard: false`).
 */
import { X509Certificate } from 'node:crypto';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import type { ClusterSpec, Settings } from '../config/types.ts';
import { LABELS, MANAGER } from '../kinds/metadata.ts';
import { reviewAccess, serverVersion, whoAmI } from '../kube/access-review.ts';
import type { KubeApis } from '../kube/apis.ts';
import { needsNamespaceListing } from '../plan/namespaces.ts';
import { classify, describeFailure, FAILURE_CLASSES, type FailureClass } from '../report/classify.ts';
import type { Redactor } from '../report/redact.ts';
import { resolveNamespaces } from '../run/connect.ts';
import {
  describePermission,
  grantIn,
  managedSecretNames,
  objectName,
  requiredPermissions,
  SERVICE_ACCOUNT,
  serviceAccountUser,
} from './rbac.ts';
import { EXPIRY_WARNING_SECONDS, renewalDueAt, tokenClaims } from './token.ts';

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
  /**
   * A warning the cluster's entry accepts explicitly (a missing secret guard with `secretGuard: false`):
   * shown and reported, but not a problem for `register` or `check`.
   */
  readonly accepted?: true;
}

export interface PermissionResult {
  readonly permission: string;
  readonly allowed: boolean;
  readonly reason?: string;
}

export interface Verification {
  /** No check failed or warned (warnings the entry accepts explicitly aside). */
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
  /** `register` saw the cluster refuse the ValidatingAdmissionPolicy kind (not served). */
  readonly guardUnserved?: boolean;
}

const DAY_SECONDS = 86400;

const UNREACHED: ReadonlySet<FailureClass> = new Set(['refused', 'dns', 'timeout', 'network']);

/** What to do when the server is not reached, or its certificate names another address; else undefined. */
export function reachAdvice(failureClass: FailureClass, message: string): string | undefined {
  if (UNREACHED.has(failureClass))
    return "to do: the server must be reachable from where delivery runs (the function's network, not yours): store an address the function reaches (register --server), allow the function's egress addresses at the server (VPC mode gives fixed ones), or name a proxy for the cluster in the registration file; confirm with cred-courier check --remote";
  if (failureClass === 'tls' && /altnames|does not match/i.test(message))
    return "to do: the server's certificate does not name this address: add it to the certificate (k3s: --tls-san <address> on the server) or store the address it names";
  return undefined;
}

function conclude(
  items: CheckItem[],
  permissions: PermissionResult[],
  extra: Partial<Pick<Verification, 'identity' | 'serverVersion' | 'expiresAt'>> = {},
): Verification {
  return {
    ok: items.every((i) => i.status === 'ok' || (i.status === 'warn' && i.accepted)),
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
      const text = failureText(error);
      const advice = reachAdvice(failureClass, text);
      items.push({
        check,
        status: 'fail',
        detail: `${failureClass}: ${text} (${FAILURE_CLASSES[failureClass]})${advice ? `; ${advice}` : ''}`,
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
  items.push(await checkSecretGuard(input, namespaces, version));
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
    return {
      item: expiryOf(
        'client certificate',
        validTo,
        now,
        'not renewed by runs: replace the certificate, or run register --rotate (stores a renewing token)',
      ),
      expiresAt: validTo.toISOString(),
    };
  }
  if (!expiresAt) {
    return {
      item: {
        check: 'token-expiry',
        status: 'ok',
        detail:
          'the token does not expire and is never renewed (Secret-based token: revoked by deleting its Secret)',
      },
    };
  }
  const fraction = input.settings.tokenRenewalFraction;
  const due = renewalDueAt(tokenClaims(token), fraction);
  const renewal = due
    ? `runs renew it automatically from ${due.toISOString()} (tokenRenewalFraction ${fraction}); if it stays close to expiry, see the runs' credential.renewal failure, or run register --rotate`
    : 'it has no issued-at, so runs cannot renew it: run register --rotate';
  return { item: expiryOf('token', expiresAt, now, renewal), expiresAt: expiresAt.toISOString() };
}

function expiryOf(what: string, expiresAt: Date, now: number, todo: string): CheckItem {
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
      detail: `${what} expires at ${when}, in ${days} days: ${todo}; run register --rotate before then`,
    };
  }
  return {
    check: 'token-expiry',
    status: 'ok',
    detail: `${what} expires at ${when} (${days} days): ${todo}`,
  };
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
 * RBAC, so only the secret guard can refuse it. Nothing is persisted either way. Anything but a refusal
 * by cred-courier's own policy is a failure (unless the entry opted out with `secretGuard: false`).
 */
async function checkSecretGuard(
  input: VerifyInput,
  namespaces: readonly string[],
  version: string | undefined,
): Promise<CheckItem> {
  const { cluster, settings } = input;
  const name = managedSecretNames(cluster)[0];
  if (!name) {
    return { check: 'secret-guard', status: 'ok', detail: 'not needed: the cluster receives no Secrets' };
  }
  // With globs or a selector the identity may create Secrets in every namespace (a ClusterRole), so
  // the control namespace, which register made, is always there to try.
  const candidates = [
    ...namespaces.filter((ns) => grantIn(cluster, ns).secretNames.length > 0),
    ...(needsNamespaceListing(cluster.namespaces) ? [settings.controlNamespace] : []),
  ];
  const deadline = Date.now() + (input.settleMs ?? 0);
  for (;;) {
    const outcome = await tryForbiddenCreate(input, candidates, name);
    if (outcome.proven || Date.now() >= deadline) return guardItem(input, outcome, version);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

interface GuardProbe {
  readonly proven: boolean;
  readonly detail: string;
}

async function tryForbiddenCreate(
  input: VerifyInput,
  namespaces: readonly string[],
  name: string,
): Promise<GuardProbe> {
  const policy = objectName(input.settings.controlNamespace, 'secret-guard');
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
      return { proven: false, detail: notInEffect(namespace) };
    } catch (error) {
      if (!(error instanceof ApiException)) throw error;
      const message = describeFailure(error, input.redactor);
      if (error.code === 404) continue; // the namespace does not exist (yet): try another
      // Refused by cred-courier's own policy (by name), not by something else that happens to refuse.
      if (message.includes(policy)) {
        return { proven: true, detail: `active: a service-account-token Secret is refused (${namespace})` };
      }
      if (error.code === 409) return { proven: false, detail: notInEffect(namespace) };
      return { proven: false, detail: `could not be proven in ${namespace}: ${message}` };
    }
  }
  return {
    proven: false,
    detail: `could not be proven: none of the target namespaces exists yet (${namespaces.join(', ') || 'none'}); create one and run register (or check) again`,
  };
}

function notInEffect(namespace: string): string {
  return `NOT IN EFFECT: in ${namespace} the identity could create a service-account-token Secret under a name it can read`;
}

/** The Kubernetes release from which admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy is GA. */
export const GUARD_MIN_VERSION = { major: 1, minor: 30 } as const;

/** Whether a `v1.29.3`-style version is below 1.30; undefined when it cannot be read. */
export function belowGuardVersion(version: string | undefined): boolean | undefined {
  const match = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return undefined;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return (
    major < GUARD_MIN_VERSION.major || (major === GUARD_MIN_VERSION.major && minor < GUARD_MIN_VERSION.minor)
  );
}

/** What to do when the guard is not in effect: why the cluster cannot have one, or how to apply it. */
export function guardRemedy(version: string | undefined, unserved: boolean): string {
  const optOut =
    'or, for a cluster with exact namespace names only, register with --without-secret-guard (recorded as secretGuard: false)';
  if (belowGuardVersion(version)) {
    return `Kubernetes ${version} cannot enforce the secret guard (ValidatingAdmissionPolicy, admissionregistration.k8s.io/v1, needs ${GUARD_MIN_VERSION.major}.${GUARD_MIN_VERSION.minor}+): upgrade the cluster, ${optOut}`;
  }
  if (unserved) {
    return `the cluster does not serve admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy (the API is disabled): enable it (kube-apiserver --runtime-config), ${optOut}`;
  }
  return `apply the secret guard (register applies it; with --rbac=skip apply the output of cred-courier rbac) and make sure admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy is served (Kubernetes 1.30+), ${optOut}`;
}

function guardItem(input: VerifyInput, probe: GuardProbe, version: string | undefined): CheckItem {
  if (probe.proven) {
    return {
      check: 'secret-guard',
      status: 'ok',
      detail:
        input.cluster.secretGuard === false
          ? `${probe.detail}; the entry's secretGuard: false is no longer needed (register again without --without-secret-guard)`
          : probe.detail,
    };
  }
  if (input.cluster.secretGuard === false) {
    return {
      check: 'secret-guard',
      status: 'warn',
      accepted: true,
      detail: `${probe.detail}; accepted: the entry sets secretGuard: false (registered with --without-secret-guard)`,
    };
  }
  return {
    check: 'secret-guard',
    status: 'fail',
    detail: `${probe.detail}: ${guardRemedy(version, input.guardUnserved ?? false)}`,
  };
}
