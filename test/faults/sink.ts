/**
 * A recording listener: what a redirect's Location points at in the redirect faults. It accepts plain
 * HTTP, or TLS with a certificate the client trusts (from the cluster's own CA), so a client that
 * followed a redirect would get through and hand it the request; it records every connection and every
 * request (method, path, body size) that reaches it. The redirect faults require both lists to stay empty.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { KeyPair } from './pki.ts';

export interface SunkRequest {
  readonly method: string;
  readonly path: string;
  readonly bodyBytes: number;
  readonly authorization: boolean;
}

export class RecordingListener {
  private readonly server: Server;
  private readonly scheme: 'http' | 'https';
  private port = 0;
  /** TCP connections accepted. */
  connections = 0;
  readonly requests: SunkRequest[] = [];

  /** Plain HTTP without `certificate`; HTTPS presenting it with. */
  constructor(certificate?: KeyPair) {
    const record: Parameters<typeof createHttpServer>[1] = (req, res) => {
      let bodyBytes = 0;
      req.on('data', (chunk: Buffer) => {
        bodyBytes += chunk.length;
      });
      req.on('end', () => {
        this.requests.push({
          method: req.method ?? '',
          path: req.url ?? '',
          bodyBytes,
          authorization: req.headers.authorization !== undefined,
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    };
    this.scheme = certificate ? 'https' : 'http';
    this.server = certificate ? createHttpsServer({ ...certificate }, record) : createHttpServer(record);
    this.server.on('connection', () => {
      this.connections++;
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  /** Scheme, host and port: what a redirect's message may name. */
  get origin(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
