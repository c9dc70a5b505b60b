/**
 * Writing cluster kubeconfigs into Secrets Manager, the other side of `kubeconfig-store.ts`: create the
 * secret (tagged as cred-courier's) or put a new version, read what is stored, and schedule deletion
 * with a recovery window. Messages name secrets, never their values.
 */
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
import { CredCourierError } from '../errors.ts';
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

/** Tags on every kubeconfig secret cred-courier creates. */
export function kubeconfigTags(cluster: string): { Key: string; Value: string }[] {
  return [
    { Key: 'cred-courier:cluster', Value: cluster },
    { Key: 'managed-by', Value: 'cred-courier' },
  ];
}

const errorName = (error: unknown) => (error as { name?: string } | null)?.name ?? '';

/** A stored secret's state, as far as registration cares. */
export interface StoredSecretState {
  readonly exists: boolean;
  /** Scheduled for deletion (DeleteSecret with a recovery window), restorable until then. */
  readonly deletedDate?: Date;
  readonly arn?: string;
}

/** What Secrets Manager knows about the secret, without its value. */
export async function describeStoredSecret(
  sm: SecretsWriterApi,
  secretId: string,
): Promise<StoredSecretState> {
  try {
    const described = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
    return {
      exists: true,
      ...(described.DeletedDate ? { deletedDate: described.DeletedDate } : {}),
      ...(described.ARN ? { arn: described.ARN } : {}),
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

export type StoreAction = 'created' | 'updated' | 'restored';

/**
 * Stores `text` as the current version of `secretId`: CreateSecret (tagged) when absent, otherwise
 * PutSecretValue (and the tags set again); a secret scheduled for deletion is restored first.
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
  const state = await describeStoredSecret(sm, secretId);
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
      // Created by someone else in between: store a new version below.
      if (errorName(error) !== 'ResourceExistsException') fail('create', error);
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
 */
export async function scheduleKubeconfigDeletion(
  sm: SecretsWriterApi,
  secretId: string,
  recoveryWindowDays: number,
): Promise<{ action: DeletionAction; deletionDate?: Date }> {
  const state = await describeStoredSecret(sm, secretId);
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
