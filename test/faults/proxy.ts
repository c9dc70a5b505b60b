/**
 * A fault proxy in front of a real kube-apiserver: one loopback listener whose mode can be switched
 * between runs. Modes that keep TLS end to end work on TCP bytes; modes that must see HTTP terminate
 * TLS with a certificate (from the cluster's own CA, so clients trust it as they trust the apiserver,
 * or from a foreign CA, which they must not) and forward the rest to the apiserver over TLS.
 *
 * | mode              | what the client meets                                                     |
 * | ----------------- | ------------------------------------------------------------------------- |
 * | pass              | the apiserver itself (TCP piped, TLS untouched)                           |
 * | refuse            | nothing listening: the listener is closed, connects get ECONNREFUSED      |
 * | reset-at-accept   | a connection accepted and reset at once (RST)                             |
 * | black-hole        | a connection accepted and never answered                                  |
 * | slow              | the apiserver, every chunk in either direction delayed by `delayMs`       |
 * | reset-mid-body    | the request forwarded, the response cut after `afterBytes` of its body    |
 * | certificate       | TLS with the named serving certificate (another CA's, an expired one, one |
 * |                   | for another name), requests forwarded when the client goes on anyway      |
 * | status            | chosen requests answered with an HTTP status, the rest forwarded; with a  |
 * |                   | `location`, a redirect (e.g. 307 to a recording listener, see sink.ts)    |
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { KeyPair } from './pki.ts';

/** Answers requests matching `method` (all when absent) and `path` with `status`. */
export interface StatusRule {
  readonly method?: string;
  readonly path: RegExp;
  readonly status: number;
  /** Sent as `Retry-After` (429, 503). */
  readonly retryAfterSeconds?: number;
  /** Only the first `times` matching requests; all when absent. */
  readonly times?: number;
  /** Sent as `Location`: the status is then a redirect to it. */
  readonly location?: string;
}

/** Runs before a matching request is forwarded, e.g. to change the cluster under the client mid-run. */
export interface HoldRule {
  readonly method?: string;
  readonly path: RegExp;
  readonly before: () => Promise<void>;
  /** `before` runs once, for the first matching request; later ones wait for that same run. */
  readonly once?: boolean;
}

export type FaultMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'refuse' }
  | { readonly kind: 'reset-at-accept' }
  | { readonly kind: 'black-hole' }
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'reset-mid-body'; readonly afterBytes: number }
  | { readonly kind: 'certificate'; readonly name: string }
  | { readonly kind: 'status'; readonly rules: readonly StatusRule[]; readonly holds?: readonly HoldRule[] };

export type FaultKind = FaultMode['kind'];

/** One HTTP request the proxy saw (TLS-terminating modes only). */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  /** The status the client got: injected, forwarded, or 0 when the response was cut. */
  readonly status: number;
  readonly injected: boolean;
  readonly at: number;
}

export interface FaultProxyOptions {
  /** The apiserver, `https://127.0.0.1:port`. */
  readonly upstream: string;
  /** The apiserver's CA (PEM), to forward over verified TLS. */
  readonly upstreamCa: string;
  /**
   * Serving certificates by name: `trusted` is signed by the cluster's CA for 127.0.0.1 (status and
   * reset-mid-body modes); the others are what `certificate` mode presents.
   */
  readonly certificates: { readonly trusted: KeyPair } & Readonly<Record<string, KeyPair>>;
}

/** A Kubernetes Status body, as the apiserver answers errors. */
function statusBody(status: number): string {
  const reasons: Record<number, string> = {
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
  };
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `injected by the fault proxy: HTTP ${status}`,
    reason: reasons[status] ?? 'Unknown',
    code: status,
  });
}

export class FaultProxy {
  private readonly options: FaultProxyOptions;
  private readonly upstreamUrl: URL;
  private readonly server: Server;
  private readonly tlsServers = new Map<string, Server>();
  private readonly agent: HttpsAgent;
  private readonly sockets = new Set<Socket>();
  private mode: FaultMode = { kind: 'pass' };
  private listening = false;
  private matchedCounts = new Map<object, number>();
  private holdRuns = new Map<HoldRule, Promise<void>>();
  private port = 0;
  /** Connections accepted since the last reset (refuse accepts none). */
  connections = 0;
  /** HTTP requests seen since the last reset (TLS-terminating modes). */
  requests: SeenRequest[] = [];

  constructor(options: FaultProxyOptions) {
    this.options = options;
    this.upstreamUrl = new URL(options.upstream);
    this.agent = new HttpsAgent({ keepAlive: true, ca: options.upstreamCa, maxSockets: 16 });
    this.server = createServer((socket) => this.accept(socket));
  }

  /** The HTTPS server presenting the named certificate; never listening itself: raw sockets are handed to it. */
  private tlsServer(name: string): Server {
    let server = this.tlsServers.get(name);
    if (!server) {
      const certificate = this.options.certificates[name];
      if (!certificate) throw new Error(`fault proxy: no certificate named ${name}`);
      server = createHttpsServer({ ...certificate, keepAlive: true }, (req, res) => {
        this.handle(req, res).catch(() => res.destroy());
      });
      server.on('tlsClientError', () => {});
      this.tlsServers.set(name, server);
    }
    return server;
  }

  /** Starts listening on a free loopback port; the proxy begins in pass-through. */
  async start(): Promise<this> {
    await this.listen(0);
    return this;
  }

  /** The URL to put in a kubeconfig's `server`. */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get kind(): FaultKind {
    return this.mode.kind;
  }

