/**
 * Writing cluster kubeconfigs into Secrets Manager, the other side of `kubeconfig-store.ts`: create the
 * secret (tagged as cred-courier's) or put a new version, read what is stored, and schedule deletion
 * with a recovery window. Only secrets carrying cred-courier's tags for the cluster, or that it creates,
 * are written, restored, tagged or deleted: a `kubeconfigSecret` naming someone else's secret (a typo, a
 * name taken) is refused and the secret left as it is. Messages name secrets, never their values.
 */

import { createHash } from 'node:crypto';
import {
  CreateSecretCommand,
  type CreateSecretCommandOutput,
  DeleteSecretCommand,
  type DeleteSecretCommandOutput,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  PutSecretValueCommand,
  type PutSecretValueCommandOutput,
  RestoreSecretCommand,
  type RestoreSecretCommandOutput,
  TagResourceCommand,
  type TagResourceCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { CredCourierError, UsageError } from '../errors.ts';
import { awsErrorSummary } from './assume-role.ts';

/** The Secrets Manager calls registration makes. */
export interface SecretsWriterApi {
  send(command: CreateSecretCommand): Promise<CreateSecretCommandOutput>;
  send(command: PutSecretValueCommand): Promise<PutSecretValueCommandOutput>;
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
  send(command: DescribeSecretCommand): Promise<DescribeSecretCommandOutput>;
  send(command: DeleteSecretCommand): Promise<DeleteSecretCommandOutput>;
  send(command: RestoreSecretCommand): Promise<RestoreSecretCommandOutput>;
  send(command: TagResourceCommand): Promise<TagResourceCommandOutput>;
}

/** What a run needs to renew a kubeconfig: read it with its version, check ownership, put a version. */
export interface SecretsRenewalApi {
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
  send(command: DescribeSecretCommand): Promise<DescribeSecretCommandOutput>;
  send(command: PutSecretValueCommand): Promise<PutSecretValueCommandOutput>;
}

/** Only DescribeSecret: what the ownership check needs. */
interface SecretsDescribeApi {
  send(command: DescribeSecretCommand): Promise<DescribeSecretCommandOutput>;
}

const TAG_KEYS = { cluster: 'cred-courier:cluster', managedBy: 'managed-by' } as const;
const MANAGER = 'cred-courier';

/** Tags on every kubeconfig secret cred-courier creates. */
export function kubeconfigTags(cluster: string): { Key: string; Value: string }[] {
  return [
    { Key: TAG_KEYS.cluster, Value: cluster },
    { Key: TAG_KEYS.managedBy, Value: MANAGER },
  ];
}

/**
 * Thrown when `kubeconfigSecret` names a secret that is not cred-courier's kubeconfig of that cluster.
 * Nothing was written to it. A usage error: the registration file names the wrong secret.
 */
export class ForeignSecretError extends UsageError {
  readonly secretId: string;
  readonly cluster: string;
  constructor(secretId: string, cluster: string, why: string) {
    super(
      `Secrets Manager: ${secretId} (kubeconfigSecret of cluster ${cluster}) is not cred-courier's: ${why}. ` +
        `It is left as it is. Point kubeconfigSecret of ${cluster} at another name, or, if the secret is ` +
        `this cluster's kubeconfig, tag it ${TAG_KEYS.managedBy}=${MANAGER} and ${TAG_KEYS.cluster}=${cluster}`,
    );
    this.name = 'ForeignSecretError';
    this.secretId = secretId;
    this.cluster = cluster;
  }
}

const errorName = (error: unknown) => (error as { name?: string } | null)?.name ?? '';

/** A stored secret's state, as far as registration cares. */
export interface StoredSecretState {
  readonly exists: boolean;
  /** Scheduled for deletion (DeleteSecret with a recovery window), restorable until then. */
  readonly deletedDate?: Date;
  readonly arn?: string;
  /** The secret's tags (DescribeSecret returns them, also while the secret is scheduled for deletion). */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Why the secret is not cred-courier's kubeconfig of `cluster`, or undefined when it is (or is absent). */
function foreignReason(state: StoredSecretState, cluster: string): string | undefined {
  if (!state.exists) return undefined;
  const tags = state.tags ?? {};
  const manager = tags[TAG_KEYS.managedBy];
  if (manager !== MANAGER) {
    return manager === undefined
      ? `it has no ${TAG_KEYS.managedBy} tag`
      : `its ${TAG_KEYS.managedBy} tag is ${JSON.stringify(manager)}`;
  }
  const owner = tags[TAG_KEYS.cluster];
  if (owner !== cluster) {
    return owner === undefined
      ? `it has no ${TAG_KEYS.cluster} tag`
      : `it is the kubeconfig of cluster ${JSON.stringify(owner)}`;
  }
  return undefined;
}

/**
 * The secret's state when it is absent or cred-courier's kubeconfig of `cluster`.
 * @throws ForeignSecretError when it exists and is anyone else's.
 */
export async function describeOwnedSecret(
  sm: SecretsDescribeApi,
  secretId: string,
  cluster: string,
): Promise<StoredSecretState> {
  const state = await describeStoredSecret(sm, secretId);
  const reason = foreignReason(state, cluster);
  if (reason !== undefined) throw new ForeignSecretError(secretId, cluster, reason);
  return state;
}

/** What Secrets Manager knows about the secret, without its value. */
export async function describeStoredSecret(
  sm: SecretsDescribeApi,
  secretId: string,
): Promise<StoredSecretState> {
  try {
    const described = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
    const tags = Object.fromEntries(
      (described.Tags ?? []).flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? '']])),
    );
    return {
      exists: true,
      ...(described.DeletedDate ? { deletedDate: described.DeletedDate } : {}),
      ...(described.ARN ? { arn: described.ARN } : {}),
      tags,
    };
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return { exists: false };
    throw new CredCourierError(`Secrets Manager: cannot describe ${secretId}: ${awsErrorSummary(error)}`, {
      cause: error,
    });
  }
}

