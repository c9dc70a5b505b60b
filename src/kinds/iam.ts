/**
 * What a kind adds to the function's role at package time, from the registration file alone, in
 * CloudFormation's terms (account, region and partition stay intrinsics). `scripts/serverless-config.ts`
 * composes the kinds' parts (`src/kinds/packaging.ts`) with the statements every stack has.
 */

/** A CloudFormation value: literals, lists, mappings and intrinsic functions. */
export type Cfn = string | number | boolean | readonly Cfn[] | { readonly [key: string]: Cfn };

export interface IamStatement {
  readonly Sid: string;
  /** Deny only to keep the function's own code from the network-interface calls Lambda makes for it. */
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: readonly string[];
  readonly Resource: Cfn;
  readonly Condition?: Cfn;
}

export const sub = (text: string): Cfn => ({ 'Fn::Sub': text });

/** One kind's part of the function role. */
export interface KindIam {
  /** Roles the kind assumes: the stack allows `sts:AssumeRole` on exactly these. */
  readonly roles: readonly string[];
  /** Roles the kind assumes with session tags: the stack also allows `sts:TagSession` on these. */
  readonly taggedRoles: readonly string[];
  /** The kind's own statements (calls made as the function itself), listed first. */
  readonly statements: readonly IamStatement[];
}
