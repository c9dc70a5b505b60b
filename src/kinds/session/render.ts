/**
 * The Secret of a role session (pure): one Opaque Secret per namespace holding the session in every
 * form a workload may consume — environment keys, a shared credentials file, and a `config` whose
 * `credential_process` reads the mounted JSON, so SDKs refresh from the volume without a restart.
 */
import type { ClusterSpec } from '../../config/types.ts';
import { MintError } from '../../errors.ts';
import type { KindId, Minted, RenderInput, SecretManifest } from '../kind.ts';
import { ownershipLabels, validityAnnotations } from '../metadata.ts';
import type { SessionGrant } from './config.ts';
import type { SessionCredential } from './mint.ts';

/** File names inside the Secret (and so inside the mounted volume). */
export const SESSION_SECRET_KEYS = {
  accessKeyId: 'AWS_ACCESS_KEY_ID',
  secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  sessionToken: 'AWS_SESSION_TOKEN',
  region: 'AWS_REGION',
  /** Shared-credentials INI, profile `default`. */
  credentials: 'credentials',
  /** The credential_process output: Version 1 with Expiration, so SDKs refresh before it. */
  credentialProcess: 'credential-process.json',
  /** A config file whose `default` profile runs credential_process over the mounted JSON. */
  config: 'config',
} as const;

const ini = (section: string, entries: Record<string, string>) =>
  `[${section}]\n${Object.entries(entries)
    .map(([key, value]) => `${key} = ${value}`)
    .join('\n')}\n`;

export interface SessionSecretInput {
  readonly cluster: ClusterSpec;
  readonly kind: KindId;
  readonly secretName: string;
  readonly namespace: string;
  readonly minted: Minted<SessionCredential>;
  readonly issuedAt: Date;
  /** Where Pods mount the Secret; the `config` profile's credential_process reads from it. */
  readonly mountPath: string;
  /** The kind's own annotations (what the session may do). */
  readonly annotations: Readonly<Record<string, string>>;
}

export function renderSessionSecret(input: SessionSecretInput): SecretManifest {
  const c = input.minted.value;
  const processJson = JSON.stringify({
    Version: 1,
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    SessionToken: c.sessionToken,
    Expiration: c.expiration.toISOString(),
  });
  const files: Record<string, string> = {
    [SESSION_SECRET_KEYS.accessKeyId]: c.accessKeyId,
    [SESSION_SECRET_KEYS.secretAccessKey]: c.secretAccessKey,
    [SESSION_SECRET_KEYS.sessionToken]: c.sessionToken,
    [SESSION_SECRET_KEYS.region]: c.region,
    [SESSION_SECRET_KEYS.credentials]: ini('default', {
      aws_access_key_id: c.accessKeyId,
      aws_secret_access_key: c.secretAccessKey,
      aws_session_token: c.sessionToken,
    }),
    [SESSION_SECRET_KEYS.credentialProcess]: `${processJson}\n`,
    [SESSION_SECRET_KEYS.config]: ini('default', {
      region: c.region,
      // Re-run by the SDK before Expiration; reads the file the kubelet keeps current in the volume.
      credential_process: `cat ${input.mountPath}/${SESSION_SECRET_KEYS.credentialProcess}`,
    }),
  };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: input.secretName,
      namespace: input.namespace,
      labels: ownershipLabels(input.cluster.name, input.kind),
      annotations: {
        ...validityAnnotations(input.issuedAt, [input.minted.expiresAt]),
        ...input.annotations,
      },
    },
    type: 'Opaque',
    data: Object.fromEntries(
      Object.entries(files).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    ),
  };
}

/**
 * The Secret of a grant's target (one grant, one session): the kind's `render`. `label` names the kind
 * in messages (`S3`); `annotations` are the kind's own.
 */
export function renderGrantSecret<Grant extends SessionGrant>(
  {
    cluster,
    target,
    namespace,
    credentials,
    issuedAt,
  }: RenderInput<{ readonly grant: Grant }, SessionCredential>,
  kind: KindId,
  label: string,
  annotations: (grant: Grant) => Readonly<Record<string, string>>,
): SecretManifest {
  const minted = credentials[0];
  const grant = target.requests[0]?.grant;
  if (!minted || !grant) throw new MintError(`${label} grant ${target.secretName}: nothing minted to render`);
  return renderSessionSecret({
    cluster,
    kind,
    secretName: target.secretName,
    namespace,
    minted,
    issuedAt,
    mountPath: grant.mountPath,
    annotations: annotations(grant),
  });
}
