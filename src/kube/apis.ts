/**
 * The Kubernetes APIs registration uses beyond CoreV1 (RBAC objects, admission policies, access and
 * identity reviews, the server version), all sharing one configuration with a per-request timeout and
 * an overall deadline, like `client.ts`.
 */
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  createConfiguration,
  type KubeConfig,
  KubernetesObjectApi,
  type RequestContext,
  type ResponseContext,
  ServerConfiguration,
  VersionApi,
} from '@kubernetes/client-node';
import { KubeconfigError } from '../errors.ts';

export interface KubeApis {
  readonly server: string;
  readonly core: CoreV1Api;
  /** Any object by apiVersion and kind (discovery cached per API group). */
  readonly objects: KubernetesObjectApi;
  readonly authorization: AuthorizationV1Api;
  readonly authentication: AuthenticationV1Api;
  readonly version: VersionApi;
}

export interface KubeApisOptions {
  readonly requestTimeoutMs: number;
  /** Aborts every request still running. */
  readonly signal?: AbortSignal;
}

/** Clients for the current context of `kubeConfig`. */
export function createKubeApis(kubeConfig: KubeConfig, options: KubeApisOptions): KubeApis {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster)
    throw new KubeconfigError(kubeConfig.getCurrentContext() || '(none)', 'the context names no cluster');
  const middleware = {
    pre: async (context: RequestContext) => {
      const timeout = AbortSignal.timeout(options.requestTimeoutMs);
      context.setSignal(options.signal ? AbortSignal.any([timeout, options.signal]) : timeout);
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
    server: cluster.server,
    core: new CoreV1Api(configuration),
    objects: new KubernetesObjectApi(configuration),
    authorization: new AuthorizationV1Api(configuration),
    authentication: new AuthenticationV1Api(configuration),
    version: new VersionApi(configuration),
  };
}
