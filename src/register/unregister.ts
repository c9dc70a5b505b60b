/**
 * `unregister`: take a cluster out of cred-courier, leaving nothing of cred-courier's behind.
 *
 * 1. With the stored kubeconfig (the delivery identity, which may do exactly this): every Secret
 *    cred-courier delivered there — those the config selects and those the inventory lists — is deleted
 *    and then taken out of the ServiceAccounts' imagePullSecrets, only if its labels prove it this
 *    installation's (the same helper as prune). The inventory is data anyone holding the delivery token
 *    may have written: its entries are validated, and a target known only from it is never retried
 *    with the admin kubeconfig.
 * 2. The inventory is deleted (with the admin kubeconfig; the delivery identity may only empty it).
 * 3. Unless `keepRbac`, with the admin kubeconfig: the RBAC objects, the secret guard, the token Secret,
 *    the ServiceAccount (revoking every token issued for it) and the control namespace — each by its
 *    exact name, only if labelled as this cluster's and this installation's (its control namespace), and
 *    deleted with the read's uid and resourceVersion as preconditions.
 * 4. The stored kubeconfig is scheduled for deletion (a recovery window, never forced).
 * 5. The entry leaves the registration file; other entries and comments stay byte for byte.
 *
 * A failure on the cluster stops before steps 4 and 5 (so the command can be run again), unless
 * `force` (a cluster that no longer exists).
 */
import type { KubeconfigSource } from '../aws/kubeconfig-store.ts';
import {
  type DeletionAction,
  describeOwnedSecret,
  type SecretsWriterApi,
  scheduleKubeconfigDeletion,
} from '../aws/kubeconfig-writer.ts';
import { clusterFields, type EditAction, removeCluster } from '../config/edit.ts';
import { parseConfig } from '../config/load.ts';
import type { ClusterSpec, Settings } from '../config/types.ts';
import { CredCourierError, UsageError } from '../errors.ts';
import type { KindId } from '../kinds/kind.ts';
import { LABELS, MANAGER, type Owner } from '../kinds/metadata.ts';
import { createKubeApis, type KubeApis } from '../kube/apis.ts';
import {
  type ApplicableObject,
  deleteOwnedObject,
  describeObject,
  isUnservedKind,
  listLabelled,
} from '../kube/apply.ts';
import {
  INVENTORY_NAME,
  type Inventory,
  managedNames,
  parseInventoryEntry,
  readInventory,
  writeInventory,
} from '../kube/inventory.ts';
import { type RemovalTarget, removeOwnedSecret } from '../kube/secrets.ts';
import { deleteTokenSecret } from '../kube/tokens.ts';
import { planRun, targetNamespaces } from '../plan/plan.ts';
import { classify, describeFailure } from '../report/classify.ts';
import { Redactor } from '../report/redact.ts';
import { resolveNamespaces } from '../run/connect.ts';
import type { Failure } from '../run/types.ts';
import type { AdminAccess } from './admin.ts';
import { objectName, rbacManifests, SERVICE_ACCOUNT, TOKEN_SECRET } from './rbac.ts';
import { readConfigText, writeConfigText } from './register.ts';
import { storedAccess } from './stored.ts';

export interface UnregisterOptions {
  readonly configFile: string;
  readonly cluster: string;
  /** Needed to remove RBAC and the control namespace; optional with `keepRbac`. */
  readonly admin?: AdminAccess;
  readonly keepRbac: boolean;
  readonly dryRun: boolean;
  /** Go on with Secrets Manager and the file even when the cluster could not be cleaned. */
  readonly force: boolean;
  /** Days Secrets Manager keeps the kubeconfig restorable (7-30). */
  readonly recoveryWindowDays: number;
  readonly kubeconfigs: KubeconfigSource;
  readonly secrets: SecretsWriterApi;
  readonly redactor?: Redactor;
  /** Sees each Kubernetes request as it leaves, and which identity sends it (for tests and counts). */
  readonly onKubeRequest?: (identity: 'delivery' | 'admin', method: string, path: string) => void;
}