  /** Switches mode for new connections; open connections are closed so none carries the old mode. */
  async setMode(mode: FaultMode): Promise<void> {
    this.mode = mode;
    this.matchedCounts = new Map();
    this.holdRuns = new Map();
    this.dropConnections();
    if (mode.kind === 'refuse' && this.listening) await this.unlisten();
    if (mode.kind !== 'refuse' && !this.listening) await this.listen(this.port);
  }

  /** Forgets counted connections and requests. */
  resetCounts(): void {
    this.connections = 0;
    this.requests = [];
  }

  /** Requests seen per `METHOD path`. */
  attemptsByPath(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.requests)
      counts.set(`${r.method} ${r.path}`, (counts.get(`${r.method} ${r.path}`) ?? 0) + 1);
    return counts;
  }

  async stop(): Promise<void> {
    this.dropConnections();
    if (this.listening) await this.unlisten();
    this.agent.destroy();
  }

  private async listen(port: number): Promise<void> {
    await new Promise<void>((done, fail) => {
      this.server.once('error', fail);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.removeListener('error', fail);
        const address = this.server.address();
        this.port = typeof address === 'object' && address ? address.port : port;
        done();
      });
    });
    this.listening = true;
  }

  private async unlisten(): Promise<void> {
    await new Promise<void>((done) => this.server.close(() => done()));
    this.listening = false;
  }

  private dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private accept(socket: Socket): void {
    this.connections++;
    this.track(socket);
    const mode = this.mode;
    switch (mode.kind) {
      case 'refuse':
      case 'reset-at-accept':
        socket.resetAndDestroy();
        return;
      case 'black-hole':
        // Read and drop whatever comes; never write.
        socket.on('data', () => {});
        return;
      case 'pass':
        this.pipeUpstream(socket, 0);
        return;
      case 'slow':
        this.pipeUpstream(socket, mode.delayMs);
        return;
      case 'certificate':
        this.tlsServer(mode.name).emit('connection', socket);
        return;
      case 'reset-mid-body':
      case 'status':
        this.tlsServer('trusted').emit('connection', socket);
        return;
    }
  }

  private pipeUpstream(client: Socket, delayMs: number): void {
    const upstream = connect(Number(this.upstreamUrl.port), this.upstreamUrl.hostname);
    this.track(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once('close', close);
    upstream.once('close', close);
    if (delayMs === 0) {
      client.pipe(upstream);
      upstream.pipe(client);
      return;
    }
    const delayed = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        from.pause();
        setTimeout(() => {
          if (to.destroyed) return;
          to.write(chunk);
          from.resume();
        }, delayMs);
      });
      from.once('end', () => setTimeout(() => to.end(), delayMs));
    };
    delayed(client, upstream);
    delayed(upstream, client);
  }

  private matches(rule: { method?: string; path: RegExp }, method: string, path: string): boolean {
    return (rule.method === undefined || rule.method === method) && rule.path.test(path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'https://proxy.invalid').pathname;
    const mode = this.mode;
    const record = (status: number, injected: boolean) =>
      this.requests.push({ method, path, status, injected, at: Date.now() });

    if (mode.kind === 'status') {
      for (const hold of mode.holds ?? []) {
        if (!this.matches(hold, method, path)) continue;
        if (!hold.once) {
          await hold.before();
          continue;
        }
        let running = this.holdRuns.get(hold);
        if (!running) {
          running = hold.before();
          this.holdRuns.set(hold, running);
        }
        await running;
      }
      const rule = mode.rules.find((r) => this.matches(r, method, path));
      if (rule) {
        const seen = this.matchedCounts.get(rule) ?? 0;
        this.matchedCounts.set(rule, seen + 1);
        if (rule.times === undefined || seen < rule.times) {
          req.resume();
          const body = statusBody(rule.status);
          res.writeHead(rule.status, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...(rule.retryAfterSeconds === undefined
              ? {}
              : { 'retry-after': String(rule.retryAfterSeconds) }),
            ...(rule.location === undefined ? {} : { location: rule.location }),
          });
          res.end(body);
          record(rule.status, true);
          return;
        }
      }
    }
    await this.forward(
      req,
      res,
      method,
      mode.kind === 'reset-mid-body' ? mode.afterBytes : undefined,
      record,
    );
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    cutAfter: number | undefined,
    record: (status: number, injected: boolean) => void,
  ): Promise<void> {
    return new Promise((done) => {
      const headers = { ...req.headers };
      delete headers.connection;
      const upstream = httpsRequest(
        {
          host: this.upstreamUrl.hostname,
          port: this.upstreamUrl.port,
          method,
          path: req.url,
          headers,
          agent: this.agent,
        },
        (response) => {
          if (cutAfter === undefined) {
            res.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(res);
            response.once('end', () => {
              record(response.statusCode ?? 0, false);
              done();
            });
            return;
          }
          // Headers and the first bytes of the body, then the connection dies under the client.
          res.writeHead(response.statusCode ?? 502, response.headers);
          let sent = 0;
          response.on('data', (chunk: Buffer) => {
            if (sent >= cutAfter) return;
            const part = chunk.subarray(0, cutAfter - sent);
            sent += part.length;
            res.write(part);
            if (sent >= cutAfter) {
              response.destroy();
              record(0, true);
              // Let the partial body leave, then cut the connection without a proper end.
              setTimeout(() => {
                req.socket.destroy();
                done();
              }, 20);
            }
          });
          response.once('end', () => {
            if (sent < cutAfter) {
              req.socket.destroy();
              record(0, true);
              done();
            }
          });
        },
      );
      upstream.on('error', () => {
        res.destroy();
        record(0, false);
        done();
      });
      req.pipe(upstream);
    });
  }
}
