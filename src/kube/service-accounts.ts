/**
 * Adding and removing one entry in a ServiceAccount's `imagePullSecrets`, keeping every other entry.
 * The list is atomic for both strategic-merge and server-side apply (no merge key), so either would
 * overwrite entries other tools put there. Instead: read, and if our entry is missing, write the whole
 * list back with the read resourceVersion as a precondition; on 409 (someone wrote in between) read
 * again and retry. A ServiceAccount that does not exist is reported, never created.
 */
import {
  ApiException,
  PatchStrategy,
  setHeaderOptions,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import { MissingObjectError } from '../errors.ts';
import { MANAGER } from '../kinds/metadata.ts';
import type { CoreRequests } from './core.ts';

export type ReferenceAction = 'added' | 'present' | 'removed' | 'absent';

const MAX_ATTEMPTS = 5;

async function modifyPullSecrets(
  core: CoreRequests,
  namespace: string,
  name: string,
  change: (names: readonly string[]) => string[] | undefined,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    let account: V1ServiceAccount;
    try {
      account = await core.readNamespacedServiceAccount({ name, namespace });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) {
        throw new MissingObjectError(`ServiceAccount ${namespace}/${name} does not exist; not created`, {
          cause: error,
        });
      }
      throw error;
    }
    const current = (account.imagePullSecrets ?? []).map((ref) => ref.name ?? '');
    const next = change(current);
    if (!next) return false;
    try {
      await core.patchNamespacedServiceAccount(
        {
          name,
          namespace,
          body: {
            metadata: { resourceVersion: account.metadata?.resourceVersion },
            imagePullSecrets: next.map((entry) => ({ name: entry })),
          },
          fieldManager: MANAGER,
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return true;
    } catch (error) {
      const conflict = error instanceof ApiException && error.code === 409;
      if (!conflict || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/** Appends `secretName` to the ServiceAccount's imagePullSecrets if it is not there. */
export async function ensurePullSecretReference(
  core: CoreRequests,
  namespace: string,
  serviceAccount: string,
  secretName: string,
): Promise<ReferenceAction> {
  const changed = await modifyPullSecrets(core, namespace, serviceAccount, (names) =>
    names.includes(secretName) ? undefined : [...names, secretName],
  );
  return changed ? 'added' : 'present';
}

/** Removes `secretName` from the ServiceAccount's imagePullSecrets; a missing ServiceAccount is fine. */
export async function removePullSecretReference(
  core: CoreRequests,
  namespace: string,
  serviceAccount: string,
  secretName: string,
): Promise<ReferenceAction> {
  try {
    const changed = await modifyPullSecrets(core, namespace, serviceAccount, (names) =>
      names.includes(secretName) ? names.filter((entry) => entry !== secretName) : undefined,
    );
    return changed ? 'removed' : 'absent';
  } catch (error) {
    if (error instanceof MissingObjectError) return 'absent';
    throw error;
  }
}

/** Whether the ServiceAccount references the Secret (for `status`); undefined when it does not exist. */
export async function referencesPullSecret(
  core: CoreRequests,
  namespace: string,
  serviceAccount: string,
  secretName: string,
): Promise<boolean | undefined> {
  try {
    const account = await core.readNamespacedServiceAccount({ name: serviceAccount, namespace });
    return (account.imagePullSecrets ?? []).some((ref) => ref.name === secretName);
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}
