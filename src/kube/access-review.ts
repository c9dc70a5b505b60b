/**
 * Asking the apiserver about the identity a kubeconfig carries: who it is (SelfSubjectReview), what it
 * may do (SelfSubjectAccessReview, one permission at a time) and which version serves it. None of these
 * need any permission: every authenticated identity may ask them about itself.
 */
import {
  ApiException,
  type AuthenticationV1Api,
  type AuthorizationV1Api,
  type VersionApi,
} from '@kubernetes/client-node';
import { printable } from '../config/fields.ts';

/** One permission as SelfSubjectAccessReview asks it. */
export interface AccessQuery {
  readonly verb: string;
  readonly resource: string;
  readonly group: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

export interface AccessAnswer {
  readonly allowed: boolean;
  /** The authorizer's reason or evaluation error, when it gave one. */
  readonly reason?: string;
}

/** Whether the caller may do `query`, as the apiserver's authorizers answer it. */
export async function reviewAccess(
  authorization: AuthorizationV1Api,
  query: AccessQuery,
): Promise<AccessAnswer> {
  const review = await authorization.createSelfSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {
        resourceAttributes: {
          verb: query.verb,
          resource: query.resource,
          group: query.group,
          ...(query.namespace ? { namespace: query.namespace } : {}),
          ...(query.name ? { name: query.name } : {}),
          ...(query.subresource ? { subresource: query.subresource } : {}),
        },
      },
    },
  });
  const status = review.status;
  const reason = status?.reason || status?.evaluationError;
  return { allowed: status?.allowed === true && status?.denied !== true, ...(reason ? { reason } : {}) };
}

/**
 * The username the apiserver sees, from a SelfSubjectReview (authentication.k8s.io/v1, Kubernetes
 * 1.28+); undefined when the cluster does not serve it.
 */
export async function whoAmI(authentication: AuthenticationV1Api): Promise<string | undefined> {
  try {
    const review = await authentication.createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    const username = review.status?.userInfo?.username;
    // The server's words (a client certificate's CN, a webhook's answer): shown, so escaped.
    return username === undefined ? undefined : printable(username);
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

/** The server's version (`v1.35.4`): proves reachability and TLS. */
export async function serverVersion(version: VersionApi): Promise<string> {
  const info = await version.getCode();
  return printable(info.gitVersion);
}
