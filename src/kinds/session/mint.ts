/**
 * Minting one role session for a grant (AWS): AssumeRole under the grant's scope, the secrets registered
 * with the redactor at once, a log line of the facts, then the kind's probe under the new credentials.
 * Shared by the kinds that deliver role sessions (`s3`, `aws`); each builds its own scope and probe.
 */
import { type AssumedSession, assumeRole } from '../../aws/assume-role.ts';
import { MintError } from '../../errors.ts';
import type { MintDeps, Minted } from '../kind.ts';
import { roleSessionName } from './session-name.ts';

export interface SessionCredential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly region: string;
}

export type SessionKeys = AssumedSession['credentials'];

export interface RoleSessionRequest {
  /** The cluster that asked first; names the session. */
  readonly cluster: string;
  readonly secretName: string;
  /** How messages and log lines name the kind: `S3`, `AWS`. */
  readonly label: string;
  readonly roleArn: string;
  readonly region: string;
  readonly durationSeconds: number;
  /** The inline session policy (minified JSON); absent: none. */
  readonly policy?: string;
  /** Managed policies the session is limited to (their union, intersected with the role's). */
  readonly policyArns?: readonly string[];
  readonly tags?: Readonly<Record<string, string>>;
  readonly externalId?: string;
}

/** `cluster <c>, <label> grant <secretName>`: how every message about a grant starts. */
export function grantWhere(cluster: string, label: string, secretName: string): string {
  return `cluster ${cluster}, ${label} grant ${secretName}`;
}

/** Runs `build` (pure scope building) and words what it throws as a MintError naming the grant. */
export function scoped<T>(where: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new MintError(`${where}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Assumes the role with the request's scope and probes the result with `probe` (which throws a
 * MintError when the credentials cannot do what the grant says); credentials that fail the probe are
 * never returned, so never delivered.
 */
export async function mintRoleSession(
  request: RoleSessionRequest,
  deps: MintDeps,
  probe: (credentials: SessionKeys, where: string) => Promise<void>,
): Promise<Minted<SessionCredential>> {
  const where = grantWhere(request.cluster, request.label, request.secretName);
  let session: AssumedSession;
  try {
    session = await assumeRole(deps.aws.sts(request.region), {
      roleArn: request.roleArn,
      sessionName: roleSessionName(request.cluster, request.secretName),
      ...(request.policy === undefined ? {} : { policy: request.policy }),
      ...(request.policyArns === undefined ? {} : { policyArns: request.policyArns }),
      ...(request.tags === undefined ? {} : { tags: request.tags }),
      ...(request.externalId === undefined ? {} : { externalId: request.externalId }),
      durationSeconds: request.durationSeconds,
    });
  } catch (error) {
    throw new MintError(`${where}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const { credentials } = session;
  const secrets = [credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken];
  // Before the probe: an error about it could quote the new credentials.
  deps.registerSecrets(...secrets);
  deps.info(`${request.label} session minted`, {
    cluster: request.cluster,
    grant: request.secretName,
    ...(request.policy === undefined ? {} : { policyCharacters: request.policy.length }),
    ...(request.policyArns === undefined ? {} : { policyArns: request.policyArns.length }),
    ...(session.packedPolicySize === undefined ? {} : { packedPolicySizePercent: session.packedPolicySize }),
  });
  await probe(credentials, where);
  return {
    value: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      expiration: credentials.expiration,
      region: request.region,
    },
    expiresAt: credentials.expiration,
    secrets,
  };
}
