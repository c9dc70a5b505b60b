/**
 * Writing and removing cred-courier's Secrets. One request per Secret in steady state, no read before
 * the write, and never a change to a Secret cred-courier does not own:
 *
 * - update: a JSON Patch whose first operations *test* the managed-by label, the installation label and
 *   the type. The apiserver applies the patch atomically, so a Secret of the same name made by someone
 *   else, or by another installation, fails the test (422) and is left exactly as it was. (Server-side
 *   apply cannot express "only if it is mine": a foreign Opaque Secret with other keys would be merged
 *   into, not refused.) Only after a refused test is the Secret read, to say why, and a Secret written
 *   before installations were labelled (cred-courier's, this cluster's, no installation label) is taken
 *   over once by the same patch guarded by the read's uid and resourceVersion.
 * - create: when the Secret does not exist yet (404 on the patch), a POST; 404 there means the namespace
 *   does not exist, which is reported and never fixed by creating it.
 * - adopt (cluster opt-in): when the update was refused, server-side apply with force, taking over every
 *   field, unless the Secret is another installation's.
 */
import { PatchStrategy, setHeaderOptions, type V1Secret } from '@kubernetes/client-node';
import { quote } from '../config/schema.ts';
import { MissingObjectError, OwnershipConflictError } from '../errors.ts';
import type { SecretManifest } from '../kinds/kind.ts';
import { isOwnedBy, LABELS, MANAGER, type Owner } from '../kinds/metadata.ts';
import { isApiStatus } from '../report/classify.ts';
import type { CoreRequests } from './core.ts';
import { referencesPullSecret, removePullSecretReference } from './service-accounts.ts';

export type WriteAction = 'created' | 'updated' | 'adopted';

const pointer = (...segments: string[]) =>
  `/${segments.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

/**
 * JSON Patch: test ownership, then replace data and set our labels and annotations key by key. `tests`
 * are the ownership tests: the installation label, or for a Secret of an older version (no such label),
 * the uid and resourceVersion of the read that proved it cred-courier's.
 */
function ownedUpdatePatch(manifest: SecretManifest, tests: object[]): object[] {
  const { labels, annotations } = manifest.metadata;
  return [
    { op: 'test', path: pointer('metadata', 'labels', LABELS.managedBy), value: MANAGER },
    ...tests,
    { op: 'test', path: pointer('type'), value: manifest.type },
    { op: 'replace', path: '/data', value: manifest.data },
    ...Object.entries(labels).map(([key, value]) => ({
      op: 'add',
      path: pointer('metadata', 'labels', key),
      value,
    })),
    // Annotations are set one by one so other tools' annotations (GitOps trackers) survive.
    ...Object.entries(annotations).map(([key, value]) => ({
      op: 'add',
      path: pointer('metadata', 'annotations', key),
      value,
    })),
  ];
}

// A 404 counts only as the apiserver's (a Status body): a web page's 404 is not "no such Secret".
const isStatus = isApiStatus;

/** The manifest with the installation label: every object cred-courier writes says whose it is. */
function labelled(manifest: SecretManifest, owner: Owner): SecretManifest {
  const labels = { ...manifest.metadata.labels, [LABELS.installation]: owner.installation };
  return { ...manifest, metadata: { ...manifest.metadata, labels } };
}

export async function writeSecret(
  core: CoreRequests,
  rendered: SecretManifest,
  options: { readonly adopt: boolean; readonly owner: Owner },
): Promise<WriteAction> {
  const manifest = labelled(rendered, options.owner);
  const { name, namespace } = manifest.metadata;
  const where = `Secret ${namespace}/${name}`;
  const installationTest = {
    op: 'test',
    path: pointer('metadata', 'labels', LABELS.installation),
    value: options.owner.installation,
  };
  try {
    await patchOwned(core, manifest, [installationTest]);
    return 'updated';
  } catch (error) {
    if (isStatus(error, 422) || isStatus(error, 409)) {
      if (options.adopt) return adoptSecret(core, manifest, options.owner, error);
      return takeOverUnlabelled(core, manifest, options.owner, error);
    }
    if (!isStatus(error, 404)) throw error;
  }
  return createSecret(core, manifest, where);
}

async function patchOwned(core: CoreRequests, manifest: SecretManifest, tests: object[]): Promise<void> {
  const { name, namespace } = manifest.metadata;
  await core.patchNamespacedSecret(
    { name, namespace, body: ownedUpdatePatch(manifest, tests), fieldManager: MANAGER },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
}

/**
 * After a refused ownership test: reads the Secret to say whose it is. One cred-courier wrote for this
 * cluster before installations were labelled is updated (and labelled) once, only if it is still exactly
 * the object read; anything else is a conflict and left as it is.
 */
async function takeOverUnlabelled(
  core: CoreRequests,
  manifest: SecretManifest,
  owner: Owner,
  refusal: unknown,
): Promise<WriteAction> {
  const { name, namespace } = manifest.metadata;
  const where = `Secret ${namespace}/${name}`;
  const existing = await readSecretIfPresent(core, namespace, name);
  if (!existing) {
    throw new OwnershipConflictError(`${where} changed while cred-courier was updating it; left untouched`, {
      cause: refusal,
    });
  }
  const labels = existing.metadata?.labels ?? {};
  const installation = labels[LABELS.installation];
  // Every ownership test of the patch holds on this Secret: the apiserver refused the patch for another
  // reason (an admission policy or webhook, a validation), which is what the operator must see.
  if (installation === owner.installation && isOwnedBy(labels, owner) && existing.type === manifest.type)
    throw refusal;
  const legacy = installation === undefined && isOwnedBy(labels, owner) && existing.type === manifest.type;
  if (legacy && existing.metadata?.uid && existing.metadata.resourceVersion) {
    try {
      await patchOwned(core, manifest, [
        { op: 'test', path: '/metadata/uid', value: existing.metadata.uid },
        { op: 'test', path: '/metadata/resourceVersion', value: existing.metadata.resourceVersion },
      ]);
      return 'updated';
    } catch (error) {
      if (!isStatus(error, 422) && !isStatus(error, 409)) throw error;
      throw new OwnershipConflictError(
        `${where} changed while cred-courier was updating it, or its metadata was stripped; left untouched`,
        {
          cause: error,
        },
      );
    }
  }
  throw new OwnershipConflictError(
    `${where} exists and is not cred-courier's for this installation (${whoseSecret(existing, owner)}); left untouched`,
    {
      cause: refusal,
    },
  );
}

