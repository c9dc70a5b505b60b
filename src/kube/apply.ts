/**
 * Create-or-update of cred-courier's own cluster objects (RBAC, the control namespace, the secret
 * guard), with the same ownership rule as its Secrets: an object of the same name without the managed-by
 * label is someone else's and is never changed. Idempotent: an object that already says what is wanted
 * is not written (`unchanged`). With `dryRun`, writes go to the apiserver as server-side dry runs, so
 * admission and RBAC escalation checks still answer, and nothing is persisted.
 */
import { ApiException, type KubernetesObject, type KubernetesObjectApi } from '@kubernetes/client-node';
import { OwnershipConflictError } from '../errors.ts';
import { isOwnedBy, LABELS, MANAGER, type Owner } from '../kinds/metadata.ts';

export type ApplyAction = 'created' | 'updated' | 'unchanged';

/** What `applyObject` takes: any object with a name and labels. */
export interface ApplicableObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

/** Kinds created when absent and otherwise left as they are (they hold nothing cred-courier decides). */
const CREATE_ONLY: ReadonlySet<string> = new Set(['Namespace', 'ServiceAccount']);
/** Kinds whose `roleRef` cannot change: a different one means delete and create. */
const IMMUTABLE_ROLE_REF: ReadonlySet<string> = new Set(['RoleBinding', 'ClusterRoleBinding']);

const isStatus = (error: unknown, code: number) => error instanceof ApiException && error.code === code;

