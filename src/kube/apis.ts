/**
 * The Kubernetes APIs registration uses beyond CoreV1 (RBAC objects, admission policies, access and
 * identity reviews, the server version), all sharing one configuration with a per-request timeout and
 * an overall deadline, like `client.ts`.
 */
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  type KubeConfig,
  KubernetesObjectApi,
  VersionApi,
} from '@kubernetes/client-node';
import { KubeconfigError } from '../errors.ts';
import { type KubeClientOptions, kubeConfiguration } from './client.ts';

export interface KubeApis {
  readonly server: string;
  readonly core: CoreV1Api;
  /** Any object by apiVersion and kind (discovery cached per API group). */
  readonly objects: KubernetesObjectApi;
  readonly authorization: AuthorizationV1Api;
  readonly authentication: AuthenticationV1Api;
  readonly version: VersionApi;
}

export type KubeApisOptions = KubeClientOptions;

/** Clients for the current context of `kubeConfig`, sharing one connection pool and its timeouts. */
export function createKubeApis(kubeConfig: KubeConfig, options: KubeApisOptions): KubeApis {
  if (!kubeConfig.getCurrentCluster()) {
    throw new KubeconfigError(kubeConfig.getCurrentContext() || '(none)', 'the context names no cluster');
  }
  const { configuration, server } = kubeConfiguration(kubeConfig, options);
  return {
    server,
    core: new CoreV1Api(configuration),
    objects: new KubernetesObjectApi(configuration),
    authorization: new AuthorizationV1Api(configuration),
    authentication: new AuthenticationV1Api(configuration),
    version: new VersionApi(configuration),
  };
}
