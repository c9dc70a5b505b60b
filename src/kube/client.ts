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
}

export function createKubeClient(kubeConfig: KubeConfig, options: KubeClientOptions): KubeClient {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const middleware = {
    pre: async (context: RequestContext) => {
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
  return { core: new CoreV1Api(configuration), server: cluster.server };
}
