/**
 * ECR pull secrets: one `kubernetes.io/dockerconfigjson` Secret per namespace with an `auths` entry per
 * registry host, each host carrying a token of its own region.
 */
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { assumeRole, awsErrorSummary } from '../../aws/assume-role.ts';
import type { ClusterSpec } from '../../config/types.ts';
import { MintError } from '../../errors.ts';
import type { CredentialKind, KindTarget, MintDeps, Minted, RenderInput, SecretManifest } from '../kind.ts';
import { ANNOTATIONS, ownershipLabels, validityAnnotations } from '../metadata.ts';
import { ecrSessionPolicy, registryHost } from './policy.ts';

/** What one registry entry of a cluster asks to be minted. */
export interface EcrRequest {
  readonly region: string;
  readonly accountId?: string;
  readonly roleArn?: string;
  readonly repositories?: readonly string[];
}

export interface EcrCredential {
  /** The registry host ECR answered with: the minting identity's own account in the region. */
  readonly endpointHost: string;
  readonly username: string;
  readonly password: string;
}

/** ECR tokens last 12 h; an `expiresAt` outside (now, now + 13 h] is bad provider data. */
export const ECR_TOKEN_LIFETIME_MS = 12 * 3600 * 1000;
const ASSUMED_SESSION_SECONDS = 900;
/** STS's limit on a session policy's plaintext. */
const SESSION_POLICY_LIMIT = 2048;

function targets(cluster: ClusterSpec): KindTarget<EcrRequest>[] {
  const ecr = cluster.ecr;
  if (!ecr) return [];
  return [
    {
      kind: 'ecr',
      secretName: ecr.secretName,
      serviceAccounts: ecr.serviceAccounts,
      requests: ecr.registries.map((registry) => ({
        region: registry.region,
        ...(registry.accountId ? { accountId: registry.accountId } : {}),
        ...(registry.roleArn ? { roleArn: registry.roleArn } : {}),
        ...(ecr.repositories ? { repositories: ecr.repositories } : {}),
      })),
    },
  ];
}

/** The session policy a request is minted under, when it is minted under a role (always, then). */
function policyOf(request: EcrRequest): string | undefined {
  return request.roleArn ? ecrSessionPolicy({ ...request, roleArn: request.roleArn }) : undefined;
}

/**
 * A token depends on the region, the identity and the session policy only: registries of different
 * accounts reached by the same identity share one token (ECR's `registryIds` is deprecated).
 */
function scopeKey(request: EcrRequest): string {
  return JSON.stringify(['ecr', request.region, request.roleArn ?? '', policyOf(request) ?? '']);
}

async function mint(request: EcrRequest, deps: MintDeps): Promise<Minted<EcrCredential>> {
  const scope = `${request.region}${request.roleArn ? ` as ${request.roleArn}` : ''}`;
  const secrets: string[] = [];
  let client = deps.aws.ecr(request.region);
  if (request.roleArn) {
    const policy = ecrSessionPolicy({ ...request, roleArn: request.roleArn });
    if (policy.length > SESSION_POLICY_LIMIT) {
      throw new MintError(
        `the ECR session policy for ${scope} has ${policy.length} characters, over STS's ${SESSION_POLICY_LIMIT}: ` +
          'list fewer repositories, or use prefixes (team-a/*)',
      );
    }
    const session = await assumeRole(deps.aws.sts(request.region), {
      roleArn: request.roleArn,
      sessionName: `cred-courier-ecr-${request.region}`,
      policy,
      durationSeconds: ASSUMED_SESSION_SECONDS,
    });
    secrets.push(session.credentials.secretAccessKey, session.credentials.sessionToken);
    // Before GetAuthorizationToken: an SDK error about it could quote the session credentials.
    deps.registerSecrets(...secrets);
    client = deps.aws.ecr(request.region, session.credentials);
  }
  let data: { authorizationToken?: string; expiresAt?: Date; proxyEndpoint?: string } | undefined;
  try {
    data = (await client.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
  } catch (error) {
    throw new MintError(`unable to get an ECR token in ${scope}: ${awsErrorSummary(error)}`, {
      cause: error,
    });
  }
  const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (!data?.authorizationToken || separator < 1) {
    throw new MintError(`unable to get an ECR token in ${scope}: the response held no usable token`);
  }
  const username = decoded.slice(0, separator);
  const password = decoded.slice(separator + 1);
  secrets.push(password, data.authorizationToken);
  deps.registerSecrets(password, data.authorizationToken);
  return {
    value: { endpointHost: endpointHostOf(request, data.proxyEndpoint), username, password },
    expiresAt: checkedExpiry(data.expiresAt, deps, scope),
    secrets,
  };
}

function endpointHostOf(request: EcrRequest, proxyEndpoint: string | undefined): string {
  const host = proxyEndpoint?.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (host) return host;
  if (request.accountId) return registryHost(request.accountId, request.region);
  throw new MintError(`ECR in ${request.region} returned no registry endpoint; set accountId`);
}

function checkedExpiry(expiresAt: Date | undefined, deps: MintDeps, scope: string): Date {
  const now = deps.now().getTime();
  const assumed = new Date(now + ECR_TOKEN_LIFETIME_MS);
  if (!expiresAt || Number.isNaN(expiresAt.getTime())) {
    deps.warn('ECR returned no expiresAt; assuming the documented 12 h', { scope });
    return assumed;
  }
  const at = expiresAt.getTime();
  if (at <= now || at > now + ECR_TOKEN_LIFETIME_MS + 3600_000) {
    deps.warn('ECR returned an implausible expiresAt; assuming the documented 12 h', {
      scope,
      providerExpiresAt: expiresAt.toISOString(),
    });
    return assumed;
  }
  return expiresAt;
}

function render({
  cluster,
  target,
  namespace,
  credentials,
  issuedAt,
}: RenderInput<EcrRequest, EcrCredential>): SecretManifest {
  const auths: Record<string, { username: string; password: string; auth: string }> = {};
  // One token serves every account the identity can read in its region: the host comes from the
  // registry entry (its account), the token from the scope it was minted for.
  target.requests.forEach((request, index) => {
    const value = credentials[index]?.value;
    if (!value) return;
    const host = request.accountId ? registryHost(request.accountId, request.region) : value.endpointHost;
    auths[host] = {
      username: value.username,
      password: value.password,
      auth: Buffer.from(`${value.username}:${value.password}`).toString('base64'),
    };
  });
  const hosts = Object.keys(auths).sort();
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: target.secretName,
      namespace,
      labels: ownershipLabels(cluster.name, 'ecr'),
      annotations: {
        ...validityAnnotations(
          issuedAt,
          credentials.map((c) => c.expiresAt),
        ),
        [ANNOTATIONS.registries]: hosts.join(','),
      },
    },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64') },
  };
}

export const ecrKind: CredentialKind<EcrRequest, EcrCredential> = {
  id: 'ecr',
  targets,
  scopeKey,
  mint,
  render,
};