/** The stored kubeconfig text, or undefined when there is none (absent, or scheduled for deletion). */
export async function readStoredKubeconfig(
  sm: SecretsWriterApi,
  secretId: string,
): Promise<string | undefined> {
  try {
    const response = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
    return (
      response.SecretString ??
      (response.SecretBinary ? Buffer.from(response.SecretBinary).toString('utf8') : undefined)
    );
  } catch (error) {
    const name = errorName(error);
    if (name === 'ResourceNotFoundException' || name === 'InvalidRequestException') return undefined;
    throw new CredCourierError(`Secrets Manager: cannot read ${secretId}: ${awsErrorSummary(error)}`, {
      cause: error,
    });
  }
}

/** The current version of a stored kubeconfig, read past any cache. */
export async function readCurrentKubeconfig(
  sm: Pick<SecretsRenewalApi, 'send'>,
  secretId: string,
): Promise<{ text: string; versionId: string }> {
  let response: GetSecretValueCommandOutput;
  try {
    response = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
  } catch (error) {
    throw new CredCourierError(`Secrets Manager: cannot read ${secretId}: ${awsErrorSummary(error)}`, {
      cause: error,
    });
  }
  const text =
    response.SecretString ??
    (response.SecretBinary ? Buffer.from(response.SecretBinary).toString('utf8') : undefined);
  if (!text || !response.VersionId)
    throw new CredCourierError(`Secrets Manager: ${secretId} has no current value`);
  return { text, versionId: response.VersionId };
}

/**
 * The ClientRequestToken of the version that replaces `previousVersionId`: the same for every run that
 * renews from that version, so only the first one's PutSecretValue creates a version; Secrets Manager
 * refuses the others (same token, different value) and the secret keeps exactly one new AWSCURRENT.
 */
export function renewalRequestToken(secretId: string, previousVersionId: string): string {
  return createHash('sha256').update(`${secretId}\n${previousVersionId}`).digest('hex');
}

/** Another run renewed the same version first: its version is current, this run's token is unused. */
export class ConcurrentRenewalError extends CredCourierError {
  readonly secretId: string;
  /** The version both runs meant to create (the ClientRequestToken): the other run's, if it is current. */
  readonly versionId: string;
  constructor(secretId: string, versionId: string, options?: ErrorOptions) {
    super(
      `Secrets Manager: ${secretId} was renewed by another run at the same time; its version is current and this run's new token is not stored`,
      options,
    );
    this.name = 'ConcurrentRenewalError';
    this.secretId = secretId;
    this.versionId = versionId;
  }
}

/**
 * Stores a renewed kubeconfig as the new AWSCURRENT version of `secretId` (the previous one becomes
 * AWSPREVIOUS), only if the secret is cred-courier's kubeconfig of `cluster`: that is checked first, so
 * `renewed` (which mints the new token) runs only for an owned secret. Idempotent per previous version
 * (see `renewalRequestToken`).
 * @throws ForeignSecretError when the secret is someone else's (nothing minted, nothing written)
 * @throws ConcurrentRenewalError when another run stored its renewal of the same version first
 */
