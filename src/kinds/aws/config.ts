/**
 * The `aws` part of the registration file: role-session grants for any AWS service. Its schema (as
 * written) and the checks that need the merged cluster (defaults applied).
 */
import { z } from 'zod';
import { expecting, flag, list, mapping, patterned, quote, showValue } from '../../config/fields.ts';
import {
  formatPath,
  type KindCheckInput,
  type Part,
  type Path,
  type Problem,
} from '../../config/problems.ts';
import {
  durationProblems,
  ecrPullSecret,
  grantListOwner,
  grantNamespacesProblems,
  type OtherSecret,
  secretNameProblems,
  sessionGrantFields,
  toSessionGrant,
} from '../session/config.ts';
import {
  MAX_POLICY_ARNS,
  minifiedPolicy,
  plaintextProblem,
  policyDocumentProblems,
  readPolicyDocument,
} from './policy-document.ts';
import type { AwsGrant } from './types.ts';

/** A managed policy ARN: customer managed (`arn:aws:iam::111122223333:policy/…`) or AWS managed (`…::aws:policy/…`). */
const POLICY_ARN = /^arn:aws[-a-z]*:iam::(?:\d{12}|aws):policy\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,128}$/;
/** STS's session tags: at most 50; keys 1-128 and values 0-256 of letters, digits, spaces and `_.:/=+-@`. */
const MAX_SESSION_TAGS = 50;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
/** ExternalId: 2-1224 of letters, digits and `_+=,.@:/-`. */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

function tagKeyProblem(key: string): string | undefined {
  if (key.length < 1 || key.length > 128) return `a tag key must be 1 to 128 characters, not ${key.length}`;
  if (!TAG_TEXT.test(key)) return 'a tag key may only contain letters, digits, spaces and _ . : / = + - @';
  if (/^aws:/i.test(key)) return "a tag key must not start with 'aws:' (reserved by AWS)";
  return undefined;
}

function tagValueProblem(value: string): string | undefined {
  if (value.length > 256) return `a tag value must be at most 256 characters, not ${value.length}`;
  if (!TAG_TEXT.test(value))
    return 'a tag value may only contain letters, digits, spaces and _ . : / = + - @';
  return undefined;
}

