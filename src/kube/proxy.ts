/**
 * A cluster's connections through its forward proxy: every connection is an HTTP CONNECT tunnel through
 * the proxy, and TLS to the apiserver runs inside it with the kubeconfig's CA and client certificate, so
 * the proxy sees only the apiserver's host and port and encrypted bytes. The proxy's credentials go only
 * to the proxy (Proxy-Authorization on CONNECT), never to the apiserver.
 *
 * Failures at the proxy become `ProxyError`s naming the cluster and the proxy's origin: undici reports
 * them as socket errors, or as an aborted request whose message holds the proxy's status, which would
 * otherwise read as the apiserver's own failures.
 */
import type { ConnectionOptions } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import { type buildConnector, type Dispatcher, Pool, ProxyAgent } from 'undici';
import { type ClusterProxy, proxyAuthorization } from '../aws/proxy-credentials.ts';
import { ProxyError } from '../errors.ts';

export type KubeProxy = ClusterProxy;

/** TLS to the apiserver as client-node would set it up from the kubeconfig's current cluster and user. */
function apiserverTls(kubeConfig: KubeConfig): ConnectionOptions {
  const cluster = kubeConfig.getCurrentCluster();
  const user = kubeConfig.getCurrentUser();
  const decoded = (data: string | undefined) => (data ? Buffer.from(data, 'base64') : undefined);
  const ca = decoded(cluster?.caData);
  const cert = decoded(user?.certData);
  const key = decoded(user?.keyData);
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(cluster?.skipTLSVerify ? { rejectUnauthorized: false } : {}),
    ...(cluster?.tlsServerName ? { servername: cluster.tlsServerName } : {}),
  };
}

/** Socket errors that, with every connection going to the proxy, can only mean the proxy was not reached. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  // undici: the proxy closed the connection before answering CONNECT.
  'UND_ERR_PRX_CONN',
]);

/** undici's words for a CONNECT the proxy answered with another status than 200. */
const TUNNEL_STATUS = /^Proxy response \((\d{3})\) !== 200 when HTTP Tunneling$/;

/** The ProxyError `error` stands for, if it is a failure at the proxy; undefined for any other. */
export function proxyFailure(
  clusterName: string,
  proxy: KubeProxy,
  target: string,
  error: Error,
): ProxyError | undefined {
  const origin = new URL(proxy.url).origin;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    return new ProxyError(clusterName, 'unreachable', `the proxy ${origin} could not be reached (${code})`, {
      cause: error,
    });
  }
  const status = Number(TUNNEL_STATUS.exec(error.message)?.[1]);
  if (!status) return undefined;
  const options = { cause: error, status };
  if (status === 407) {
    const why = proxy.credentials
      ? 'it refused the credentials from proxy.credentialsSecret'
      : 'it requires credentials: name a secret in proxy.credentialsSecret';
    return new ProxyError(
      clusterName,
      'auth',
      `the proxy ${origin} answered CONNECT with 407 Proxy Authentication Required: ${why}`,
      options,
    );
  }
  if (status >= 500) {
    return new ProxyError(
      clusterName,
      'tunnel',
      `the proxy ${origin} could not open the tunnel to ${target}: CONNECT answered ${status}`,
      options,
    );
  }
  return new ProxyError(
    clusterName,
    'denied',
    `the proxy ${origin} refused the tunnel to ${target}: CONNECT answered ${status}`,
    options,
  );
}

/**
 * A connection pool for one cluster whose connections all go through `proxy`. The kubeconfig's own
 * `proxy-url` plays no part: only the registration file decides where the traffic goes.
 */
export function proxyConnectionPool(
  clusterName: string,
  proxy: KubeProxy,
  kubeConfig: KubeConfig,
): Dispatcher {
  return new ProxyAgent({
    uri: proxy.url,
    ...(proxy.credentials ? { token: proxyAuthorization(proxy.credentials) } : {}),
    requestTls: apiserverTls(kubeConfig),
    // Each connection's tunnel is opened by `connect`; its failures are renamed here, where it is known
    // that the proxy, not the apiserver, failed.
    factory: (origin, factoryOptions) => {
      const options = factoryOptions as Pool.Options;
      const connect = options.connect as buildConnector.connector;
      return new Pool(origin, {
        ...options,
        connect: (connectOptions, callback) =>
          connect(connectOptions, (error, socket) => {
            if (!error) return callback(null, socket as NonNullable<typeof socket>);
            const target = connectOptions.port
              ? `${connectOptions.hostname}:${connectOptions.port}`
              : connectOptions.hostname;
            callback(proxyFailure(clusterName, proxy, target, error) ?? error, null);
          }),
      });
    },
  });
}
