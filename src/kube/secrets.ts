/**
 * Writing and removing cred-courier's Secrets. One request per Secret in steady state, no read before
 * the write, and never a change to a Secret cred-courier does not own:
 *
 * - update: a JSON Patch whose first operations *test* the managed-by label and the type. The apiserver
 *   applies the patch atomically, so a Secret of the same name made by someone else fails the test (422)
 *   and is left exactly as it was. (Server-side apply cannot express "only if it is mine": a foreign
 *   Opaque Secret with other keys would be merged into, not refused.)
 * - create: when the Secret does not exist yet (404 on the patch), a POST; 404 there means the namespace
 *   does not exist, which is reported and never fixed by creating it.
 * - adopt (cluster opt-in): server-side apply with force, taking over every field.
 */
import {
  ApiException,
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Secret,
} from '@kubernetes/client-node';
import { MissingObjectError, OwnershipConflictError } from '../errors.ts';
import type { SecretManifest } from '../kinds/kind.ts';
import { LABELS, MANAGER } from '../kinds/metadata.ts';

export type WriteAction = 'created' | 'updated' | 'adopted';

const pointer = (...segments: string[]) =>
  `/${segments.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

/** JSON Patch: test ownership, then replace data and set our labels and annotations key by key. */
function ownedUpdatePatch(manifest: SecretManifest): object[] {
  const { labels, annotations } = manifest.metadata;
  return [
    { op: 'test', path: pointer('metadata', 'labels', LABELS.managedBy), value: MANAGER },
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

const isStatus = (error: unknown, code: number) => error instanceof ApiException && error.code === code;

export async function writeSecret(
  core: CoreV1Api,
  manifest: SecretManifest,
  options: { readonly adopt: boolean },
): Promise<WriteAction> {
  const { name, namespace } = manifest.metadata;
  const where = `Secret ${namespace}/${name}`;
  if (options.adopt) return adoptSecret(core, manifest);
  try {
    await core.patchNamespacedSecret(
      { name, namespace, body: ownedUpdatePatch(manifest), fieldManager: MANAGER },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    return 'updated';
  } catch (error) {
    if (isStatus(error, 422) || isStatus(error, 409)) {
      throw new OwnershipConflictError(
        `${where} exists and is not cred-courier's (no ${LABELS.managedBy}=${MANAGER} label, another type, or its metadata was stripped); left untouched`,
        { cause: error },
      );
    }
    if (!isStatus(error, 404)) throw error;
  }
  return createSecret(core, manifest, where);
}

async function createSecret(core: CoreV1Api, manifest: SecretManifest, where: string): Promise<WriteAction> {
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

async function adoptSecret(core: CoreV1Api, manifest: SecretManifest): Promise<WriteAction> {
  await core.patchNamespacedSecret(
    {
      name: manifest.metadata.name,
      namespace: manifest.metadata.namespace,
      body: manifest,
      fieldManager: MANAGER,
      force: true,
    },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
  return 'adopted';
}

/**
 * Deletes a Secret only if it is cred-courier's: read it, check the label, delete with the read UID and
 * resourceVersion as preconditions so a Secret replaced in between is not deleted. Returns false when
 * it was already gone or is not ours.
 */
export async function deleteOwnedSecret(core: CoreV1Api, namespace: string, name: string): Promise<boolean> {
  let secret: V1Secret;
  try {
    secret = await core.readNamespacedSecret({ name, namespace });
  } catch (error) {
    if (isStatus(error, 404)) return false;
    throw error;
  }
  if (secret.metadata?.labels?.[LABELS.managedBy] !== MANAGER) return false;
  try {
    await core.deleteNamespacedSecret({
      name,
      namespace,
      body: { preconditions: { uid: secret.metadata.uid, resourceVersion: secret.metadata.resourceVersion } },
    });
    return true;
  } catch (error) {
    if (isStatus(error, 404)) return false;
    throw error;
  }
}

/** Reads a Secret's metadata and type, or undefined when absent (for `plan` and `status`). */
export async function readSecretHead(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<{ owned: boolean; type?: string; annotations: Record<string, string> } | undefined> {
  try {
    const secret = await core.readNamespacedSecret({ name, namespace });
    return {
      owned: secret.metadata?.labels?.[LABELS.managedBy] === MANAGER,
      ...(secret.type ? { type: secret.type } : {}),
      annotations: secret.metadata?.annotations ?? {},
    };
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}