export async function putRenewedKubeconfig<T extends { readonly text: string }>(
  sm: SecretsRenewalApi,
  secretId: string,
  cluster: string,
  previousVersionId: string,
  renewed: () => Promise<T>,
): Promise<T & { versionId: string }> {
  const state = await describeOwnedSecret(sm, secretId, cluster);
  if (!state.exists || state.deletedDate) {
    throw new CredCourierError(
      `Secrets Manager: ${secretId} is missing or scheduled for deletion; not renewed`,
    );
  }
  const result = await renewed();
  const token = renewalRequestToken(secretId, previousVersionId);
  try {
    const response = await sm.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: result.text, ClientRequestToken: token }),
    );
    return { ...result, versionId: response.VersionId ?? token };
  } catch (error) {
    if (errorName(error) === 'ResourceExistsException') {
      throw new ConcurrentRenewalError(secretId, token, { cause: error });
    }
    throw new CredCourierError(
      `Secrets Manager: cannot store a new version of ${secretId}: ${awsErrorSummary(error)}`,
      { cause: error },
    );
  }
}

export type StoreAction = 'created' | 'updated' | 'restored';

/**
 * Stores `text` as the current version of `secretId`: CreateSecret (tagged) when absent, otherwise
 * PutSecretValue (and the tags set again); a secret scheduled for deletion is restored first. An existing
 * secret must carry cred-courier's tags for `cluster`, checked before any write.
 * @throws ForeignSecretError when it is someone else's (nothing written).
 */
export async function storeKubeconfig(
  sm: SecretsWriterApi,
  secretId: string,
  cluster: string,
  text: string,
): Promise<StoreAction> {
  const fail = (what: string, error: unknown): never => {
    throw new CredCourierError(`Secrets Manager: cannot ${what} ${secretId}: ${awsErrorSummary(error)}`, {
      cause: error,
    });
  };
  let state = await describeOwnedSecret(sm, secretId, cluster);
  if (!state.exists) {
    if (secretId.startsWith('arn:')) {
      throw new CredCourierError(
        `Secrets Manager: ${secretId} does not exist, and a secret cannot be created from an ARN; use a secret name as kubeconfigSecret`,
      );
    }
    try {
      await sm.send(
        new CreateSecretCommand({
          Name: secretId,
          SecretString: text,
          Description: `kubeconfig of cluster ${cluster} for cred-courier (ServiceAccount token)`,
          Tags: kubeconfigTags(cluster),
        }),
      );
      return 'created';
    } catch (error) {
      if (errorName(error) !== 'ResourceExistsException') fail('create', error);
      // Created by someone else in between: a new version only if it is cred-courier's for this cluster.
      state = await describeOwnedSecret(sm, secretId, cluster);
    }
  }
  let action: StoreAction = 'updated';
  if (state.deletedDate) {
    try {
      await sm.send(new RestoreSecretCommand({ SecretId: secretId }));
      action = 'restored';
    } catch (error) {
      fail('restore', error);
    }
  }
  try {
    await sm.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
    await sm.send(new TagResourceCommand({ SecretId: secretId, Tags: kubeconfigTags(cluster) }));
  } catch (error) {
    fail('store a new version of', error);
  }
  return action;
}

export type DeletionAction = 'scheduled' | 'already-scheduled' | 'absent';

/**
 * Schedules deletion of the secret after `recoveryWindowDays` (7-30): restorable until then, never
 * forced. Idempotent: a secret already scheduled, or absent, is reported as such.
 * @throws ForeignSecretError when the secret is not cred-courier's kubeconfig of `cluster` (not deleted).
 */
export async function scheduleKubeconfigDeletion(
  sm: SecretsWriterApi,
  secretId: string,
  cluster: string,
  recoveryWindowDays: number,
): Promise<{ action: DeletionAction; deletionDate?: Date }> {
  const state = await describeOwnedSecret(sm, secretId, cluster);
  if (!state.exists) return { action: 'absent' };
  if (state.deletedDate) return { action: 'already-scheduled' };
  try {
    const response = await sm.send(
      new DeleteSecretCommand({ SecretId: secretId, RecoveryWindowInDays: recoveryWindowDays }),
    );
    return { action: 'scheduled', ...(response.DeletionDate ? { deletionDate: response.DeletionDate } : {}) };
  } catch (error) {
    throw new CredCourierError(
      `Secrets Manager: cannot schedule deletion of ${secretId}: ${awsErrorSummary(error)}`,
      {
        cause: error,
      },
    );
  }
}