/** `skipped`: known only from the inventory and out of the delivery identity's reach; never tried as admin. */
export type RemovalAction = 'deleted' | 'absent' | 'not-owned' | 'would-delete' | 'skipped' | 'failed';

export interface UnregisterReport {
  readonly cluster: string;
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly secrets: readonly {
    readonly kind: KindId;
    readonly namespace: string;
    readonly secretName: string;
    readonly action: RemovalAction;
    readonly failure?: Failure;
  }[];
  readonly serviceAccounts: readonly {
    readonly namespace: string;
    readonly name: string;
    readonly secretName: string;
    readonly action: 'removed' | 'absent' | 'would-remove' | 'failed';
  }[];
  /** `unknown`: never read (no working kubeconfig), so what it lists, and would be deleted, is unknown. */
  readonly inventory: 'deleted' | 'emptied' | 'absent' | 'not-owned' | 'would-delete' | 'failed' | 'unknown';
  readonly rbac: readonly {
    readonly object: string;
    readonly action: 'deleted' | 'absent' | 'foreign' | 'kept' | 'would-delete' | 'failed';
  }[];
  readonly kubeconfigSecret: {
    readonly secretId: string;
    readonly action: DeletionAction | 'would-schedule' | 'skipped';
    readonly deletionDate?: string;
  };
  readonly config: { readonly file: string; readonly action: EditAction | 'kept' };
  readonly warnings: readonly string[];
}

