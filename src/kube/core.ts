/**
 * The CoreV1 calls of delivery, prune and the inventory, as one `dispatcher.request` each on the
 * cluster's own connection pool (`client.ts`'s transport: redirects refused, the request timeout and the
 * cluster's deadline, the request hook). client-node's API classes build a WHATWG fetch request and
 * (de)serialise every model on each call, which cost several times the CPU of the request itself; here
 * the body is JSON in, JSON out. The methods keep CoreV1Api's signatures and its errors (ApiException
 * with the status, the body as text and the headers, as the failure classes read them), so the modules
 * that call them run unchanged on either.
 */
import {
  ApiException,
  type ConfigurationOptions,
  type CoreV1Api,
  type V1ConfigMap,
  type V1NamespaceList,
  type V1Secret,
  type V1ServiceAccount,
  type V1Status,
} from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';
import type { KubeTransport } from './client.ts';

/** The subset of CoreV1Api that delivery uses; a CoreV1Api is one too (registration passes its own). */
export type CoreRequests = Pick<
  CoreV1Api,
  | 'readNamespacedSecret'
  | 'patchNamespacedSecret'
  | 'createNamespacedSecret'
  | 'deleteNamespacedSecret'
  | 'readNamespacedServiceAccount'
  | 'patchNamespacedServiceAccount'
  | 'readNamespacedConfigMap'
  | 'createNamespacedConfigMap'
  | 'replaceNamespacedConfigMap'
  | 'listNamespace'
>;

type Query = Readonly<Record<string, string | boolean | undefined>>;

/** The Content-Type a caller asked for with client-node's `setHeaderOptions`, which only sets headers. */
function headersOf(options: ConfigurationOptions | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const context = { setHeaderParam: (key: string, value: string) => (headers[key.toLowerCase()] = value) };
  for (const middleware of (options as { middleware?: { pre: (c: unknown) => unknown }[] })?.middleware ?? [])
    middleware.pre(context);
  return headers;
}

const segment = encodeURIComponent;

/** How much later than a request's own timeout the connection's timers would end it. */
const CONNECTION_TIMER_MARGIN_MS = 1_000;

/**
 * A dry run is a parameter CoreV1Api takes and this client does not send: refused, so a caller asking
 * for one never makes the real write instead.
 */
function refuseDryRun(dryRun: string | undefined): void {
  if (dryRun !== undefined) throw new Error('the delivery client sends no dry runs: use CoreV1Api');
}

/**
 * The largest answer read from an apiserver. A Secret or ConfigMap is at most 1 MiB (etcd's limit) and a
 * list of 10,000 namespaces about 10 MiB; a larger answer can only be a hostile server filling the
 * function's memory, which would end the run of every other cluster with it.
 */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** The body as text, refused (and the connection dropped) once it passes MAX_RESPONSE_BYTES. */
async function boundedText(
  body: Dispatcher.ResponseData['body'],
  length: string | string[] | undefined,
  what: string,
) {
  const tooLarge = () => {
    body.destroy();
    return new Error(
      `the apiserver's answer to ${what} is larger than ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB: refused, the connection dropped`,
    );
  };
  if (Number(length) > MAX_RESPONSE_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_RESPONSE_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One request: JSON body in, parsed JSON out. A status outside 2xx becomes the ApiException client-node
 * would throw: 401 without a body, anything else with the body as text.
 */
export async function kubeRequest<T>(
  transport: KubeTransport,
  method: string,
  path: string,
  options: { readonly query?: Query; readonly body?: unknown; readonly contentType?: string } = {},
): Promise<T> {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(options.query ?? {}))
    if (value !== undefined) search.set(key, String(value));
  const query = search.size > 0 ? `?${search}` : '';
  const base = new URL(transport.server);
  const fullPath = `${base.pathname.replace(/\/$/, '')}${path}`;
  const { dispatcher, headers } = await transport.connection();
  const requestDeadline = transport.requestDeadline();
  transport.onRequest?.(method, fullPath);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  let response: Dispatcher.ResponseData;
  let text: string;
  try {
    response = await dispatcher.request({
      origin: base.origin,
      path: `${fullPath}${query}`,
      method: method as 'GET',
      headers: {
        ...headers,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' }),
      },
      ...(body === undefined ? {} : { body }),
      signal: requestDeadline.signal,
      // undici's own timers default to 300 s, and an HTTP/2 stream still open when the pool is closed at
      // the end of the cluster's turn keeps its timer, and with it the stream and its headers (the
      // credential), until it fires. A little above the request's timeout: the signal stays what ends a
      // slow request (and classifies it as a timeout).
      headersTimeout: transport.requestTimeoutMs + CONNECTION_TIMER_MARGIN_MS,
      bodyTimeout: transport.requestTimeoutMs + CONNECTION_TIMER_MARGIN_MS,
    });
    text = await boundedText(response.body, response.headers['content-length'], `${method} ${fullPath}`);
  } finally {
    requestDeadline.dispose();
  }
  if (response.statusCode >= 200 && response.statusCode < 300) return (text ? JSON.parse(text) : {}) as T;
  const responseHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers))
    if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
  if (response.statusCode === 401) throw new ApiException(401, 'Unauthorized', undefined, responseHeaders);
  throw new ApiException(response.statusCode, 'Unknown API Status Code!', text, responseHeaders);
}

