/**
 * A minimal HTTPS client for the rig's own setup and for smoke tests that must see raw statuses.
 * Deliberately independent of @kubernetes/client-node, so the rig can check the product's client.
 */
import { request } from 'node:https';

export interface KubeResponse {
  readonly status: number;
  readonly body: string;
  json<T = unknown>(): T;
}

export async function kubeRequest(
  cluster: { readonly server: string; readonly caPem: string },
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<KubeResponse> {
  const url = new URL(path, cluster.server);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((done, fail) => {
    const req = request(
      url,
      {
        method,
        ca: cluster.caPem,
        headers: {
          accept: 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          // Node sends a DELETE body without a length (no chunking for DELETE): say how long it is.
          ...(payload === undefined
            ? {}
            : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          done({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', fail);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
