/** Every credential kind, by id. A new kind is a folder beside `ecr/` and one line here. */
import { awsKind } from './aws/index.ts';
import { ecrKind } from './ecr/index.ts';
import type { CredentialKind, KindId } from './kind.ts';
import { s3Kind } from './s3/index.ts';

// The run treats requests and credentials as opaque values it hands back to the same kind.
// biome-ignore lint/suspicious/noExplicitAny: each kind's own types are checked where it is defined.
export type AnyKind = CredentialKind<any, any>;

export const KINDS: Readonly<Record<KindId, AnyKind>> = {
  ecr: ecrKind,
  s3: s3Kind,
  aws: awsKind,
};