export function lightCore(transport: KubeTransport): CoreRequests {
  const ns = (namespace: string) => `/api/v1/namespaces/${segment(namespace)}`;
  const request = <T>(method: string, path: string, options?: Parameters<typeof kubeRequest>[3]) =>
    kubeRequest<T>(transport, method, path, options);
  const contentType = (options: ConfigurationOptions | undefined) =>
    headersOf(options)['content-type'] ?? 'application/json-patch+json';
  return {
    readNamespacedSecret: ({ name, namespace }) =>
      request<V1Secret>('GET', `${ns(namespace)}/secrets/${segment(name)}`),
    patchNamespacedSecret: async ({ name, namespace, body, fieldManager, force, dryRun }, options) => {
      refuseDryRun(dryRun);
      return request<V1Secret>('PATCH', `${ns(namespace)}/secrets/${segment(name)}`, {
        query: { fieldManager, force },
        body,
        contentType: contentType(options),
      });
    },
    createNamespacedSecret: async ({ namespace, body, fieldManager, dryRun }) => {
      refuseDryRun(dryRun);
      return request<V1Secret>('POST', `${ns(namespace)}/secrets`, { query: { fieldManager }, body });
    },
    deleteNamespacedSecret: async ({ name, namespace, body, dryRun }) => {
      refuseDryRun(dryRun);
      return request<V1Status>('DELETE', `${ns(namespace)}/secrets/${segment(name)}`, { body });
    },
    readNamespacedServiceAccount: ({ name, namespace }) =>
      request<V1ServiceAccount>('GET', `${ns(namespace)}/serviceaccounts/${segment(name)}`),
    patchNamespacedServiceAccount: async ({ name, namespace, body, fieldManager, dryRun }, options) => {
      refuseDryRun(dryRun);
      return request<V1ServiceAccount>('PATCH', `${ns(namespace)}/serviceaccounts/${segment(name)}`, {
        query: { fieldManager },
        body,
        contentType: contentType(options),
      });
    },
    readNamespacedConfigMap: ({ name, namespace }) =>
      request<V1ConfigMap>('GET', `${ns(namespace)}/configmaps/${segment(name)}`),
    createNamespacedConfigMap: async ({ namespace, body, fieldManager, dryRun }) => {
      refuseDryRun(dryRun);
      return request<V1ConfigMap>('POST', `${ns(namespace)}/configmaps`, { query: { fieldManager }, body });
    },
    replaceNamespacedConfigMap: async ({ name, namespace, body, fieldManager, dryRun }) => {
      refuseDryRun(dryRun);
      return request<V1ConfigMap>('PUT', `${ns(namespace)}/configmaps/${segment(name)}`, {
        query: { fieldManager },
        body,
      });
    },
    listNamespace: ({ labelSelector } = {}) =>
      request<V1NamespaceList>('GET', '/api/v1/namespaces', { query: { labelSelector } }),
  };
}
