/**
 * A CoreV1 client for one cluster with what client-node lacks: a per-request timeout, a cluster-wide
 * deadline (both through the request's AbortSignal), a hook that sees every request (for counts), and
 * redirects refused at the connection: client-node's fetch follows them, which would send a Secret's
 * body and the credential again to wherever an answer's Location points.
 */
import { getCACertificates } from 'node:tls';
import {
  createConfiguration,
  HttpMethod,
  KubeConfig,
  RequestContext,
  type ResponseContext,
  ServerConfiguration,
} from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';
import { RedirectRefusedError } from '../errors.ts';
import { type CoreRequests, lightCore } from './core.ts';
import { type Deadline, deadline } from './deadline.ts';
import { type KubeProxy, proxyConnectionPool } from './proxy.ts';

export interface KubeClientOptions {
  readonly requestTimeoutMs: number;
  /** Aborts every request still running, e.g. at the cluster's deadline. */
  readonly signal?: AbortSignal;
  /** Sees each request as it leaves, e.g. `PATCH /api/v1/namespaces/a/secrets/x`. */
  readonly onRequest?: (method: string, path: string) => void;
  /** The cluster's forward proxy: every connection is a CONNECT tunnel through it (see proxy.ts). */
  readonly proxy?: KubeProxy;
}

export interface KubeClient {
  /** Delivery's CoreV1 calls, sent without client-node's API classes (`core.ts`). */
  readonly core: CoreRequests;
  readonly server: string;
  /**
   * Closes the client's connections, including connection attempts its abandoned requests left behind
   * (a server that never completes the handshake would otherwise keep one open, and a CLI process
   * alive, until undici's own connect timeout, per queued attempt).
   */
  close(): void;
}

/** A client-node configuration with the middleware above, shared by every API class of one cluster. */
export interface KubeConfiguration {
  readonly configuration: ReturnType<typeof createConfiguration>;
  readonly server: string;
  /** The same connection pool, timeouts and hook, for requests sent without client-node's API classes. */
  readonly transport: KubeTransport;
  close(): void;
}

/**
 * What a request sent without client-node's API classes (`request.ts`) needs to go out exactly as the
 * configuration's do: the cluster's one connection pool with redirects refused, the headers that
 * authenticate it (computed by client-node from the kubeconfig), its signal and the request hook.
 */
export interface KubeTransport {
  readonly server: string;
  /** Resolved once per client: the kubeconfig's credential is read when the first request leaves. */
  connection(): Promise<{
    readonly dispatcher: Dispatcher;
    readonly headers: Readonly<Record<string, string>>;
  }>;
  /**
   * A new request's signal: its own timeout, and the client's signal (the cluster's deadline). Disposed
   * when the request has ended, so nothing of it is kept until its timeout would have fired.
   */
  requestDeadline(): Deadline;
  /** What `requestDeadline` allows a request, for the connection's own timers (`core.ts`). */
  readonly requestTimeoutMs: number;
  readonly onRequest?: (method: string, path: string) => void;
}

/** Where a redirect pointed, as scheme, host and port only: its path or query could carry anything. */
function originOf(location: string | undefined, requestOrigin: string): string {
  if (!location) return 'no Location';
  try {
    const url = new URL(location, requestOrigin);
    return url.origin === 'null' ? `a ${url.protocol} URL` : url.origin;
  } catch {
    return 'an unparsable Location';
  }
}

function headerValue(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Fails a request whose answer is a redirect before fetch sees the answer, so fetch never follows it:
 * the request is not sent again anywhere, and the answer's body is not read.
 */
function refuseRedirects(clusterName: string): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const requestOrigin = String(options.origin ?? 'https://invalid');
    return dispatch(options, {
      onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
      onRequestUpgrade: (controller, statusCode, headers, socket) =>
        handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
      onResponseStart: (controller, statusCode, headers, statusMessage) => {
        if (statusCode >= 300 && statusCode < 400) {
          const target = originOf(headerValue(headers, 'location'), requestOrigin);
          controller.abort(
            new RedirectRefusedError(
              `cluster ${clusterName}: the apiserver answered HTTP ${statusCode}, a redirect to ${target}; ` +
                'redirects are never followed (the request and its credential would go there): ' +
                "point the kubeconfig's server at the apiserver itself",
              statusCode,
            ),
          );
          return;
        }
        handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
      },
      onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
      onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
      onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
    });
  };
}