/** Why a Secret is not `owner`'s, for messages (label values quoted: anyone may have set them). */
function whoseSecret(secret: V1Secret, owner: Owner): string {
  const labels = secret.metadata?.labels ?? {};
  if (labels[LABELS.managedBy] !== MANAGER) return `no ${LABELS.managedBy}=${MANAGER} label`;
  const installation = labels[LABELS.installation];
  if (installation !== undefined && installation !== owner.installation) {
    return `it belongs to installation ${quote(installation, 63)} (${LABELS.installation})`;
  }
  if (labels[LABELS.cluster] !== owner.cluster) {
    return `it was written for cluster ${quote(labels[LABELS.cluster] ?? '', 63)}`;
  }
  return `another type (${quote(secret.type ?? '', 63)})`;
}

async function createSecret(
  core: CoreRequests,
  manifest: SecretManifest,
  where: string,
): Promise<WriteAction> {
  try {
    await core.createNamespacedSecret({
      namespace: manifest.metadata.namespace,
      body: manifest as V1Secret,
      fieldManager: MANAGER,
    });
    return 'created';
  } catch (error) {
    if (isStatus(error, 404)) {
      throw new MissingObjectError(`namespace ${manifest.metadata.namespace} does not exist; not created`, {
        cause: error,
      });
    }
    if (isStatus(error, 409)) {
      throw new OwnershipConflictError(
        `${where} appeared while cred-courier was creating it; left untouched`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

/**
 * Adoption (the cluster's opt-in): after the owned patch was refused, server-side apply with force takes
 * over every field of a Secret of that name, unless it is another installation's. The read's
 * resourceVersion goes into the applied object, so a Secret changed after the read is refused (409).
 */
async function adoptSecret(
  core: CoreRequests,
  manifest: SecretManifest,
  owner: Owner,
  refusal: unknown,
): Promise<WriteAction> {
  const { name, namespace } = manifest.metadata;
  const where = `Secret ${namespace}/${name}`;
  const existing = await readSecretIfPresent(core, namespace, name);
  if (!existing) return createSecret(core, manifest, where);
  const installation = existing.metadata?.labels?.[LABELS.installation];
  if (installation !== undefined && installation !== owner.installation) {
    throw new OwnershipConflictError(
      `${where} exists and is not cred-courier's for this installation (${whoseSecret(existing, owner)}); not adopted, left untouched`,
      { cause: refusal },
    );
  }
  try {
    await core.patchNamespacedSecret(
      {
        name,
        namespace,
        body: {
          ...manifest,
          metadata: { ...manifest.metadata, resourceVersion: existing.metadata?.resourceVersion },
        },
        fieldManager: MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  } catch (error) {
    if (!isStatus(error, 409)) throw error;
    throw new OwnershipConflictError(`${where} changed while cred-courier was adopting it; left untouched`, {
      cause: error,
    });
  }
  return 'adopted';
}

/** A Secret to remove and the ServiceAccounts whose imagePullSecrets may refer to it. */
export interface RemovalTarget {
  readonly namespace: string;
  readonly secretName: string;
  readonly serviceAccounts: readonly string[];
}

export interface Removal {
  readonly action: 'deleted' | 'absent' | 'not-owned' | 'would-delete';
  /** Only for a Secret proven `owner`'s; absent and foreign Secrets leave every reference as it is. */
  readonly references: readonly {
    readonly serviceAccount: string;
    readonly action: 'removed' | 'absent' | 'would-remove';
  }[];
}

/** Runs one request (the caller's retries and deadline); the identity by default. */
export type Requester = <T>(operation: () => Promise<T>) => Promise<T>;

/**
 * Removes one of cred-courier's Secrets, for prune and `unregister` alike: read it; unless its labels
 * prove it `owner`'s, touch nothing; delete it with the read's uid and resourceVersion as preconditions,
 * so a Secret that changed hands after the read is refused by the apiserver (409) rather than deleted;
 * only then take it out of the ServiceAccounts' imagePullSecrets. A failure after the delete leaves a
 * reference to a Secret that no longer exists, which is harmless; the reverse order could strip a
 * team's own reference.
 * @throws OwnershipConflictError when the Secret changed between the read and the delete.
 */
export async function removeOwnedSecret(
  core: CoreRequests,
  target: RemovalTarget,
  owner: Owner,
  options: { readonly dryRun: boolean; readonly request?: Requester },
): Promise<Removal> {
  const request: Requester = options.request ?? ((operation) => operation());
  const { namespace, secretName: name } = target;
  let secret: V1Secret;
  try {
    secret = await request(() => core.readNamespacedSecret({ name, namespace }));
  } catch (error) {
    if (isStatus(error, 404)) return { action: 'absent', references: [] };
    throw error;
  }
  if (!isOwnedBy(secret.metadata?.labels, owner)) return { action: 'not-owned', references: [] };
  if (options.dryRun) {
    const references: Removal['references'][number][] = [];
    for (const serviceAccount of target.serviceAccounts) {
      const present = await request(() => referencesPullSecret(core, namespace, serviceAccount, name));
      references.push({ serviceAccount, action: present ? 'would-remove' : 'absent' });
    }
    return { action: 'would-delete', references };
  }
  const deleted = await request(() =>
    deleteExactly(core, namespace, name, secret.metadata?.uid, secret.metadata?.resourceVersion),
  );
  if (!deleted) return { action: 'absent', references: [] };
  const references: Removal['references'][number][] = [];
  for (const serviceAccount of target.serviceAccounts) {
    const action = await request(() => removePullSecretReference(core, namespace, serviceAccount, name));
    references.push({ serviceAccount, action: action === 'removed' ? 'removed' : 'absent' });
  }
  return { action: 'deleted', references };
}

/**
 * Deletes the Secret only if it is still the object of `uid` at `resourceVersion` (both required: without
 * them the delete would not be tied to the read that proved ownership). False when it is gone.
 */
export async function deleteExactly(
  core: CoreRequests,
  namespace: string,
  name: string,
  uid: string | undefined,
  resourceVersion: string | undefined,
): Promise<boolean> {
  if (!uid || !resourceVersion) {
    throw new OwnershipConflictError(
      `Secret ${namespace}/${name} was read without uid or resourceVersion; not deleted`,
    );
  }
  try {
    await core.deleteNamespacedSecret({ name, namespace, body: { preconditions: { uid, resourceVersion } } });
    return true;
  } catch (error) {
    if (isStatus(error, 404)) return false;
    if (isStatus(error, 409)) {
      throw new OwnershipConflictError(
        `Secret ${namespace}/${name} changed after cred-courier read it (the apiserver refused the delete's preconditions); left untouched`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Reads a Secret's metadata and type, or undefined when absent (for `plan` and `status`). */
export async function readSecretHead(
  core: CoreRequests,
  namespace: string,
  name: string,
  owner?: Owner,
): Promise<{ owned: boolean; type?: string; annotations: Record<string, string> } | undefined> {
  const secret = await readSecretIfPresent(core, namespace, name);
  if (!secret) return undefined;
  const labels = secret.metadata?.labels;
  return {
    owned: owner ? isOwnedBy(labels, owner) : labels?.[LABELS.managedBy] === MANAGER,
    ...(secret.type ? { type: secret.type } : {}),
    annotations: secret.metadata?.annotations ?? {},
  };
}

/** The Secret as the apiserver has it now, or undefined when there is none (404). */
async function readSecretIfPresent(
  core: CoreRequests,
  namespace: string,
  name: string,
): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ name, namespace });
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}
