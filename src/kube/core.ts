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
  const signal = transport.requestSignal();
  transport.onRequest?.(method, fullPath);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const response = await dispatcher.request({
    origin: base.origin,
    path: `${fullPath}${query}`,
    method: method as 'GET',
    headers: {
      ...headers,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' }),
    },
    ...(body === undefined ? {} : { body }),
    signal,
  });
  const text = await response.body.text();
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
  return {
    readNamespacedSecret: ({ name, namespace }) =>
      request<V1Secret>('GET', `${ns(namespace)}/secrets/${segment(name)}`),
    patchNamespacedSecret: ({ name, namespace, body, fieldManager, force }, options) =>
      request<V1Secret>('PATCH', `${ns(namespace)}/secrets/${segment(name)}`, {
        query: { fieldManager, force },
        body,
        contentType: headersOf(options)['content-type'] ?? 'application/json-patch+json',
      }),
    createNamespacedSecret: ({ namespace, body, fieldManager }) =>
      request<V1Secret>('POST', `${ns(namespace)}/secrets`, { query: { fieldManager }, body }),
    deleteNamespacedSecret: ({ name, namespace, body }) =>
      request<V1Status>('DELETE', `${ns(namespace)}/secrets/${segment(name)}`, { body }),
    readNamespacedServiceAccount: ({ name, namespace }) =>
      request<V1ServiceAccount>('GET', `${ns(namespace)}/serviceaccounts/${segment(name)}`),
    patchNamespacedServiceAccount: ({ name, namespace, body, fieldManager }, options) =>
      request<V1ServiceAccount>('PATCH', `${ns(namespace)}/serviceaccounts/${segment(name)}`, {
        query: { fieldManager },
        body,
        contentType: headersOf(options)['content-type'] ?? 'application/json-patch+json',
      }),
    readNamespacedConfigMap: ({ name, namespace }) =>
      request<V1ConfigMap>('GET', `${ns(namespace)}/configmaps/${segment(name)}`),
    createNamespacedConfigMap: ({ namespace, body, fieldManager }) =>
      request<V1ConfigMap>('POST', `${ns(namespace)}/configmaps`, { query: { fieldManager }, body }),
    replaceNamespacedConfigMap: ({ name, namespace, body, fieldManager }) =>
      request<V1ConfigMap>('PUT', `${ns(namespace)}/configmaps/${segment(name)}`, {
        query: { fieldManager },
        body,
      }),
    listNamespace: ({ labelSelector } = {}) =>
      request<V1NamespaceList>('GET', '/api/v1/namespaces', { query: { labelSelector } }),
  };
}
