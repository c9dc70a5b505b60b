/**
 * `cred-courier plan`: what a run would create, update, leave alone (conflict) or prune, per cluster and
 * namespace, read from the clusters without writing anything or minting any credential.
 */
import pLimit from 'p-limit';
import type { KubeconfigSource } from '../aws/kubeconfig-store.ts';
import type { Config } from '../config/types.ts';
import type { KindId } from '../kinds/kind.ts';
import { managedNames, parseInventoryEntry, readInventory } from '../kube/inventory.ts';
import { readSecretHead } from '../kube/secrets.ts';
import { referencesPullSecret } from '../kube/service-accounts.ts';
import { planRun, targetNamespaces } from '../plan/plan.ts';
import { classify, describeFailure } from '../report/classify.ts';
import { Redactor } from '../report/redact.ts';
import { connectCluster, resolveNamespaces } from './connect.ts';
import type { Failure } from './types.ts';

export type PreviewAction = 'create' | 'update' | 'adopt' | 'conflict' | 'prune';

export interface PreviewEntry {
  readonly kind: KindId;
  readonly namespace: string;
  readonly secretName: string;
  readonly action: PreviewAction;
  /** Per ServiceAccount: whether the run would add the reference, finds it present, or finds no account. */
  readonly serviceAccounts?: Readonly<Record<string, 'add' | 'present' | 'missing'>>;
}

export interface ClusterPreview {
  readonly cluster: string;
  readonly entries: readonly PreviewEntry[];
  readonly warnings: readonly string[];
  readonly failure?: Failure;
}

export interface Preview {
  readonly ok: boolean;
  /** Distinct mint scopes the run would need. */
  readonly mintCalls: number;
  readonly clusters: readonly ClusterPreview[];
}

export interface PreviewOptions {
  readonly config: Config;
  readonly clusters?: readonly string[];
  readonly kinds?: readonly KindId[];
  readonly prune?: boolean;
  readonly kubeconfigs: KubeconfigSource;
  readonly redactor?: Redactor;
}

export async function previewDelivery(options: PreviewOptions): Promise<Preview> {
  const plan = planRun(options.config, {
    ...(options.clusters ? { clusters: options.clusters } : {}),
    ...(options.kinds ? { kinds: options.kinds } : {}),
  });
  const redactor = options.redactor ?? new Redactor();
  const settings = options.config.settings;
  const limit = pLimit(settings.concurrency);
  const clusters = await Promise.all(
    plan.clusters.map((planned) =>
      limit(async (): Promise<ClusterPreview> => {
        const cluster = planned.cluster;
        const entries: PreviewEntry[] = [];
        try {
          const { client, warnings } = await connectCluster(cluster, {
            kubeconfigs: options.kubeconfigs,
            settings,
            redactor,
            signal: AbortSignal.timeout(settings.clusterDeadlineSeconds * 1000),
          });
          const core = client.core;
          const namespaces = await resolveNamespaces(core, cluster.namespaces);
          const wanted = new Set<string>();
          for (const { kind, target } of planned.targets) {
            for (const namespace of targetNamespaces(target, namespaces)) {
              wanted.add(`${kind.id}:${namespace}/${target.secretName}`);
              const head = await readSecretHead(core, namespace, target.secretName);
              const action: PreviewAction = !head
                ? 'create'
                : head.owned
                  ? 'update'
                  : cluster.adoptExistingSecrets
                    ? 'adopt'
                    : 'conflict';
              const serviceAccounts: Record<string, 'add' | 'present' | 'missing'> = {};
              for (const account of target.serviceAccounts) {
                const present = await referencesPullSecret(core, namespace, account, target.secretName);
                serviceAccounts[account] = present === undefined ? 'missing' : present ? 'present' : 'add';
              }
              entries.push({
                kind: kind.id,
                namespace,
                secretName: target.secretName,
                action,
                ...(target.serviceAccounts.length > 0 ? { serviceAccounts } : {}),
              });
            }
          }
          if (options.prune ?? true) {
            const inventory = await readInventory(core, settings.controlNamespace, managedNames(cluster));
            for (const kind of plan.kinds) {
              for (const entry of inventory.entries.get(kind) ?? []) {
                if (wanted.has(`${kind}:${entry}`)) continue;
                entries.push({ kind, ...parseInventoryEntry(entry), action: 'prune' });
              }
            }
          }
          return { cluster: cluster.name, entries, warnings };
        } catch (error) {
          const failure = { failureClass: classify(error), message: describeFailure(error, redactor) };
          return { cluster: cluster.name, entries, warnings: [], failure };
        }
      }),
    ),
  );
  return { ok: clusters.every((c) => !c.failure), mintCalls: plan.mints.length, clusters };
}