/** `Kind namespace/name`, for messages. */
export function describeObject(object: Pick<ApplicableObject, 'kind' | 'metadata'>): string {
  const { namespace, name } = object.metadata;
  return `${object.kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

/** The fields cred-courier sets, beside metadata. */
function content(object: ApplicableObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = object;
  return rest;
}

/** JSON form of a value (typed client objects hold Dates and undefined fields). */
const plain = (value: unknown): unknown =>
  value === undefined ? undefined : JSON.parse(JSON.stringify(value));

/**
 * Whether `actual` already says everything `wanted` says. Fields the apiserver defaults (present in
 * `actual` only) do not count; lists must have the same length and match item by item.
 */
export function containsAll(actual: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(actual) &&
      actual.length === wanted.length &&
      wanted.every((item, index) => containsAll(actual[index], item))
    );
  }
  if (wanted !== null && typeof wanted === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(wanted).every(([key, value]) =>
      containsAll((actual as Record<string, unknown>)[key], value),
    );
  }
  return actual === wanted;
}

async function readOrUndefined(
  objects: KubernetesObjectApi,
  object: ApplicableObject,
): Promise<KubernetesObject | undefined> {
  try {
    return await objects.read({
      apiVersion: object.apiVersion,
      kind: object.kind,
      metadata: {
        name: object.metadata.name,
        ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
      },
    });
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/**
 * Creates `object`, or updates the existing one when it is cred-courier's and differs. Labels are merged
 * (other tools' labels stay); everything else cred-courier sets is replaced.
 * @throws OwnershipConflictError when an object of that name exists without the managed-by label
 *   (a Namespace excepted: cred-courier may use a namespace it did not create, and never deletes it).
 */
export async function applyObject(
  objects: KubernetesObjectApi,
  object: ApplicableObject,
  options: { readonly dryRun: boolean },
): Promise<ApplyAction> {
  const dryRun = options.dryRun ? 'All' : undefined;
  const existing = await readOrUndefined(objects, object);
  if (!existing) {
    await objects.create(object as KubernetesObject, undefined, dryRun, MANAGER);
    return 'created';
  }
  const labels = existing.metadata?.labels ?? {};
  if (object.kind === 'Namespace') return 'unchanged';
  if (labels[LABELS.managedBy] !== MANAGER) {
    throw new OwnershipConflictError(
      `${describeObject(object)} exists and is not cred-courier's (no ${LABELS.managedBy}=${MANAGER} label); left untouched. Delete it, or label it if it is cred-courier's`,
    );
  }
  const installation = labels[LABELS.installation];
  const wantedInstallation = object.metadata.labels?.[LABELS.installation];
  if (installation !== undefined && wantedInstallation !== undefined && installation !== wantedInstallation) {
    throw new OwnershipConflictError(
      `${describeObject(object)} belongs to another installation (${LABELS.installation}=${JSON.stringify(installation)}); left untouched`,
    );
  }
  if (CREATE_ONLY.has(object.kind)) return 'unchanged';
  const actual = plain(existing) as Record<string, unknown>;
  const sameContent = containsAll(actual, content(object));
  const sameLabels = containsAll(labels, object.metadata.labels ?? {});
  if (sameContent && sameLabels) return 'unchanged';
  if (IMMUTABLE_ROLE_REF.has(object.kind) && !containsAll(actual.roleRef, object.roleRef)) {
    // Preconditions: only the binding just read (and found cred-courier's) is deleted.
    await objects.delete(object as KubernetesObject, undefined, dryRun, undefined, undefined, 'Background', {
      ...(dryRun ? { dryRun: ['All'] } : {}),
      preconditions: exactly(existing),
    });
    if (!dryRun) {
      await objects.create(object as KubernetesObject, undefined, dryRun, MANAGER);
    }
    return 'updated';
  }
  await objects.replace(
    {
      ...object,
      metadata: {
        ...object.metadata,
        labels: { ...labels, ...object.metadata.labels },
        ...(existing.metadata?.annotations ? { annotations: existing.metadata.annotations } : {}),
        resourceVersion: existing.metadata?.resourceVersion,
      },
    } as KubernetesObject,
    undefined,
    dryRun,
    MANAGER,
  );
  return 'updated';
}

/**
 * The read object's uid and resourceVersion, as delete preconditions: the apiserver refuses (409) to
 * delete an object that was replaced or changed after the read that proved it cred-courier's.
 */
function exactly(existing: KubernetesObject): { uid: string; resourceVersion: string } {
  const { uid, resourceVersion } = existing.metadata ?? {};
  if (!uid || !resourceVersion) {
    throw new OwnershipConflictError(
      `${existing.kind} ${existing.metadata?.name ?? ''} was read without uid or resourceVersion; not deleted`,
    );
  }
  return { uid, resourceVersion };
}

/**
 * Deletes an object, found by its exact name, if it exists and its labels prove it `owner`'s (managed-by,
 * the cluster when given, the installation: `isOwnedBy`), with the read's uid and resourceVersion as
 * preconditions. Returns what happened; any other object of that name is left alone (`foreign`).
 */
export async function deleteOwnedObject(
  objects: KubernetesObjectApi,
  object: Pick<ApplicableObject, 'apiVersion' | 'kind' | 'metadata'>,
  options: {
    readonly dryRun: boolean;
    readonly owner: Pick<Owner, 'installation'> & { readonly cluster?: string };
  },
): Promise<'deleted' | 'absent' | 'foreign'> {
  const existing = await readOrUndefined(objects, object as ApplicableObject);
  if (!existing) return 'absent';
  if (!isOwnedBy(existing.metadata?.labels, options.owner)) return 'foreign';
  try {
    await objects.delete(
      object as KubernetesObject,
      undefined,
      options.dryRun ? 'All' : undefined,
      undefined,
      undefined,
      'Background',
      {
        // With a body the apiserver reads every delete option from it, the dry-run flag included.
        ...(options.dryRun ? { dryRun: ['All'] } : {}),
        preconditions: exactly(existing),
      },
    );
    return 'deleted';
  } catch (error) {
    if (isStatus(error, 404)) return 'absent';
    throw error;
  }
}

/** Objects of `kind` carrying every label of `labels`, in every namespace (namespaced kinds) or cluster-wide. */
export async function listLabelled(
  objects: KubernetesObjectApi,
  apiVersion: string,
  kind: string,
  labels: Readonly<Record<string, string>>,
): Promise<ApplicableObject[]> {
  const selector = Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  const list = await objects.list(
    apiVersion,
    kind,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    selector,
  );
  return list.items.map((item) => ({
    apiVersion,
    kind,
    metadata: {
      name: item.metadata?.name ?? '',
      ...(item.metadata?.namespace ? { namespace: item.metadata.namespace } : {}),
      labels: item.metadata?.labels ?? {},
    },
  }));
}

/** Whether the error says the cluster does not serve this kind (an API group it lacks, e.g. before 1.30). */
export function isUnservedKind(error: unknown): boolean {
  return error instanceof Error && /Unrecognized API version and kind/i.test(error.message);
}
