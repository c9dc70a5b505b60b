/**
 * Role sessions for any AWS service: per grant, an STS session limited by the grant's inline session
 * policy and/or managed policies (or the role alone, with `fullRole`), probed with sts:GetCallerIdentity,
 * and written as one Opaque Secret per namespace in the forms every role session has (environment, shared
 * credentials file, credential_process).
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { awsErrorSummary } from '../../aws/assume-role.ts';
import type { ClusterSpec } from '../../config/types.ts';
import { MintError } from '../../errors.ts';
import type { CredentialKind, KindTarget, MintDeps, Minted, RenderInput, SecretManifest } from '../kind.ts';
import {
  grantWhere,
  mintRoleSession,
  type SessionCredential,
  type SessionKeys,
  scoped,
} from '../session/mint.ts';
import { renderGrantSecret } from '../session/render.ts';
import { grantTargets } from '../session/targets.ts';
import { plaintextProblem } from './policy-document.ts';
import type { AwsGrant } from './types.ts';

export interface AwsRequest {
  /** The cluster that asked first; names the session. Grants equal in scope share one session. */
  readonly cluster: string;
  readonly grant: AwsGrant;
}

function targets(cluster: ClusterSpec): KindTarget<AwsRequest>[] {
  return grantTargets('aws', cluster.name, cluster.aws ?? []);
}

/** Sessions depend on the role, how it is assumed, the region, the duration and the scope: nothing else. */
function scopeKey({ grant }: AwsRequest): string {
  const tags = Object.entries(grant.sessionTags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    'aws',
    grant.roleArn,
    grant.region,
    grant.durationSeconds,
    grant.policy ?? null,
    [...(grant.policyArns ?? [])].sort(),
    tags,
    grant.externalId ?? null,
    grant.fullRole,
  ]);
}

async function mint({ cluster, grant }: AwsRequest, deps: MintDeps): Promise<Minted<SessionCredential>> {
  const where = grantWhere(cluster, 'AWS', grant.secretName);
  // Checked when the file was read; again here so no AssumeRole is ever sent with a scope STS refuses.
  scoped(where, () => {
    const problem = plaintextProblem(grant.policy, grant.policyArns ?? []);
    if (problem !== undefined) throw new MintError(problem);
    if (!grant.fullRole && grant.policy === undefined && (grant.policyArns?.length ?? 0) === 0) {
      throw new MintError('no policy, no policyArns and no fullRole: the session would be the whole role');
    }
  });
  return mintRoleSession(
    {
      cluster,
      secretName: grant.secretName,
      label: 'AWS',
      roleArn: grant.roleArn,
      region: grant.region,
      durationSeconds: grant.durationSeconds,
      ...(grant.policy === undefined ? {} : { policy: grant.policy }),
      ...(grant.policyArns === undefined ? {} : { policyArns: grant.policyArns }),
      ...(grant.sessionTags === undefined ? {} : { tags: grant.sessionTags }),
      ...(grant.externalId === undefined ? {} : { externalId: grant.externalId }),
    },
    deps,
    (credentials, at) => probe(cluster, grant, credentials, deps, at),
  );
}

/**
 * sts:GetCallerIdentity under the new credentials: always allowed (no policy can deny it), so it proves
 * the credentials work without touching any service, and names the session in the log.
 */
async function probe(
  cluster: string,
  grant: AwsGrant,
  credentials: SessionKeys,
  deps: MintDeps,
  where: string,
): Promise<void> {
  let arn: string | undefined;
  // A client per session, closed with the probe, like the S3 probe's: kept, every grant would hold a socket.
  const sts = deps.aws.callerIdentity(grant.region, credentials);
  try {
    arn = (await sts.send(new GetCallerIdentityCommand({}))).Arn;
  } catch (error) {
    throw new MintError(
      `${where}: the new credentials do not work (sts:GetCallerIdentity: ${awsErrorSummary(error)}); not delivered`,
      { cause: error },
    );
  } finally {
    sts.destroy?.();
  }
  deps.info('AWS session probed', { cluster, grant: grant.secretName, sessionArn: arn ?? 'unknown' });
}

function render(input: RenderInput<AwsRequest, SessionCredential>): SecretManifest {
  return renderGrantSecret(input, 'aws', 'AWS', () => ({}));
}

export const awsKind: CredentialKind<AwsRequest, SessionCredential> = {
  id: 'aws',
  targets,
  scopeKey,
  mint,
  render,
};
