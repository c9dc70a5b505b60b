/**
 * `check`: for each registered cluster, whether its stored kubeconfig still does everything delivery
 * needs — reachable, TLS trusted, cred-courier's identity, token not expiring within 7 days, every
 * permission allowed, the secret guard active (required unless the entry sets `secretGuard: false`).
 * Reads only (the guard probe is a server-side dry run).
 */
import pLimit from 'p-limit';
import type { KubeconfigSource } from '../aws/kubeconfig-store.ts';
import { clusterProxy } from '../aws/proxy-credentials.ts';
import type { Config } from '../config/types.ts';
import { describeFailure } from '../report/classify.ts';
import { Redactor } from '../report/redact.ts';
import { selectClusters } from './select.ts';
import { storedAccess } from './stored.ts';
import { type CheckItem, type PermissionResult, verifyAccess } from './verify.ts';

export interface ClusterCheck {
  readonly cluster: string;
  /** Every check ok (a warning, such as a token expiring within 7 days, makes it false). */
  readonly ok: boolean;
  readonly items: readonly CheckItem[];
  readonly permissions: readonly PermissionResult[];
  readonly identity?: string;
  readonly serverVersion?: string;
  readonly expiresAt?: string;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly clusters: readonly ClusterCheck[];
}

export interface CheckOptions {
  readonly config: Config;
  /** Cluster names; all when empty. */
  readonly clusters?: readonly string[];
  readonly kubeconfigs: KubeconfigSource;
  readonly redactor?: Redactor;
  readonly now?: () => Date;
}

export async function checkClusters(options: CheckOptions): Promise<CheckReport> {
  const redactor = options.redactor ?? new Redactor();
  const now = options.now ?? (() => new Date());
  const { settings } = options.config;
  const limit = pLimit(settings.concurrency);
  const clusters = await Promise.all(
    selectClusters(options.config, options.clusters).map((cluster) =>
      limit(async (): Promise<ClusterCheck> => {
        let access: ReturnType<typeof storedAccess>;
        try {
          const text = await options.kubeconfigs.get(cluster.name, cluster.kubeconfigSecret);
          const proxy = await clusterProxy(cluster, options.kubeconfigs, redactor);
          access = storedAccess(
            cluster,
            settings,
            text,
            redactor,
            AbortSignal.timeout(settings.clusterDeadlineSeconds * 1000),
            undefined,
            proxy,
          );
        } catch (error) {
          const item: CheckItem = {
            check: 'kubeconfig',
            status: 'fail',
            detail: describeFailure(error, redactor),
          };
          return { cluster: cluster.name, ok: false, items: [item], permissions: [] };
        }
        const verification = await verifyAccess({
          apis: access.apis,
          kubeConfig: access.kubeConfig,
          cluster,
          settings,
          redactor,
          now: now(),
          warnings: access.warnings,
        }).catch((error: unknown) => ({
          ok: false,
          items: [
            {
              check: 'reachability' as const,
              status: 'fail' as const,
              detail: describeFailure(error, redactor),
            },
          ],
          permissions: [],
        }));
        const items: CheckItem[] = [
          { check: 'kubeconfig', status: 'ok', detail: `read from ${cluster.kubeconfigSecret}` },
          ...verification.items,
        ];
        return {
          cluster: cluster.name,
          ok: verification.ok,
          items,
          permissions: verification.permissions,
          ...('identity' in verification && verification.identity ? { identity: verification.identity } : {}),
          ...('serverVersion' in verification && verification.serverVersion
            ? { serverVersion: verification.serverVersion }
            : {}),
          ...('expiresAt' in verification && verification.expiresAt
            ? { expiresAt: verification.expiresAt }
            : {}),
        };
      }),
    ),
  );
  return { ok: clusters.every((c) => c.ok), clusters };
}
