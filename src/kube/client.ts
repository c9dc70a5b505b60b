/**
 * A CoreV1 client for one cluster with what client-node lacks: a per-request timeout, a cluster-wide
 * deadline (both through the request's AbortSignal) and a hook that sees every request (for counts).
 */
import {
  CoreV1Api,
  createConfiguration,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
  ServerConfiguration,
} from '@kubernetes/client-node';

export interface KubeClientOptions {
  readonly requestTimeoutMs: number;
  /** Aborts every request still running, e.g. at the cluster's deadline. */
  readonly signal?: AbortSignal;
  /** Sees each request as it leaves, e.g. `PATCH /api/v1/namespaces/a/secrets/x`. */
  readonly onRequest?: (method: string, path: string) => void;
}

export interface KubeClient {
  readonly core: CoreV1Api;
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
  close(): void;
}

export function kubeConfiguration(kubeConfig: KubeConfig, options: KubeClientOptions): KubeConfiguration {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  // client-node gives every request a new connection pool (undici Agent), so each request would open its
  // own TCP and TLS connection: keep the first pool and send every request to the cluster through it.
  let dispatcher: ReturnType<RequestContext['getDispatcher']>;
  const middleware = {
    pre: async (context: RequestContext) => {
      dispatcher ??= context.getDispatcher();
      if (dispatcher) context.setDispatcher(dispatcher);
      const timeout = AbortSignal.timeout(options.requestTimeoutMs);
      context.setSignal(options.signal ? AbortSignal.any([timeout, options.signal]) : timeout);
      options.onRequest?.(context.getHttpMethod().toString(), new URL(context.getUrl()).pathname);
      return context;
    },
    post: async (context: ResponseContext) => context,
  };
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [middleware],
  });
  return {
    configuration,
    server: cluster.server,
    close: () => {
      (dispatcher as { destroy?: () => Promise<void> } | undefined)?.destroy?.().catch(() => {});
    },
  };
}

export function createKubeClient(kubeConfig: KubeConfig, options: KubeClientOptions): KubeClient {
  const { configuration, server, close } = kubeConfiguration(kubeConfig, options);
  return { core: new CoreV1Api(configuration), server, close };
}
