/**
 * `check`: for each registered cluster, whether its stored kubeconfig still does everything delivery
 * needs — reachable, TLS trusted, cred-courier's identity, token not expiring within 7 days, every
 * permission allowed, the secret guard active (required unless the entry sets `secretGuard: false`).
 * Reads only (the guard probe is a server-side dry run; the reviews it asks for are not stored).
 *
 * Run on the operator's machine it also warns about servers the function may not reach from where it
 * runs (src/register/server-reach.ts); run by the function itself (`check --remote`), the reachability
 * check is that answer.
 */
import pLimit from 'p-limit';
import { z } from 'zod';
import type { KubeconfigSource } from '../aws/kubeconfig-store.ts';
import { clusterProxy } from '../aws/proxy-credentials.ts';
import type { Config } from '../config/types.ts';
import { CredCourierError } from '../errors.ts';
import { describeFailure, FAILURE_CLASSES } from '../report/classify.ts';
import { Redactor } from '../report/redact.ts';
import { selectClusters } from './select.ts';
import { serverWarnings } from './server-reach.ts';
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
  /** Why the function may not reach the stored server (local checks only); not a failed check. */
  readonly warnings?: readonly string[];
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
  /** Warn about stored servers the function may not reach (a check from the operator's machine). */
  readonly serverWarnings?: boolean;
  /**
   * When the answer must be ready (the function's timeout): clusters not started 3 s before it are
   * reported as not checked, and those running are cut off, so the report of the others still returns.
   */
  readonly deadline?: Date;
}

/** Time kept back before the deadline so the report can still be returned. */
const DEADLINE_RESERVE_MS = 3_000;

export async function checkClusters(options: CheckOptions): Promise<CheckReport> {
  const redactor = options.redactor ?? new Redactor();
  const now = options.now ?? (() => new Date());
  const { settings } = options.config;
  const limit = pLimit(settings.concurrency);
  const deadlineMs = options.deadline
    ? options.deadline.getTime() - DEADLINE_RESERVE_MS
    : Number.POSITIVE_INFINITY;
  const clusters = await Promise.all(
    selectClusters(options.config, options.clusters).map((cluster) =>
      limit(async (): Promise<ClusterCheck> => {
        if (Date.now() >= deadlineMs) {
          const item: CheckItem = {
            check: 'reachability',
            status: 'fail',
            detail: `deadline: not checked: ${FAILURE_CLASSES.deadline}; check fewer clusters at a time (name them)`,
          };
          return { cluster: cluster.name, ok: false, items: [item], permissions: [] };
        }
        const clusterSignal = AbortSignal.timeout(settings.clusterDeadlineSeconds * 1000);
        const signal = Number.isFinite(deadlineMs)
          ? AbortSignal.any([clusterSignal, AbortSignal.timeout(Math.max(1, deadlineMs - Date.now()))])
          : clusterSignal;
        let access: ReturnType<typeof storedAccess>;
        try {
          const text = await options.kubeconfigs.get(cluster.name, cluster.kubeconfigSecret);
          const proxy = await clusterProxy(cluster, options.kubeconfigs, redactor);
          access = storedAccess(cluster, settings, text, redactor, signal, undefined, proxy);
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
        const server = access.kubeConfig.getCurrentCluster()?.server;
        const warnings = options.serverWarnings && server ? await serverWarnings(server) : [];
        return {
          cluster: cluster.name,
          ok: verification.ok,
          items,
          permissions: verification.permissions,
          ...(warnings.length > 0 ? { warnings } : {}),
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

const CheckItemSchema = z.object({
  check: z.string(),
  status: z.enum(['ok', 'warn', 'fail']),
  detail: z.string(),
  accepted: z.literal(true).optional(),
});

const CheckReportSchema = z.object({
  ok: z.boolean(),
  clusters: z.array(
    z.object({
      cluster: z.string(),
      ok: z.boolean(),
      items: z.array(CheckItemSchema),
      permissions: z.array(
        z.object({ permission: z.string(), allowed: z.boolean(), reason: z.string().optional() }),
      ),
      identity: z.string().optional(),
      serverVersion: z.string().optional(),
      expiresAt: z.string().optional(),
      warnings: z.array(z.string()).optional(),
    }),
  ),
});

/**
 * A check report that came from elsewhere (the function's payload), validated.
 * @throws CredCourierError naming `source` when it is not one; a delivery summary says so.
 */
export function parseCheckReport(payload: unknown, source: string): CheckReport {
  const parsed = CheckReportSchema.safeParse(payload);
  if (parsed.success) return parsed.data as CheckReport;
  const summary = payload as { secretsDelivered?: unknown } | null;
  if (typeof summary?.secretsDelivered === 'number') {
    throw new CredCourierError(
      `${source} ran a delivery instead of a check: its deployed version has no check mode. Deploy the stage again (npm run deploy) and re-run`,
    );
  }
  const problems = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
  throw new CredCourierError(
    `${source} answered with something that is not a check report (${problems.join('; ')}): deploy the stage again so the function and this CLI are the same version`,
  );
}
