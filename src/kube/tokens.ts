/**
 * Tokens of cred-courier's ServiceAccount, the two ways Kubernetes issues them:
 *
 * - TokenRequest (`kubectl create token`): a JWT bound to the ServiceAccount's UID, with an expiry. It
 *   cannot be revoked on its own; deleting the ServiceAccount revokes every token of it.
 * - a `kubernetes.io/service-account-token` Secret: the controller manager fills it with a token that
 *   does not expire, and that is revoked by deleting the Secret.
 */
import { ApiException, type CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { CredCourierError } from '../errors.ts';
import { LABELS, MANAGER } from '../kinds/metadata.ts';
import { deleteExactly } from './secrets.ts';

const isStatus = (error: unknown, code: number) => error instanceof ApiException && error.code === code;

export interface IssuedToken {
  readonly token: string;
  /** Absent for Secret-based tokens, which do not expire. */
  readonly expiresAt?: Date;
}

/** A TokenRequest token for the ServiceAccount; the apiserver may shorten the lifetime asked for. */
export async function requestServiceAccountToken(
  core: CoreV1Api,
  namespace: string,
  serviceAccount: string,
  expirationSeconds: number,
): Promise<IssuedToken> {
  const response = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
  });
  const token = response.status?.token;
  if (!token) throw new CredCourierError(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  const expiry = response.status?.expirationTimestamp;
  return { token, ...(expiry ? { expiresAt: new Date(expiry) } : {}) };
}

/**
 * Whether the token Secret is absent, this installation's token Secret for the ServiceAccount (the
 * installation is the control namespace it lives in), or something else.
 */
export async function tokenSecretState(
  core: CoreV1Api,
  namespace: string,
  name: string,
  serviceAccount: string,
): Promise<'absent' | 'ours' | 'foreign'> {
  return (await readTokenSecret(core, namespace, name, serviceAccount)).state;
}

async function readTokenSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
  serviceAccount: string,
): Promise<{ state: 'absent' | 'ours' | 'foreign'; secret?: V1Secret }> {
  try {
    const existing = await core.readNamespacedSecret({ name, namespace });
    const labels = existing.metadata?.labels ?? {};
    const installation = labels[LABELS.installation];
    const ours =
      existing.type === 'kubernetes.io/service-account-token' &&
      labels[LABELS.managedBy] === MANAGER &&
      // Absent: written before installations were labelled.
      (installation === undefined || installation === namespace) &&
      existing.metadata?.annotations?.['kubernetes.io/service-account.name'] === serviceAccount;
    return { state: ours ? 'ours' : 'foreign', secret: existing };
  } catch (error) {
    if (isStatus(error, 404)) return { state: 'absent' };
    throw error;
  }
}

/**
 * Creates the token Secret of the ServiceAccount if it is absent. Returns whether it was created.
 * @throws CredCourierError when a Secret of that name exists that is not cred-courier's token Secret.
 */
export async function ensureTokenSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
  serviceAccount: string,
  labels: Readonly<Record<string, string>>,
): Promise<boolean> {
  const state = await tokenSecretState(core, namespace, name, serviceAccount);
  if (state === 'foreign') {
    throw new CredCourierError(
      `Secret ${namespace}/${name} exists and is not cred-courier's token Secret for ${serviceAccount}; left untouched`,
    );
  }
  if (state === 'ours') return false;
  const body: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: {
      name,
      namespace,
      labels: { ...labels, [LABELS.installation]: namespace },
      annotations: { 'kubernetes.io/service-account.name': serviceAccount },
    },
  };
  await core.createNamespacedSecret({ namespace, body, fieldManager: MANAGER });
  return true;
}

/** Waits until the controller manager has put the token into the Secret, and returns it. */
export async function waitForTokenSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<IssuedToken> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const secret = await core.readNamespacedSecret({ name, namespace });
    const data = secret.data?.token;
    if (data) return { token: Buffer.from(data, 'base64').toString('utf8') };
    if (Date.now() >= deadline) {
      throw new CredCourierError(
        `Secret ${namespace}/${name} got no token within ${Math.round(timeoutMs / 1000)} s: is the controller manager's token controller running?`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Deletes the token Secret (revoking its token) if it is this installation's, with the read's uid and
 * resourceVersion as preconditions (a Secret replaced after the read is refused, 409, not deleted).
 * Returns false when it was absent or someone else's.
 */
export async function deleteTokenSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
  serviceAccount: string,
): Promise<boolean> {
  const { state, secret } = await readTokenSecret(core, namespace, name, serviceAccount);
  if (state !== 'ours') return false;
  return deleteExactly(core, namespace, name, secret?.metadata?.uid, secret?.metadata?.resourceVersion);
}