/**
 * client-node sends a request without any TLS option (no CA, no client certificate) through undici's
 * global dispatcher, which cannot be wrapped per cluster; naming Node's default CAs explicitly (the same
 * trust) makes it build a connection pool of its own. Only kubeconfigs that opted into the system roots,
 * and admin kubeconfigs, get here.
 */
function withOwnConnectionPool(kubeConfig: KubeConfig): KubeConfig {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster || cluster.caData || cluster.caFile || cluster.skipTLSVerify) return kubeConfig;
  const user = kubeConfig.getCurrentUser();
  if (user?.certData || user?.certFile) return kubeConfig;
  const caData = Buffer.from(getCACertificates('default').join('\n')).toString('base64');
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: kubeConfig.clusters.map((c) => (c === cluster ? { ...c, caData } : c)),
    users: kubeConfig.users,
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.currentContext,
  });
  return copy;
}

export function kubeConfiguration(kubeConfig: KubeConfig, options: KubeClientOptions): KubeConfiguration {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const authentication = withOwnConnectionPool(kubeConfig);
  // client-node gives every request a new connection pool (undici Agent), so each request would open its
  // own TCP and TLS connection: keep the first pool and send every request to the cluster through it.
  let pool: Dispatcher | undefined;
  let dispatcher: Dispatcher | undefined;
  /** The cluster's one pool, taken from the first authenticated request context, with redirects refused. */
  const connectionPool = (context: RequestContext): Dispatcher => {
    if (!pool) {
      pool = options.proxy
        ? proxyConnectionPool(cluster.name, options.proxy, authentication)
        : context.getDispatcher();
      // Without a pool of its own, the request would go out through one that follows redirects.
      if (!pool) throw new Error(`cluster ${cluster.name}: no connection pool to refuse redirects on`);
      dispatcher = pool.compose(refuseRedirects(cluster.name));
    }
    return dispatcher as Dispatcher;
  };
  const requestDeadline = () => deadline(options.requestTimeoutMs, options.signal);
  const middleware = {
    pre: async (context: RequestContext) => {
      context.setDispatcher(connectionPool(context));
      // client-node's API classes give no hook once a request has ended: this one is released when its
      // timeout fires (registration and checks, not delivery, send through them).
      context.setSignal(requestDeadline().signal);
      options.onRequest?.(context.getHttpMethod().toString(), new URL(context.getUrl()).pathname);
      return context;
    },
    post: async (context: ResponseContext) => context,
  };
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: authentication },
    promiseMiddleware: [middleware],
  });
  let connection: ReturnType<KubeTransport['connection']> | undefined;
  const transport: KubeTransport = {
    server: cluster.server,
    // client-node's own authentication of a request context: TLS options, token, exec plugin or client
    // certificate, exactly as for its API classes.
    connection: () => {
      connection ??= (async () => {
        const context = new RequestContext(cluster.server, HttpMethod.GET);
        await authentication.applySecurityAuthentication(context);
        return { dispatcher: connectionPool(context), headers: { ...context.getHeaders() } };
      })();
      return connection;
    },
    requestDeadline,
    requestTimeoutMs: options.requestTimeoutMs,
    ...(options.onRequest ? { onRequest: options.onRequest } : {}),
  };
  return {
    configuration,
    server: cluster.server,
    transport,
    close: () => {
      pool?.destroy().catch(() => {});
    },
  };
}

export function createKubeClient(kubeConfig: KubeConfig, options: KubeClientOptions): KubeClient {
  const { transport, server, close } = kubeConfiguration(kubeConfig, options);
  return { core: lightCore(transport), server, close };
}
