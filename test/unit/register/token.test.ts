import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ClusterSpec } from '../../../src/config/types.ts';
import { CredCourierError } from '../../../src/errors.ts';
import { parseKubeconfig } from '../../../src/kube/kubeconfig.ts';
import {
  DEFAULT_TOKEN_LIFETIME,
  minimalKubeconfig,
  parseLifetime,
  renewalDue,
  renewalDueAt,
  storedCredential,
  tokenClaims,
  tokenLifetimeSeconds,
} from '../../../src/register/token.ts';

const jwt = (payload: object) =>
  ['{"alg":"RS256"}', JSON.stringify(payload), 'signature']
    .map((part, i) => (i < 2 ? Buffer.from(part).toString('base64url') : part))
    .join('.');

describe('parseLifetime', () => {
  it.each([
    ['8760h', 8760 * 3600],
    ['90d', 90 * 86400],
    ['1h30m', 5400],
    ['10m', 600],
    ['1d12h', 129600],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseLifetime(text)).toBe(seconds);
  });

  it.each(['', '8760', 'h', '1y', '-1h', '1.5h', '9m59s', '5m'])('refuses %j', (text) => {
    expect(() => parseLifetime(text)).toThrow(CredCourierError);
  });
});

describe('tokenClaims', () => {
  it('reads subject, expiry and issue time of a JWT without verifying it', () => {
    const claims = tokenClaims(
      jwt({ sub: 'system:serviceaccount:cc:cred-courier', exp: 2_000_000_000, iat: 1_900_000_000 }),
    );
    expect(claims).toEqual({
      subject: 'system:serviceaccount:cc:cred-courier',
      expiresAt: new Date(2_000_000_000_000),
      issuedAt: new Date(1_900_000_000_000),
    });
  });

  it('has no expiry for a legacy token and nothing for what is not a JWT', () => {
    expect(tokenClaims(jwt({ sub: 'x' }))?.expiresAt).toBeUndefined();
    expect(tokenClaims('0123456789abcdef')).toBeUndefined();
    expect(tokenClaims('a.%%%.c')).toBeUndefined();
    expect(tokenClaims(`a.${Buffer.from('"text"').toString('base64url')}.c`)).toBeUndefined();
  });
});

describe('minimalKubeconfig', () => {
  const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64');
  const spec: ClusterSpec = {
    name: 'gke-prod',
    kubeconfigSecret: 'k',
    namespaces: { names: ['app'], exclude: [] },
    s3: [],
    allowInsecureSkipTlsVerify: false,
    trustSystemRoots: false,
    adoptExistingSecrets: false,
  };

  it('holds the server, the CA and a token user named cred-courier, and passes delivery’s kubeconfig checks', () => {
    // Act
    const text = minimalKubeconfig({
      cluster: 'gke-prod',
      server: 'https://10.0.0.1:6443',
      caData: ca,
      token: 'tok-0123456789',
    });

    // Assess
    expect(parse(text)).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'gke-prod', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': ca } },
      ],
      users: [{ name: 'cred-courier', user: { token: 'tok-0123456789' } }],
      contexts: [{ name: 'gke-prod', context: { cluster: 'gke-prod', user: 'cred-courier' } }],
      'current-context': 'gke-prod',
    });
    expect(parseKubeconfig(spec, text).server).toBe('https://10.0.0.1:6443');
  });

  it('writes insecure-skip-tls-verify only when asked, which delivery then refuses without the opt-in', () => {
    const text = minimalKubeconfig({
      cluster: 'gke-prod',
      server: 'https://h',
      insecureSkipTlsVerify: true,
      token: 't',
    });
    expect(text).toContain('insecure-skip-tls-verify: true');
    expect(() => parseKubeconfig(spec, text)).toThrow(/allowInsecureSkipTlsVerify/);
  });
});

describe('token renewal timing', () => {
  const iat = Date.UTC(2026, 0, 1) / 1000;
  const claims = (payload: object) => tokenClaims(jwt(payload));
  const month = claims({ sub: 'system:serviceaccount:cc:cred-courier', iat, exp: iat + 30 * 86400 });

  it('takes the lifetime from exp - iat, and none without both', () => {
    expect(tokenLifetimeSeconds(month)).toBe(30 * 86400);
    expect(tokenLifetimeSeconds(claims({ exp: iat + 600 }))).toBeUndefined();
    expect(tokenLifetimeSeconds(claims({ iat }))).toBeUndefined();
    expect(tokenLifetimeSeconds(claims({ iat, exp: iat }))).toBeUndefined();
  });

  it.each([
    [0.5, 15 * 86400 - 1, false],
    [0.5, 15 * 86400, true],
    [0.1, 3 * 86400 - 1, false],
    [0.1, 3 * 86400, true],
    [0.9, 27 * 86400 - 1, false],
    [0.9, 27 * 86400, true],
  ])('with fraction %d, %i s after issue: due %s', (fraction, elapsed, due) => {
    expect(renewalDue(month, fraction, new Date((iat + elapsed) * 1000))).toBe(due);
  });

  it('is never due for a token without an expiry or issue time, nor for no token', () => {
    const later = new Date((iat + 400 * 86400) * 1000);
    expect(renewalDue(claims({ sub: 'x', iat }), 0.5, later)).toBe(false);
    expect(renewalDue(claims({ sub: 'x', exp: iat + 600 }), 0.5, later)).toBe(false);
    expect(renewalDue(undefined, 0.5, later)).toBe(false);
    expect(renewalDueAt(month, 0.5)?.toISOString()).toBe('2026-01-16T00:00:00.000Z');
  });

  it("register's default lifetime is 30 days: renewed after 15, 15 days of slack", () => {
    expect(parseLifetime(DEFAULT_TOKEN_LIFETIME)).toBe(30 * 86400);
  });

  it('tells a renewable token from a long-lived one and a client certificate', () => {
    expect(storedCredential({ token: jwt({ iat, exp: iat + 600 }) })).toMatchObject({
      kind: 'token',
      expiresAt: new Date((iat + 600) * 1000),
    });
    expect(storedCredential({ token: jwt({ sub: 'x' }) })?.kind).toBe('long-lived-token');
    expect(storedCredential({ token: 'static-token' })).toEqual({ kind: 'long-lived-token' });
    expect(storedCredential({ certData: Buffer.from('not a certificate').toString('base64') })).toEqual({
      kind: 'client-certificate',
    });
    expect(storedCredential({})).toBeUndefined();
  });
});
