/** The `aws` part of a resolved cluster (defaults applied). */
import type { SessionGrant } from '../session/config.ts';

/**
 * One AWS grant: a role session for any AWS service, scoped by an inline session policy and/or managed
 * policies (what the session may do is their union intersected with the role's own policies), or by the
 * role alone when the grant says `fullRole`. Delivered as one Opaque Secret.
 */
export interface AwsGrant extends SessionGrant {
  /** The inline session policy as AssumeRole receives it: minified JSON. Absent: none. */
  readonly policy?: string;
  /** Managed policies the session is limited to (up to 10). */
  readonly policyArns?: readonly string[];
  /** Session tags (the role's trust policy must allow sts:TagSession). */
  readonly sessionTags?: Readonly<Record<string, string>>;
  /** The ExternalId the role's trust policy requires. */
  readonly externalId?: string;
  /** The session has the role's own policy alone: no inline policy and no policyArns, on purpose. */
  readonly fullRole: boolean;
}
