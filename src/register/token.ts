/**
 * Pure helpers around the ServiceAccount token cred-courier stores: lifetimes as operators write them,
 * the claims a token carries, and the minimal kubeconfig that holds it.
 */
import { X509Certificate } from 'node:crypto';
import { stringify } from 'yaml';
import { UsageError } from '../errors.ts';

/** The user name inside stored kubeconfigs. */
export const KUBECONFIG_USER = 'cred-courier';
/** The apiserver refuses TokenRequests shorter than 10 minutes. */
export const MIN_TOKEN_SECONDS = 600;
/** When `check` starts warning about a token's expiry. */
export const EXPIRY_WARNING_SECONDS = 7 * 24 * 3600;
/**
 * `register`'s default TokenRequest lifetime: 30 days. Runs renew it at half its lifetime (by default),
 * so a broken schedule has 15 days before the token expires, and a leaked kubeconfig works at most 30.
 */
export const DEFAULT_TOKEN_LIFETIME = '720h';
/** Default `settings.tokenRenewalFraction`: renew once half of the token's lifetime is used. */
export const DEFAULT_RENEWAL_FRACTION = 0.5;

const UNIT_SECONDS: Readonly<Record<string, number>> = { d: 86400, h: 3600, m: 60, s: 1 };

/**
 * Seconds in a duration such as `8760h`, `90d`, `1h30m` (units d, h, m, s; Go's form plus days).
 * @throws UsageError for anything else, or less than the apiserver's 10-minute minimum.
 */
export function parseLifetime(text: string): number {
  const trimmed = text.trim();
  if (!/^(\d+[dhms])+$/.test(trimmed)) {
    throw new UsageError(
      `token lifetime ${JSON.stringify(text)}: expected a duration such as 8760h, 90d or 1h30m`,
    );
  }
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)([dhms])/g)) {
    seconds += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  }
  if (seconds < MIN_TOKEN_SECONDS) {
    throw new UsageError(`token lifetime ${text}: the apiserver's minimum is 10m`);
  }
  return seconds;
}

/** The claims cred-courier reads from a ServiceAccount token; nothing is verified here. */
export interface TokenClaims {
  /** `system:serviceaccount:<namespace>:<name>`. */
  readonly subject?: string;
  /** Absent for legacy (Secret-based) tokens, which do not expire. */
  readonly expiresAt?: Date;
  readonly issuedAt?: Date;
}

/**
 * Reads the claims of a JWT without verifying it (the apiserver verifies; this only informs). Undefined
 * when the token is not a JWT (static tokens, webhook tokens).
 */
export function tokenClaims(token: string): TokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  let payload: { sub?: unknown; exp?: unknown; iat?: unknown };
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as typeof payload;
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null) return undefined;
  const date = (value: unknown) => (typeof value === 'number' ? new Date(value * 1000) : undefined);
  const expiresAt = date(payload.exp);
  const issuedAt = date(payload.iat);
  return {
    ...(typeof payload.sub === 'string' ? { subject: payload.sub } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(issuedAt ? { issuedAt } : {}),
  };
}

/** What a stored kubeconfig is made of. */
export interface KubeconfigParts {
  /** The registered cluster name; names the kubeconfig's cluster and context. */
  readonly cluster: string;
  readonly server: string;
  /** Base64 of the CA's PEM; absent: the system's trust store (a publicly trusted endpoint). */
  readonly caData?: string;
  /** Only for clusters that set allowInsecureSkipTlsVerify; warned about on every run. */
  readonly insecureSkipTlsVerify?: boolean;
  readonly token: string;
}

/**
 * The kubeconfig cred-courier stores: one cluster (server and embedded CA), one user holding only a
 * bearer token (no exec, no files), one context.
 */
export function minimalKubeconfig(parts: KubeconfigParts): string {
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: parts.cluster,
          cluster: {
            server: parts.server,
            ...(parts.caData ? { 'certificate-authority-data': parts.caData } : {}),
            ...(parts.insecureSkipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
          },
        },
      ],
      users: [{ name: KUBECONFIG_USER, user: { token: parts.token } }],
      contexts: [{ name: parts.cluster, context: { cluster: parts.cluster, user: KUBECONFIG_USER } }],
      'current-context': parts.cluster,
    },
    { lineWidth: 0 },
  );
}

/** A token's lifetime as issued (exp − iat), in seconds; undefined without both claims. */
export function tokenLifetimeSeconds(claims: TokenClaims | undefined): number | undefined {
  if (!claims?.expiresAt || !claims.issuedAt) return undefined;
  const seconds = Math.round((claims.expiresAt.getTime() - claims.issuedAt.getTime()) / 1000);
  return seconds > 0 ? seconds : undefined;
}

/**
 * When a token is due for renewal: once `fraction` of its lifetime (exp − iat) is used. Undefined for
 * tokens that cannot be renewed (no exp or no iat).
 */
export function renewalDueAt(claims: TokenClaims | undefined, fraction: number): Date | undefined {
  const lifetime = tokenLifetimeSeconds(claims);
  if (lifetime === undefined || !claims?.issuedAt) return undefined;
  return new Date(claims.issuedAt.getTime() + Math.round(lifetime * fraction) * 1000);
}

/** Whether a token is due for renewal at `now` (false for tokens that cannot be renewed). */
export function renewalDue(claims: TokenClaims | undefined, fraction: number, now: Date): boolean {
  const due = renewalDueAt(claims, fraction);
  return due !== undefined && now.getTime() >= due.getTime();
}

/** What a stored kubeconfig's user authenticates with, and until when. */
export interface StoredCredential {
  readonly kind: 'token' | 'long-lived-token' | 'client-certificate';
  readonly expiresAt?: Date;
  /** The token's claims (kinds `token` and `long-lived-token` when it is a JWT). */
  readonly claims?: TokenClaims;
}

/**
 * The credential of a kubeconfig user: a token with an expiry (renewable), a token without one
 * (long-lived, never renewed) or a client certificate (its notAfter). Undefined when it holds neither.
 */
export function storedCredential(user: {
  readonly token?: string;
  readonly certData?: string;
}): StoredCredential | undefined {
  if (user.token) {
    const claims = tokenClaims(user.token);
    return claims?.expiresAt
      ? { kind: 'token', expiresAt: claims.expiresAt, claims }
      : { kind: 'long-lived-token', ...(claims ? { claims } : {}) };
  }
  if (user.certData) {
    try {
      const certificate = new X509Certificate(Buffer.from(user.certData, 'base64'));
      return { kind: 'client-certificate', expiresAt: new Date(certificate.validTo) };
    } catch {
      return { kind: 'client-certificate' };
    }
  }
  return undefined;
}
