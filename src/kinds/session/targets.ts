/** The targets of a session kind (pure): one Secret per grant, in the grant's namespaces, one session each. */
import type { KindId, KindTarget } from '../kind.ts';
import type { SessionGrant } from './config.ts';

export function grantTargets<Grant extends SessionGrant>(
  kind: KindId,
  cluster: string,
  grants: readonly Grant[],
): KindTarget<{ readonly cluster: string; readonly grant: Grant }>[] {
  return grants.map((grant) => ({
    kind,
    secretName: grant.secretName,
    ...(grant.namespaces ? { namespaces: grant.namespaces } : {}),
    requests: [{ cluster, grant }],
    serviceAccounts: [],
  }));
}
