/**
 * An HTTP proxy in front of moto that answers chosen AWS operations with the errors real AWS gives —
 * throttling, access denied — in the wire format each protocol's SDK parses, and forwards the rest.
 * Operations are recognised the way AWS routes them: the `X-Amz-Target` header (JSON protocols: ECR,
 * Secrets Manager) or the `Action` form field (query protocol: STS). The region is read from the
 * request's SigV4 credential scope.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from '../../src/aws/clients.ts';

/**
 * `quote-credentials`: an error whose message quotes the request's own access key id and session token,
 * as an SDK or service error about bad credentials can (S3's REST XML format).
 */
export type AwsFault = 'throttle' | 'access-denied' | 'quote-credentials';

export interface AwsFaultRule {
  /** Operation name: `GetAuthorizationToken`, `AssumeRole`, … */
  readonly operation: string;
  readonly fault: AwsFault;
  /** Only requests signed for this region. */
  readonly region?: string;
  /** Only requests whose (form or JSON) body contains this text, e.g. a role ARN. */
  readonly bodyIncludes?: string;
  /** Only the first `times` matching requests; all when absent. */
  readonly times?: number;
}

export interface SeenAwsRequest {
  readonly operation: string;
  readonly region: string;
  readonly fault?: AwsFault;
  readonly at: number;
  /** Credentials a `quote-credentials` answer quoted. */
  readonly quoted?: readonly string[];
}

interface Protocol {
  readonly kind: 'json' | 'query' | 'rest';
  readonly operation: string;
}

function protocolOf(req: IncomingMessage, body: string): Protocol {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return { kind: 'json', operation: target.split('.').pop() ?? target };
  const action = new URLSearchParams(body).get('Action');
  if (action && String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded'))
    return { kind: 'query', operation: action };
  // REST (S3): method and path, without a trailing slash (path-style bucket requests may carry one).
  const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/(.)\/$/, '$1');
  return { kind: 'rest', operation: `${req.method} ${path}` };
}

function regionOf(req: IncomingMessage): string {
  const auth = String(req.headers.authorization ?? '');
  return /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(auth)?.[1] ?? '';
}

/** The access key id (from the SigV4 scope) and the session token a request was signed with. */
function credentialsOf(req: IncomingMessage): string[] {
  const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
  const token = req.headers['x-amz-security-token'];
  return [accessKeyId, typeof token === 'string' ? token : undefined].filter((v): v is string => Boolean(v));
}

/** The error as the protocol's SDK parses it (name and message), like AWS sends it. */
function errorResponse(
  protocol: Protocol,
  fault: AwsFault,
  quoted: readonly string[] = [],
): { status: number; headers: Record<string, string>; body: string } {
  const requestId = `fault-proxy-${Date.now()}`;
  if (fault === 'quote-credentials') {
    return {
      status: 400,
      headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
      body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidToken</Code><Message>The provided token is malformed or otherwise invalid (injected by the fault proxy): ${quoted.join(' ')}</Message><RequestId>${requestId}</RequestId></Error>`,
    };
  }
  if (protocol.kind === 'json') {
    const type = fault === 'throttle' ? 'ThrottlingException' : 'AccessDeniedException';
    const message =
      fault === 'throttle'
        ? 'Rate exceeded'
        : `not authorized to perform: ${protocol.operation} (injected by the fault proxy)`;
    return {
      status: 400,
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': `${type}:`,
        'x-amzn-requestid': requestId,
      },
      body: JSON.stringify({ __type: type, message }),
    };
  }
  const code = fault === 'throttle' ? 'Throttling' : 'AccessDenied';
  const message =
    fault === 'throttle'
      ? 'Rate exceeded'
      : `User is not authorized to perform: sts:${protocol.operation} (injected by the fault proxy)`;
  return {
    status: fault === 'throttle' ? 400 : 403,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

export class AwsFaultProxy {
  private readonly upstream: URL;
  private readonly server: Server;
  private port = 0;
  private rules: readonly AwsFaultRule[] = [];
  private matched = new Map<AwsFaultRule, number>();
  requests: SeenAwsRequest[] = [];

  constructor(upstream: string) {
    this.upstream = new URL(upstream);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', () => done()));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setRules(rules: readonly AwsFaultRule[]): void {
    this.rules = rules;
    this.matched = new Map();
  }

  resetCounts(): void {
    this.requests = [];
  }

  count(operation: string, region?: string): number {
    return this.requests.filter(
      (r) => r.operation === operation && (region === undefined || r.region === region),
    ).length;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const body = raw.toString('utf8');
    const protocol = protocolOf(req, body);
    const region = regionOf(req);
    const rule = this.rules.find(
      (r) =>
        r.operation === protocol.operation &&
        (r.region === undefined || r.region === region) &&
        (r.bodyIncludes === undefined ||
          body.includes(r.bodyIncludes) ||
          decodeURIComponent(body).includes(r.bodyIncludes)),
    );
    if (rule) {
      const seen = this.matched.get(rule) ?? 0;
      this.matched.set(rule, seen + 1);
      if (rule.times === undefined || seen < rule.times) {
        const quoted = rule.fault === 'quote-credentials' ? credentialsOf(req) : [];
        this.requests.push({
          operation: protocol.operation,
          region,
          fault: rule.fault,
          at: Date.now(),
          quoted,
        });
        const error = errorResponse(protocol, rule.fault, quoted);
        res.writeHead(error.status, { ...error.headers, 'content-length': Buffer.byteLength(error.body) });
        res.end(error.body);
        return;
      }
    }
    this.requests.push({ operation: protocol.operation, region, at: Date.now() });
    await new Promise<void>((done) => {
      const forwarded = request(
        {
          host: this.upstream.hostname,
          port: this.upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: this.upstream.host },
        },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
          response.once('end', () => done());
        },
      );
      forwarded.on('error', () => {
        res.destroy();
        done();
      });
      forwarded.end(raw);
    });
  }
}

/**
 * AWS clients like `defaultAwsClients`, but every one of them sent to `endpoint` (the fault proxy),
 * with the rig's keys. S3 addresses buckets by path, as it must on a local endpoint.
 */
export function awsClientsVia(endpoint: string): AwsClients {
  const cache = new Map<string, unknown>();
  const reuse = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    ecr: (region, credentials) =>
      credentials
        ? new ECRClient({ region, credentials, endpoint })
        : reuse(`ecr:${region}`, () => new ECRClient({ region, endpoint })),
    sts: (region) => reuse(`sts:${region}`, () => new STSClient({ region, endpoint })),
    callerIdentity: (region, credentials) => new STSClient({ region, credentials, endpoint }),
    s3: (region, credentials) => new S3Client({ region, credentials, endpoint, forcePathStyle: true }),
    secretsManager: () => reuse('secretsmanager', () => new SecretsManagerClient({ endpoint })),
  };
}