export async function unregisterCluster(options: UnregisterOptions): Promise<UnregisterReport> {
  const redactor = options.redactor ?? new Redactor();
  if (!options.keepRbac && !options.admin) {
    throw new UsageError(
      'removing the RBAC needs the admin kubeconfig (--kubeconfig FILE); or pass --keep-rbac to leave it (and the control namespace) in place',
    );
  }
  const text = await readConfigText(options.configFile);
  if (!clusterFields(text, options.cluster, options.configFile)) {
    // Already unregistered (or never registered): nothing to do, which is success (idempotence).
    return {
      cluster: options.cluster,
      ok: true,
      dryRun: options.dryRun,
      secrets: [],
      serviceAccounts: [],
      inventory: 'absent',
      rbac: [],
      kubeconfigSecret: { secretId: '', action: 'skipped' },
      config: { file: options.configFile, action: 'absent' },
      warnings: [`${options.configFile} has no cluster named ${options.cluster}: nothing to unregister`],
    };
  }
  const config = parseConfig(text, options.configFile);
  const spec = config.clusters.find((c) => c.name === options.cluster);
  if (!spec) throw new CredCourierError(`${options.configFile}: cluster ${options.cluster} not resolved`);
  // A kubeconfigSecret naming someone else's secret: neither used nor deleted, and nothing else removed.
  await describeOwnedSecret(options.secrets, spec.kubeconfigSecret, spec.name);
  const settings = config.settings;
  const warnings: string[] = [];
  const failureOf = (error: unknown): Failure => ({
    failureClass: classify(error),
    message: describeFailure(error, redactor),
  });
  const timeout = settings.requestTimeoutSeconds * 1000;
  const admin = options.admin
    ? createKubeApis(options.admin.kubeConfig, {
        requestTimeoutMs: timeout,
        onRequest: (method: string, path: string) => options.onKubeRequest?.('admin', method, path),
      })
    : undefined;

  // The delivery identity when it still works; the admin's otherwise.
  let worker: KubeApis | undefined;
  let inventory: Inventory | undefined;
  let clusterFailure: Failure | undefined;
  try {
    const text = await options.kubeconfigs.get(spec.name, spec.kubeconfigSecret);
    const delivery = storedAccess(spec, settings, text, redactor, undefined, (method, path) =>
      options.onKubeRequest?.('delivery', method, path),
    ).apis;
    inventory = await readInventory(delivery.core, settings.controlNamespace, managedNames(spec));
    // Only a kubeconfig that answered is worked with: one that did not leaves the cluster unread.
    worker = delivery;
  } catch (error) {
    if (admin) {
      warnings.push(
        `the stored kubeconfig does not work (${failureOf(error).message}); using the admin kubeconfig`,
      );
      worker = admin;
      inventory = await readInventory(admin.core, settings.controlNamespace, managedNames(spec)).catch(
        (inventoryError: unknown) => {
          warnings.push(
            `the inventory could not be read with the admin kubeconfig either (${failureOf(inventoryError).message}): Secrets known only from it are not listed`,
          );
          return undefined;
        },
      );
    } else {
      clusterFailure = failureOf(error);
    }
  }

  for (const entry of inventory?.ignored ?? []) {
    warnings.push(`inventory entry ${entry} ignored: not one cred-courier writes for this cluster`);
  }
  const owner: Owner = { cluster: spec.name, installation: settings.controlNamespace };
  const secrets: UnregisterReport['secrets'][number][] = [];
  const serviceAccounts: UnregisterReport['serviceAccounts'][number][] = [];
  // Only state that was read is reported: without a working kubeconfig nothing on the cluster was.
  let inventoryAction: UnregisterReport['inventory'] = worker ? 'absent' : 'unknown';
  if (!worker && options.dryRun) {
    warnings.push(
      'nothing on the cluster could be read (no working stored kubeconfig and no --kubeconfig): its inventory, and so what unregister would delete there, is unknown',
    );
  }
  if (worker) {
    try {
      await removeSecrets(worker);
    } catch (error) {
      clusterFailure = failureOf(error);
    }
    inventoryAction = await removeInventory();
  }
  const rbac = options.keepRbac ? [] : admin ? await removeRbac(admin, spec, settings) : [];
  const cleaned =
    !clusterFailure &&
    secrets.every((s) => s.action !== 'failed') &&
    serviceAccounts.every((s) => s.action !== 'failed') &&
    inventoryAction !== 'failed' &&
    rbac.every((r) => r.action !== 'failed');
  if (clusterFailure) warnings.push(`cluster: ${clusterFailure.failureClass}: ${clusterFailure.message}`);

  const proceed = cleaned || options.force;
  if (!proceed) {
    warnings.push(
      'the cluster was not fully cleaned: the stored kubeconfig and the config entry are kept (run again, or --force)',
    );
  }
  const secretId = spec.kubeconfigSecret;
  let kubeconfigSecret: UnregisterReport['kubeconfigSecret'] = { secretId, action: 'skipped' };
  if (proceed) {
    if (options.dryRun) {
      const state = await describeOwnedSecret(options.secrets, secretId, spec.name);
      kubeconfigSecret = {
        secretId,
        action: !state.exists ? 'absent' : state.deletedDate ? 'already-scheduled' : 'would-schedule',
      };
    } else {
      const result = await scheduleKubeconfigDeletion(
        options.secrets,
        secretId,
        spec.name,
        options.recoveryWindowDays,
      );
      kubeconfigSecret = {
        secretId,
        action: result.action,
        ...(result.deletionDate ? { deletionDate: result.deletionDate.toISOString() } : {}),
      };
    }
  }
  let configAction: UnregisterReport['config']['action'] = 'kept';
  if (proceed) {
    const edit = removeCluster(text, spec.name, options.configFile);
    configAction = edit.action;
    if (!options.dryRun && edit.action === 'removed') await writeConfigText(options.configFile, edit.text);
    if (edit.action === 'removed' && config.clusters.length === 1) {
      warnings.push(`${options.configFile} now lists no cluster; validation fails until one is added`);
    }
  }
  return {
    cluster: spec.name,
    ok: cleaned,
    dryRun: options.dryRun,
    secrets,
    serviceAccounts,
    inventory: inventoryAction,
    rbac,
    kubeconfigSecret,
    config: { file: options.configFile, action: configAction },
    warnings,
  };

  /** Every Secret the config selects or the inventory lists: the Secret first, then its references. */
  async function removeSecrets(apis: KubeApis): Promise<void> {
    interface Target {
      kind: KindId;
      namespace: string;
      secretName: string;
      serviceAccounts: readonly string[];
      /** Known only from the inventory, which the delivery identity can write: never done as admin. */
      inventoryOnly: boolean;
    }
    const targets = new Map<string, Target>();
    const plan = planRun(config, { clusters: [spec?.name ?? ''] });
    const ecrAccounts = spec?.ecr?.serviceAccounts ?? [];
    const namespaces = await resolveNamespaces(
      apis.core,
      spec?.namespaces ?? { names: [], exclude: [] },
    ).catch(() => [] as string[]);
    for (const { kind, target } of plan.clusters[0]?.targets ?? []) {
      for (const namespace of targetNamespaces(target, namespaces)) {
        targets.set(`${namespace}/${target.secretName}`, {
          kind: kind.id,
          namespace,
          secretName: target.secretName,
          serviceAccounts: target.serviceAccounts,
          inventoryOnly: false,
        });
      }
    }
    for (const [kind, entries] of inventory?.entries ?? []) {
      for (const entry of entries) {
        if (targets.has(entry)) continue;
        const { namespace, secretName } = parseInventoryEntry(entry);
        targets.set(entry, {
          kind: kind as KindId,
          namespace,
          secretName,
          serviceAccounts: kind === 'ecr' ? ecrAccounts : [],
          inventoryOnly: true,
        });
      }
    }
    for (const target of targets.values()) {
      const { kind, namespace, secretName } = target;
      if (target.inventoryOnly && apis === admin) {
        secrets.push({ kind, namespace, secretName, action: 'skipped' });
        warnings.push(
          `${namespace}/${secretName} (${kind}) is known only from the inventory and the stored kubeconfig does not work: not removed with the admin kubeconfig; remove it by hand if it is cred-courier's`,
        );
        continue;
      }
      try {
        await removeWith(apis, target);
      } catch (error) {
        const failure = failureOf(error);
        if (target.inventoryOnly && failure.failureClass === 'forbidden') {
          // The inventory may have been written by anyone holding the delivery token: what that identity
          // cannot reach is reported, never retried as admin, and does not hold up the unregistration.
          secrets.push({ kind, namespace, secretName, action: 'skipped', failure });
          warnings.push(
            `${namespace}/${secretName} (${kind}) is known only from the inventory and the delivery identity may not reach it: left in place (never retried with the admin kubeconfig); remove it by hand if it is cred-courier's`,
          );
          continue;
        }
        // A namespace of the config the delivery identity no longer reaches (its Role is gone): the admin may.
        if (admin && apis !== admin && !target.inventoryOnly && failure.failureClass === 'forbidden') {
          try {
            await removeWith(admin, target);
            continue;
          } catch (adminError) {
            secrets.push({ kind, namespace, secretName, action: 'failed', failure: failureOf(adminError) });
            continue;
          }
        }
        secrets.push({ kind, namespace, secretName, action: 'failed', failure });
      }
    }
  }

  /** One Secret and its references, by the rule prune uses (`removeOwnedSecret`). */
  async function removeWith(apis: KubeApis, target: RemovalTarget & { readonly kind: KindId }) {
    const removal = await removeOwnedSecret(apis.core, target, owner, { dryRun: options.dryRun });
    const { namespace, secretName } = target;
    for (const reference of removal.references) {
      serviceAccounts.push({
        namespace,
        name: reference.serviceAccount,
        secretName,
        action: reference.action,
      });
    }
    secrets.push({ kind: target.kind, namespace, secretName, action: removal.action });
  }

  async function removeInventory(): Promise<UnregisterReport['inventory']> {
    const control = settings.controlNamespace;
    const header = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: INVENTORY_NAME, namespace: control },
    };
    try {
      if (admin) {
        const action = await deleteOwnedObject(admin.objects, header, {
          dryRun: options.dryRun,
          owner: { installation: control },
        });
        if (action === 'foreign') return 'not-owned';
        return action === 'deleted' && options.dryRun ? 'would-delete' : action;
      }
      // The delivery identity may not delete it (no such permission): it empties it instead.
      if (!inventory || inventory.entries.size === 0 || !worker) return 'absent';
      if (options.dryRun) return 'would-delete';
      const empty = new Map([...inventory.entries.keys()].map((kind) => [kind as KindId, [] as string[]]));
      await writeInventory(worker.core, control, inventory, empty);
      warnings.push('the inventory was emptied, not deleted (deleting it needs --kubeconfig)');
      return 'emptied';
    } catch (error) {
      warnings.push(`inventory: ${failureOf(error).message}`);
      return 'failed';
    }
  }

  /**
   * The generated objects and any other object labelled as this cluster's (from an older config), the
   * token Secret, the ServiceAccount, then the control namespace: namespaced objects before the
   * namespace, bindings before roles.
   */
  async function removeRbac(
    apis: KubeApis,
    cluster: ClusterSpec,
    current: Settings,
  ): Promise<UnregisterReport['rbac'][number][]> {
    const results: UnregisterReport['rbac'][number][] = [];
    const control = current.controlNamespace;
    // Objects of an older config (other namespaces) are found by this installation's labels and kept
    // only under the exact names this installation gives its objects; each is verified again on delete.
    const labels = {
      [LABELS.managedBy]: MANAGER,
      [LABELS.cluster]: cluster.name,
      [LABELS.installation]: control,
    };
    const names = new Set(
      [undefined, 'list-namespaces', 'delivery', 'secret-guard'].map((suffix) => objectName(control, suffix)),
    );
    const generated = rbacManifests(cluster, current);
    for (const manifest of generated) names.add(manifest.metadata.name);
    const objects = new Map<string, Pick<ApplicableObject, 'apiVersion' | 'kind' | 'metadata'>>();
    const kinds: [string, string][] = [
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding'],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy'],
      ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
      ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
      ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
      ['rbac.authorization.k8s.io/v1', 'Role'],
    ];
    for (const [apiVersion, kind] of kinds) {
      for (const manifest of generated.filter((m) => m.kind === kind))
        objects.set(describeObject(manifest), manifest);
      try {
        for (const found of await listLabelled(apis.objects, apiVersion, kind, labels)) {
          if (names.has(found.metadata.name)) objects.set(describeObject(found), found);
        }
      } catch (error) {
        if (!isUnservedKind(error)) warnings.push(`listing ${kind}: ${failureOf(error).message}`);
      }
    }
    const ordered = [
      ...[...objects.values()].sort((a, b) => kindRank(a.kind) - kindRank(b.kind)),
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT, namespace: control } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: control } },
    ];
    if (!options.dryRun) {
      const revoked = await deleteTokenSecret(apis.core, control, TOKEN_SECRET, SERVICE_ACCOUNT).catch(
        () => false,
      );
      if (revoked) results.push({ object: `Secret ${control}/${TOKEN_SECRET}`, action: 'deleted' });
    }
    for (const object of ordered) {
      try {
        const action = await deleteOwnedObject(apis.objects, object, {
          dryRun: options.dryRun,
          owner,
        });
        results.push({
          object: describeObject(object),
          action: action === 'deleted' && options.dryRun ? 'would-delete' : action,
        });
      } catch (error) {
        if (isUnservedKind(error)) continue;
        results.push({ object: describeObject(object), action: 'failed' });
        warnings.push(`${describeObject(object)}: ${failureOf(error).message}`);
      }
    }
    return results;
  }
}

const KIND_ORDER = [
  'ValidatingAdmissionPolicyBinding',
  'ValidatingAdmissionPolicy',
  'ClusterRoleBinding',
  'ClusterRole',
  'RoleBinding',
  'Role',
];
const kindRank = (kind: string) => KIND_ORDER.indexOf(kind);
