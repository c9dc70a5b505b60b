/**
 * The operator's admin kubeconfig: read with the full client-node loader (exec plugins, files, every
 * auth form an operator's machine has), used for registration only, never stored or logged.
 */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from '../errors.ts';

export interface AdminAccess {
  readonly kubeConfig: KubeConfig;
  readonly context: string;
  /** The server as the admin kubeconfig names it. */
  readonly server: string;
  /** Base64 of the CA's PEM, from certificate-authority-data or the certificate-authority file. */
  readonly caData?: string;
  readonly insecureSkipTlsVerify: boolean;
}

/**
 * Loads `file` and selects `context` (default: its current context).
 * @throws UsageError naming the file and context, never their contents.
 */
export function loadAdminKubeconfig(file: string, context?: string): AdminAccess {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(
      `admin kubeconfig ${file}: cannot be read (${typeof code === 'string' ? code : 'not a kubeconfig'})`,
      { cause: error },
    );
  }
  if (context) {
    if (!kubeConfig.getContextObject(context)) {
      throw new UsageError(
        `admin kubeconfig ${file}: no context ${JSON.stringify(context)} (contexts: ${kubeConfig.contexts.map((c) => c.name).join(', ')})`,
      );
    }
    kubeConfig.setCurrentContext(context);
  }
  const current = kubeConfig.getCurrentContext();
  const cluster = kubeConfig.getCurrentCluster();
  if (!current || !cluster) {
    throw new UsageError(`admin kubeconfig ${file}: no current context with a cluster; pass --context`);
  }
  let caData = cluster.caData;
  if (!caData && cluster.caFile) {
    try {
      caData = readFileSync(cluster.caFile).toString('base64');
    } catch (error) {
      throw new UsageError(`admin kubeconfig ${file}: cannot read the CA file ${cluster.caFile}`, {
        cause: error,
      });
    }
  }
  return {
    kubeConfig,
    context: current,
    server: cluster.server,
    ...(caData ? { caData } : {}),
    insecureSkipTlsVerify: cluster.skipTLSVerify === true,
  };
}
