import { generateKeyPairSync } from 'node:crypto';
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  CredCourierError,
  KubeconfigError,
  MintError,
  MissingObjectError,
  OwnershipConflictError,
  RedirectRefusedError,
} from '../../../src/errors.ts';
import {
  classify,
  describeFailure,
  FAILURE_CLASSES,
  type FailureClass,
  isTransient,
  retryAfterSeconds,
} from '../../../src/report/classify.ts';
import { Redactor } from '../../../src/report/redact.ts';

function apiException(
  code: number,
  body?: string,
  headers: Record<string, string> = {},
): ApiException<unknown> {
  return new ApiException(code, 'Unknown API Status Code!', body, headers);
}

/** What fetch throws for a socket-level failure: a TypeError whose cause carries the code. */
function fetchFailure(code: string, message = `connect ${code} 10.0.0.1:6443`): TypeError {
  const cause = Object.assign(new Error(message), { code });
  return new TypeError('fetch failed', { cause });
}

describe('Function: classify', () => {
  it.each<[number, FailureClass]>([
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not-found'],
    [409, 'conflict'],
    [422, 'conflict'],
    [429, 'throttled'],
    [500, 'server'],
    [502, 'server'],
    [503, 'server'],
    [400, 'unknown'],
    [301, 'redirect'],
    [307, 'redirect'],
    [308, 'redirect'],
  ])('classifies an ApiException with HTTP %i as %s', (code, expected) => {
    // Prepare
    const error = apiException(code);

    // Act
    const failureClass = classify(error);

    // Assess
    expect(failureClass).toBe(expected);
  });

  it.each<[string, FailureClass]>([
    ['ECONNREFUSED', 'refused'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['ECONNRESET', 'network'],
    ['EPIPE', 'network'],
    ['UND_ERR_SOCKET', 'network'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['ETIMEDOUT', 'timeout'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    // A fetch-level failure whatever its socket code: its cause is kept, never `unknown`.
    ['EWHATEVER', 'network'],
  ])('classifies fetch failed caused by %s as %s', (code, expected) => {
    // Prepare
    const error = fetchFailure(code);

    // Act
    const failureClass = classify(error);

    // Assess
    expect(failureClass).toBe(expected);
  });

  it('finds a socket code nested more than one cause deep', () => {
    // Prepare
    const error = new Error('request failed', { cause: fetchFailure('ECONNREFUSED') });

    // Act
    const failureClass = classify(error);

    // Assess
    expect(failureClass).toBe('refused');
  });

  it('classifies a DOMException TimeoutError (AbortSignal.timeout) as timeout', () => {
    // Prepare
    const error = new DOMException('The operation was aborted due to timeout', 'TimeoutError');

    // Act
    const failureClass = classify(error);

    // Assess
    expect(failureClass).toBe('timeout');
  });

  it('classifies a DOMException AbortError as timeout', () => {
    // Prepare
    const error = new DOMException('This operation was aborted', 'AbortError');

    // Act
    const failureClass = classify(error);

    // Assess
    expect(failureClass).toBe('timeout');
  });

  it('classifies the real rejection of AbortSignal.timeout as timeout', async () => {
    // Prepare
    const signal = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));

    // Act
    const failureClass = classify(signal.reason);

    // Assess
    expect(signal.aborted).toBe(true);
    expect(failureClass).toBe('timeout');
  });

  it.each<[string, Error, FailureClass]>([
    ['OwnershipConflictError', new OwnershipConflictError('not ours'), 'conflict'],
    ['MissingObjectError', new MissingObjectError('namespace app does not exist'), 'not-found'],
    ['KubeconfigError', new KubeconfigError('gke-prod', 'exec is not supported'), 'kubeconfig'],
    ['MintError', new MintError('unable to get an ECR token'), 'mint'],
    ['ConfigError', new ConfigError('clusters.yaml', ['clusters: missing']), 'config'],
    ['CredCourierError', new CredCourierError('something else'), 'unknown'],
    ['a plain Error', new Error('boom'), 'unknown'],
  ])('classifies %s as %s', (_name, error, expected) => {
    // Prepare
    const input = error;

    // Act
    const failureClass = classify(input);

    // Assess
    expect(failureClass).toBe(expected);
  });

  it("classifies by the project's own error before the HTTP error it wraps", () => {
    // Prepare
    const error = new MintError('unable to assume role', { cause: apiException(403) });

    // Act
    const failureClass = classify(error);

    // Assess
    expect(failureClass).toBe('mint');
  });

  it('classifies an ApiException wrapped in a plain Error by its status', () => {
    // Prepare
    const error = new Error('patch failed', { cause: apiException(409) });

    // Act
    const failureClass = classify(error);

    // Assess
    expect(failureClass).toBe('conflict');
  });

  it.each([undefined, null, 'a string', 42, {}])('classifies the non-error %j as unknown', (value) => {
    // Prepare
    const input: unknown = value;

    // Act
    const failureClass = classify(input);

    // Assess
    expect(failureClass).toBe('unknown');
  });

  it('stops following a cause chain that loops', () => {
    // Prepare
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;

    // Act
    const failureClass = classify(a);

    // Assess
    expect(failureClass).toBe('unknown');
  });

  // Regression (fixed): classify assumes `code` is a string. DOMException (and any error with a numeric `code`) has a
  // number there, so any DOMException other than TimeoutError/AbortError makes classify itself throw
  // "code.startsWith is not a function" instead of returning 'unknown' — inside the catch/retry paths
  // (src/kube/retry.ts, src/run/cluster.ts) that call it.
  it('classifies an error with a numeric code as unknown instead of throwing', () => {
    // Prepare
    const error = new DOMException('could not clone', 'DataCloneError');

    // Act
    const failureClass = classify(error);

    // Assess
    expect(failureClass).toBe('unknown');
  });
});

describe('Function: isTransient', () => {
  it.each<[FailureClass, boolean]>([
    ['timeout', true],
    ['network', true],
    ['throttled', true],
    ['server', true],
    ['refused', true],
    ['unauthorized', false],
    ['forbidden', false],
    ['not-found', false],
    ['conflict', false],
    ['tls', false],
    ['dns', false],
    ['kubeconfig', false],
    ['mint', false],
    ['config', false],
    ['deadline', false],
    ['redirect', false],
    ['proxy-unreachable', true],
    ['proxy-tunnel', true],
    ['proxy-auth', false],
    ['proxy-denied', false],
    ['unknown', false],
  ])('says %s is transient: %s', (failureClass, expected) => {
    // Prepare
    const input = failureClass;

    // Act
    const transient = isTransient(input);

    // Assess
    expect(transient).toBe(expected);
  });

  it('covers every failure class in the table above', () => {
    // Prepare
    const classes = Object.keys(FAILURE_CLASSES);

    // Act
    const transient = classes.filter((c) => isTransient(c as FailureClass)).sort();

    // Assess
    expect(classes).toHaveLength(21);
    expect(transient).toEqual([
      'network',
      'proxy-tunnel',
      'proxy-unreachable',
      'refused',
      'server',
      'throttled',
      'timeout',
    ]);
  });
});

describe('Function: retryAfterSeconds', () => {
  it('reads the retry-after header of a 429', () => {
    // Prepare
    const error = apiException(429, undefined, { 'retry-after': '7' });

    // Act
    const seconds = retryAfterSeconds(error);

    // Assess
    expect(seconds).toBe(7);
  });

  it('reads the retry-after header of an ApiException nested as a cause', () => {
    // Prepare
    const error = new Error('outer', { cause: apiException(503, undefined, { 'retry-after': '30' }) });

    // Act
    const seconds = retryAfterSeconds(error);

    // Assess
    expect(seconds).toBe(30);
  });

  it.each([
    ['no header', {}],
    ['an HTTP date', { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }],
    ['a negative number', { 'retry-after': '-5' }],
    ['garbage', { 'retry-after': 'soon' }],
  ])('gives undefined for %s', (_what, headers) => {
    // Prepare
    const error = apiException(429, undefined, headers);

    // Act
    const seconds = retryAfterSeconds(error);

    // Assess
    expect(seconds).toBeUndefined();
  });

  it('gives undefined for errors that are not HTTP errors', () => {
    // Prepare
    const error = fetchFailure('ECONNRESET');

    // Act
    const seconds = retryAfterSeconds(error);

    // Assess
    expect(seconds).toBeUndefined();
  });
});

describe('Function: classify (redirects)', () => {
  it('classifies fetch failed caused by a refused redirect as redirect, never retried', () => {
    // Prepare
    const cause = new RedirectRefusedError('cluster a: the apiserver answered HTTP 307', 307);
    const error = new TypeError('fetch failed', { cause });

    // Act
    const failureClass = classify(error);

    // Assess
    expect(failureClass).toBe('redirect');
    expect(isTransient(failureClass)).toBe(false);
    expect(describeFailure(error)).toBe('cluster a: the apiserver answered HTTP 307');
  });
});

describe('Function: describeFailure', () => {
  it("includes the HTTP status and the apiserver's JSON message", () => {
    // Prepare
    const body = JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: 'secrets "ecr-pull" is forbidden: User "system:serviceaccount:x:y" cannot update resource',
      reason: 'Forbidden',
      code: 403,
    });
    const error = apiException(403, body);

    // Act
    const description = describeFailure(error);

    // Assess
    expect(description).toBe(
      'HTTP 403: secrets "ecr-pull" is forbidden: User "system:serviceaccount:x:y" cannot update resource',
    );
  });

  it('gives only the status when the body is not JSON (a 401)', () => {
    // Prepare
    const error = apiException(401, 'Unauthorized');

    // Act
    const description = describeFailure(error);

    // Assess
    expect(description).toBe('HTTP 401');
  });

  it('gives only the status when there is no body', () => {
    // Prepare
    const error = apiException(500);

    // Act
    const description = describeFailure(error);

    // Assess
    expect(description).toBe('HTTP 500');
  });

  it('describes a socket failure by its code and message, found under fetch failed', () => {
    // Prepare
    const error = fetchFailure('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:6443');

    // Act
    const description = describeFailure(error);

    // Assess
    expect(description).toBe('ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:6443');
  });

  it("describes the project's own errors by their message", () => {
    // Prepare
    const error = new KubeconfigError('gke-prod', 'users[].user.exec is not supported');

    // Act
    const description = describeFailure(error);

    // Assess: the cluster's report already names the cluster and the class, so no prefix again.
    expect(description).toBe('users[].user.exec is not supported');
    expect(error.message).toBe('cluster gke-prod: kubeconfig: users[].user.exec is not supported');
  });

  it('describes a non-error by its text', () => {
    // Prepare
    const value = 'plain text failure';

    // Act
    const description = describeFailure(value);

    // Assess
    expect(description).toBe('plain text failure');
  });

  it('keeps the description to 500 characters', () => {
    // Prepare
    const error = apiException(422, JSON.stringify({ message: 'x'.repeat(2000) }));

    // Act
    const description = describeFailure(error);

    // Assess
    expect(description).toHaveLength(500);
    expect(description.startsWith('HTTP 422: xxx')).toBe(true);
  });

  it.each([
    ['a line break and a forged line', 'denied\n✓ b: 2 delivered', 'denied\\u000a✓ b: 2 delivered'],
    [
      'a carriage return and terminal escapes',
      'denied\r\u001b[2K\u001b[1Aok',
      'denied\\u000d\\u001b[2K\\u001b[1Aok',
    ],
    [
      'a bidi override and a line separator',
      'denied \u202egnp.exe\u2028ok',
      'denied \\u202egnp.exe\\u2028ok',
    ],
    ['DEL and a C1 control', 'denied\u007f\u009bok', 'denied\\u007f\\u009bok'],
  ])("escapes %s in the apiserver's message, keeping its quotes", (_, message, shown) => {
    // Prepare: a message an admission policy or webhook anyone on the cluster wrote.
    const error = apiException(
      422,
      JSON.stringify({ message: `secrets "ecr-pull" is forbidden: ${message}` }),
    );

    // Act
    const description = describeFailure(error);

    // Assess
    expect(description).toBe(`HTTP 422: secrets "ecr-pull" is forbidden: ${shown}`);
  });

  it('escapes control characters in a socket error message too', () => {
    // Prepare
    const error = fetchFailure(
      'ERR_TLS_CERT_ALTNAME_INVALID',
      "Host: a. is not in the cert's altnames: DNS:x\r\u001b[2K",
    );

    // Act
    const description = describeFailure(error);

    // Assess
    expect(description).toBe(
      "ERR_TLS_CERT_ALTNAME_INVALID: Host: a. is not in the cert's altnames: DNS:x\\u000d\\u001b[2K",
    );
  });

  it('scrubs a secret that holds line breaks (a PEM key) before escaping, so no line of it survives', () => {
    // Prepare
    // A key made now: a PEM's line breaks are what this is about.
    const key = generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString()
      .trim();
    const redactor = new Redactor();
    redactor.add(key);
    const error = apiException(422, JSON.stringify({ message: `echoed: ${key}` }));

    // Act
    const description = describeFailure(error, redactor);

    // Assess
    expect(description).toBe('HTTP 422: echoed: [redacted]');
  });

  it("keeps the project's own messages as written", () => {
    // Prepare
    const error = new KubeconfigError('a', 'line one\nline two');

    // Act
    const description = describeFailure(error);

    // Assess
    expect(description).toBe('line one\nline two');
  });
});
