/**
 * An AWS grant's inline session policy (pure): checked as an IAM policy document the way IAM reads a
 * session policy (Version, Statement, Effect, Action/NotAction, Resource/NotResource, Condition), with each
 * problem at its path inside the document, and minified into the text AssumeRole receives.
 */
import { quote, showValue } from '../../config/fields.ts';

/** STS refuses session policies whose plaintext (inline document plus managed policy ARNs) is longer. */
export const SESSION_POLICY_PLAINTEXT_LIMIT = 2048;
/** AssumeRole accepts at most this many managed session policies. */
export const MAX_POLICY_ARNS = 10;

export interface DocumentProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const DOCUMENT_KEYS = ['Version', 'Id', 'Statement'];
const STATEMENT_KEYS = ['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];
/** `service:Action`, with `*` and `?` wildcards, or `*` alone. */
const ACTION = /^(?:\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$/;
/** `*`, or an ARN: `arn:partition:service:region:account:resource` (wildcards allowed in every part). */
const RESOURCE = /^(?:\*|arn:[a-z*?-]+:[a-z0-9*?-]*:[a-z0-9*?-]*:[0-9*?a-z-]*:\S+)$/;
/** IAM's condition operators, optionally set-qualified and `IfExists`. */
const CONDITION_OPERATOR =
  /^(?:(?:ForAllValues|ForAnyValue):)?(?:String(?:Not)?Equals(?:IgnoreCase)?|String(?:Not)?Like|Numeric(?:Not)?Equals|Numeric(?:Less|Greater)Than(?:Equals)?|Date(?:Not)?Equals|Date(?:Less|Greater)Than(?:Equals)?|Bool|BinaryEquals|(?:Not)?IpAddress|Arn(?:Not)?Equals|Arn(?:Not)?Like)(?:IfExists)?$|^Null$/;
/** A condition key: `prefix:name`, where the name may carry a tag key (`aws:RequestTag/team`). */
const CONDITION_KEY = /^[A-Za-z0-9-]+:[A-Za-z0-9_.:/${}*?+=,@-]+$/;
const SID = /^[A-Za-z0-9]*$/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A string, or a non-empty list of strings, each matching `pattern`. */
function stringsProblems(
  value: unknown,
  path: readonly (string | number)[],
  pattern: RegExp,
  what: string,
): DocumentProblem[] {
  if (typeof value === 'string') {
    return pattern.test(value) ? [] : [{ path, message: `expected ${what}, got ${quote(value)}` }];
  }
  if (!Array.isArray(value)) {
    return [{ path, message: `expected ${what} or a list of them, got ${showValue(value)}` }];
  }
  if (value.length === 0) return [{ path, message: `expected at least one ${what}, got an empty list` }];
  return value.flatMap((item, index) =>
    typeof item === 'string' && pattern.test(item)
      ? []
      : [{ path: [...path, index], message: `expected ${what}, got ${showValue(item)}` }],
  );
}

function unknownKeyProblems(
  value: Record<string, unknown>,
  known: readonly string[],
  path: readonly (string | number)[],
): DocumentProblem[] {
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => ({
      path: [...path, key],
      message:
        key === 'Principal' || key === 'NotPrincipal'
          ? `not allowed in a session policy: it is an identity policy, whose principal is the session itself`
          : `unknown key (expected one of: ${known.join(', ')})`,
    }));
}

/** Exactly one of `key` and `notKey`, each checked as strings matching `pattern`. */
function eitherProblems(
  statement: Record<string, unknown>,
  key: string,
  path: readonly (string | number)[],
  pattern: RegExp,
  what: string,
): DocumentProblem[] {
  const notKey = `Not${key}`;
  const has = statement[key] !== undefined;
  const hasNot = statement[notKey] !== undefined;
  if (has && hasNot) {
    return [{ path: [...path, notKey], message: `${key} and ${notKey} cannot both be set in one statement` }];
  }
  if (!has && !hasNot)
    return [{ path, message: `missing ${key} or ${notKey} (expected ${what} or a list of them)` }];
  const used = has ? key : notKey;
  return stringsProblems(statement[used], [...path, used], pattern, what);
}

function conditionProblems(value: unknown, path: readonly (string | number)[]): DocumentProblem[] {
  if (!isRecord(value)) {
    return [{ path, message: `expected a mapping of condition operators, got ${showValue(value)}` }];
  }
  const problems: DocumentProblem[] = [];
  for (const [operator, keys] of Object.entries(value)) {
    const at = [...path, operator];
    if (!CONDITION_OPERATOR.test(operator)) {
      problems.push({
        path: at,
        message: `expected an IAM condition operator such as StringEquals, StringLike, ArnLike, Bool or IpAddress (optionally ForAnyValue:/ForAllValues: and IfExists), got ${quote(operator)}`,
      });
      continue;
    }
    if (!isRecord(keys) || Object.keys(keys).length === 0) {
      problems.push({
        path: at,
        message: `expected a mapping of condition keys to values, got ${showValue(keys)}`,
      });
      continue;
    }
    for (const [key, values] of Object.entries(keys)) {
      const keyAt = [...at, key];
      if (!CONDITION_KEY.test(key)) {
        problems.push({
          path: keyAt,
          message: `expected a condition key such as aws:SourceIp or dynamodb:LeadingKeys, got ${quote(key)}`,
        });
      }
      const list = Array.isArray(values) ? values : [values];
      if (list.length === 0) {
        problems.push({ path: keyAt, message: 'expected at least one value, got an empty list' });
      }
      list.forEach((item, index) => {
        if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') return;
        problems.push({
          path: Array.isArray(values) ? [...keyAt, index] : keyAt,
          message: `expected a string, number or boolean condition value, got ${showValue(item)}`,
        });
      });
    }
  }
  return problems;
}

function statementProblems(statement: unknown, path: readonly (string | number)[]): DocumentProblem[] {
  if (!isRecord(statement))
    return [{ path, message: `expected a statement mapping, got ${showValue(statement)}` }];
  const problems = unknownKeyProblems(statement, STATEMENT_KEYS, path);
  const { Sid, Effect, Condition } = statement;
  if (Sid !== undefined && (typeof Sid !== 'string' || !SID.test(Sid))) {
    problems.push({
      path: [...path, 'Sid'],
      message: `expected letters and digits only, got ${showValue(Sid)}`,
    });
  }
  if (Effect !== 'Allow' && Effect !== 'Deny') {
    problems.push({
      path: [...path, 'Effect'],
      message:
        Effect === undefined
          ? 'missing (expected Allow or Deny)'
          : `expected Allow or Deny, got ${showValue(Effect)}`,
    });
  }
  problems.push(...eitherProblems(statement, 'Action', path, ACTION, 'an action such as dynamodb:GetItem'));
  problems.push(
    ...eitherProblems(
      statement,
      'Resource',
      path,
      RESOURCE,
      'a resource ARN (or *) such as arn:aws:sqs:eu-west-1:111122223333:orders',
    ),
  );
  if (Condition !== undefined) problems.push(...conditionProblems(Condition, [...path, 'Condition']));
  return problems;
}

/** Every problem of `document` as an IAM session policy, each at its path inside the document. */
export function policyDocumentProblems(document: unknown): DocumentProblem[] {
  if (!isRecord(document)) {
    return [
      {
        path: [],
        message: `expected an IAM policy document (a mapping with Version and Statement), got ${showValue(document)}`,
      },
    ];
  }
  const problems = unknownKeyProblems(document, DOCUMENT_KEYS, []);
  if (document.Version !== '2012-10-17') {
    problems.push({
      path: ['Version'],
      message:
        document.Version === undefined
          ? 'missing (expected "2012-10-17", quoted)'
          : `expected "2012-10-17" (quoted, so YAML keeps it a string), got ${showValue(document.Version)}`,
    });
  }
  if (document.Id !== undefined && typeof document.Id !== 'string') {
    problems.push({ path: ['Id'], message: `expected a string, got ${showValue(document.Id)}` });
  }
  const statements = document.Statement;
  if (statements === undefined) {
    problems.push({ path: ['Statement'], message: 'missing (expected a statement or a list of statements)' });
  } else if (Array.isArray(statements)) {
    if (statements.length === 0) {
      problems.push({ path: ['Statement'], message: 'expected at least one statement, got an empty list' });
    }
    const sids = new Map<string, number>();
    statements.forEach((statement, index) => {
      problems.push(...statementProblems(statement, ['Statement', index]));
      const sid = isRecord(statement) ? statement.Sid : undefined;
      if (typeof sid !== 'string' || sid === '') return;
      const first = sids.get(sid);
      if (first === undefined) sids.set(sid, index);
      else
        problems.push({
          path: ['Statement', index, 'Sid'],
          message: `duplicate Sid ${quote(sid)}, already used by Statement[${first}]`,
        });
    });
  } else {
    problems.push(...statementProblems(statements, ['Statement']));
  }
  return problems;
}

/**
 * The document as written in the file: a mapping (YAML or JSON flow style), or a string holding JSON.
 * Returns the parsed document, or the problem with the JSON text.
 */
export function readPolicyDocument(value: unknown): { document: unknown } | { problem: string } {
  if (typeof value !== 'string') return { document: value };
  try {
    return { document: JSON.parse(value) as unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      problem: `expected an IAM policy document as a mapping or as JSON text, but the text is not JSON (${quote(reason, 120).slice(1, -1)})`,
    };
  }
}

/** The text AssumeRole's `Policy` receives: minified JSON, keys as written. */
export function minifiedPolicy(document: unknown): string {
  return JSON.stringify(document);
}

/** Characters STS counts against `SESSION_POLICY_PLAINTEXT_LIMIT`: the inline text and every ARN. */
export function sessionPolicyPlaintext(policy: string | undefined, policyArns: readonly string[]): number {
  return (policy?.length ?? 0) + policyArns.reduce((sum, arn) => sum + arn.length, 0);
}

/** Why the grant's session policies are too long for STS, or undefined. */
export function plaintextProblem(
  policy: string | undefined,
  policyArns: readonly string[],
): string | undefined {
  const size = sessionPolicyPlaintext(policy, policyArns);
  if (size <= SESSION_POLICY_PLAINTEXT_LIMIT) return undefined;
  const arns =
    policyArns.length === 0 ? '' : ` (the minified inline policy plus the ${policyArns.length} policyArns)`;
  return (
    `the session policies are ${size} characters${arns}, over STS's limit of ${SESSION_POLICY_PLAINTEXT_LIMIT} ` +
    'characters of session-policy plaintext: shorten the policy (wildcards in actions, fewer statements), move ' +
    'part of it into a managed policy listed in policyArns, or split the grant'
  );
}