// Values are checked in the refinement, so one bad value does not hide the other tags' problems.
const sessionTags = z
  .record(z.string(), z.unknown(), { error: expecting('a mapping of session tag keys to values') })
  .superRefine((tags, ctx) => {
    const keys = Object.keys(tags);
    if (keys.length > MAX_SESSION_TAGS) {
      ctx.addIssue({
        code: 'custom',
        message: `expected at most ${MAX_SESSION_TAGS} session tags, got ${keys.length}`,
      });
    }
    const lower = new Map<string, string>();
    for (const key of keys) {
      const value = tags[key];
      const keyProblem = tagKeyProblem(key);
      const valueProblem =
        typeof value === 'string'
          ? tagValueProblem(value)
          : `expected a tag value (a string; quote numbers and booleans), got ${showValue(value)}`;
      if (keyProblem !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${keyProblem}, got ${quote(key)}` });
      } else if (valueProblem !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: valueProblem });
      }
      // STS compares tag keys case-insensitively: two spellings would be one tag.
      const first = lower.get(key.toLowerCase());
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `duplicate session tag ${quote(key)}: STS compares tag keys case-insensitively, and ${quote(first)} is already set`,
        });
      } else {
        lower.set(key.toLowerCase(), key);
      }
    }
  })
  .transform((tags) => tags as Record<string, string>);

/** The inline policy as written: a mapping, or JSON text; checked as an IAM policy document. */
const policyDocument = z.unknown().superRefine((value, ctx) => {
  const read = readPolicyDocument(value);
  if ('problem' in read) {
    ctx.addIssue({ code: 'custom', message: read.problem });
    return;
  }
  for (const problem of policyDocumentProblems(read.document)) {
    ctx.addIssue({ code: 'custom', path: [...problem.path], message: problem.message });
  }
});

export const AwsGrantSchema = mapping({
  ...sessionGrantFields({
    secretNameDescription:
      "Name of the Opaque Secret written into each of the grant's namespaces; unique among the cluster's Secrets (ecr.secretName, its S3 and AWS grants).",
    secretNameExample: 'orders-table',
    roleArnWhat: 'an IAM role ARN (exact, no wildcards) such as arn:aws:iam::111122223333:role/orders-reader',
    roleArnDescription:
      'Role assumed for the session; its own policy is the ceiling, the session policy and policyArns narrow it.',
    roleArnExample: 'arn:aws:iam::111122223333:role/cred-courier-orders',
    mountPathWhat: 'an absolute path such as /var/run/secrets/cred-courier/orders-table',
    mountPathExample: '/var/run/secrets/cred-courier/orders-table',
  }),
  policy: policyDocument.optional().meta({
    description:
      'Inline session policy: an IAM policy document (Version "2012-10-17", Statement with Effect, Action or NotAction, Resource or NotResource, Condition) as YAML or as JSON text. The session may do what this and policyArns allow, intersected with the role\'s own policies.',
    examples: [
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['dynamodb:GetItem', 'dynamodb:Query'],
            Resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
          },
        ],
      },
    ],
  }),
  policyArns: list(
    patterned(POLICY_ARN, 'a managed policy ARN such as arn:aws:iam::aws:policy/AmazonBedrockReadOnly'),
    'managed policy ARNs',
  )
    .max(MAX_POLICY_ARNS, { error: `expected at most ${MAX_POLICY_ARNS} managed policy ARNs (STS's limit)` })
    .optional()
    .meta({
      description: `Up to ${MAX_POLICY_ARNS} managed policies limiting the session (their union with the inline policy, intersected with the role's own policies).`,
      examples: [['arn:aws:iam::111122223333:policy/orders-read']],
    }),
  sessionTags: sessionTags.optional().meta({
    description:
      "Session tags passed to AssumeRole (at most 50; keys 1-128, values 0-256 characters). The role's trust policy must allow sts:TagSession; the function's role is granted sts:TagSession on this grant's role only.",
    examples: [{ team: 'orders' }],
  }),
  externalId: patterned(EXTERNAL_ID, 'an ExternalId of 2-1224 letters, digits and _+=,.@:/-')
    .optional()
    .meta({
      description: "The ExternalId the role's trust policy requires (sts:ExternalId condition).",
      examples: ['orders-7f3a'],
    }),
  fullRole: flag().optional().meta({
    description:
      "true: the session has the role's own policy alone (no inline policy, no policyArns). Required when neither is set, so a session is never wider than written by accident.",
    default: false,
  }),
}).meta({
  id: 'AwsGrant',
  title: 'AWS grant',
  description:
    'A role session for any AWS service (DynamoDB, SQS, Bedrock, …) scoped by a session policy and/or managed policies, delivered as one Opaque Secret (environment, credentials file and credential_process forms).',
});

export type AwsGrantEntry = z.output<typeof AwsGrantSchema>;

/** What the session's scope says: exactly one of a written scope or `fullRole: true`, within STS's size. */
function scopeProblems(grant: AwsGrantEntry, grantPath: Path): Problem[] {
  const written = grant.policy !== undefined || (grant.policyArns?.length ?? 0) > 0;
  if (!written && grant.fullRole !== true) {
    return [
      {
        path: grantPath,
        message:
          "has neither policy nor policyArns, so the session would have the role's whole policy: write the " +
          "session's scope as policy and/or policyArns, or set fullRole: true to mean the role's own policy alone",
      },
    ];
  }
  if (written && grant.fullRole === true) {
    return [
      {
        path: [...grantPath, 'fullRole'],
        message:
          'true contradicts the policy or policyArns of the grant: a session with a written scope is not the full role; remove one',
      },
    ];
  }
  const problems: Problem[] = [];
  const arns = grant.policyArns ?? [];
  arns.forEach((arn, index) => {
    const first = arns.indexOf(arn);
    if (first !== index) {
      problems.push({
        path: [...grantPath, 'policyArns', index],
        message: `duplicate policy ARN, already at policyArns[${first}]`,
      });
    }
  });
  const read = grant.policy === undefined ? undefined : readPolicyDocument(grant.policy);
  const policy = read !== undefined && 'document' in read ? minifiedPolicy(read.document) : undefined;
  const tooLong = plaintextProblem(policy, arns);
  if (tooLong !== undefined) {
    problems.push({ path: [...grantPath, policy === undefined ? 'policyArns' : 'policy'], message: tooLong });
  }
  return problems;
}

/** The cluster's S3 grants' Secrets (its own list, or the one in defaults). */
function s3Secrets(input: KindCheckInput): OtherSecret[] {
  const grants = input.cluster.s3 ?? input.defaults?.s3 ?? [];
  const owner = grantListOwner('s3', input.cluster.s3, input.at);
  return grants.map((grant, index) => ({
    name: grant.secretName,
    shownAt: formatPath([...owner, index, 'secretName']),
    what: "an S3 grant's Secret",
  }));
}

/** The AWS grants of a cluster (its own list, or the one in defaults), checked against the merged cluster. */
export function resolveAws(input: KindCheckInput): Part<AwsGrant[]> {
  const grants = input.cluster.aws ?? input.defaults?.aws ?? [];
  const owner = grantListOwner('aws', input.cluster.aws, input.at);
  const problems: Problem[] = [];
  grants.forEach((grant, index) => {
    const grantPath = [...owner, index];
    problems.push(...durationProblems(grant, grantPath, input.s3IntervalMinutes));
    problems.push(...scopeProblems(grant, grantPath));
    problems.push(...grantNamespacesProblems(grant, grantPath, input));
  });
  problems.push(...secretNameProblems(grants, owner, 'AWS', [ecrPullSecret(input), ...s3Secrets(input)]));
  if (problems.length > 0) return { problems };
  return { value: grants.map(toAwsGrant), problems };
}

function toAwsGrant(entry: AwsGrantEntry): AwsGrant {
  const read = entry.policy === undefined ? undefined : readPolicyDocument(entry.policy);
  const policyArns = entry.policyArns ?? [];
  const tags = entry.sessionTags ?? {};
  return {
    ...toSessionGrant(entry),
    ...(read !== undefined && 'document' in read ? { policy: minifiedPolicy(read.document) } : {}),
    ...(policyArns.length === 0 ? {} : { policyArns: [...policyArns] }),
    ...(Object.keys(tags).length === 0 ? {} : { sessionTags: { ...tags } }),
    ...(entry.externalId === undefined ? {} : { externalId: entry.externalId }),
    fullRole: entry.fullRole ?? false,
  };
}
