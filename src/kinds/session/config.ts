/**
 * The registration-file part every role-session grant shares (`s3`, `aws`): the fields a session grant
 * has (secret name, role, namespaces, region, duration, mount path), and the checks on them that need the
 * merged cluster: the role-chaining cap and the cadence rule, the grant's namespaces within the
 * cluster's, and Secret names distinct from every other Secret the cluster receives.
 */
import { z } from 'zod';
import {
  CADENCE_ALLOWANCE_SECONDS,
  CADENCE_ALLOWANCES,
  cadenceProblem,
  ROLE_CHAINING_MAX_SECONDS,
} from '../../config/cadence.ts';
import {
  AWS_REGION,
  DNS_LABEL,
  dnsSubdomain,
  expecting,
  flag,
  type IssueInput,
  integerIn,
  nonEmptyList,
  patterned,
  quote,
  ROLE_ARN,
  ruled,
} from '../../config/fields.ts';
import { formatPath, type KindCheckInput, origin, type Path, type Problem } from '../../config/problems.ts';
import type { ClusterEntry } from '../../config/schema.ts';
import type { NamespaceSelection } from '../../config/types.ts';
import { globToRegExp, needsNamespaceListing } from '../../plan/namespaces.ts';

/** Values of session grant keys the file leaves out (`mountPath` defaults to `<mountPathRoot>/<secretName>`). */
export const SESSION_GRANT_DEFAULTS = {
  durationSeconds: 3600,
  longSessions: false,
  mountPathRoot: '/var/run/secrets/cred-courier',
} as const;

// The role-chaining cap lives with the cadence rule, whose advice must respect it.
export { ROLE_CHAINING_MAX_SECONDS } from '../../config/cadence.ts';

/** Longest mount path accepted. */
const MAX_MOUNT_PATH_CHARS = 200;

/**
 * Why `path` cannot be a grant's mount path, or undefined when it can. The path is written into the
 * Secret's `credential_process` command line, which some SDKs run through a shell, so only plain path
 * characters are accepted.
 */
export function mountPathProblem(path: string): string | undefined {
  if (path.length > MAX_MOUNT_PATH_CHARS)
    return `it must be at most ${MAX_MOUNT_PATH_CHARS} characters, not ${path.length}`;
  if (!path.startsWith('/')) return "it must be absolute (start with '/')";
  if (!/^[A-Za-z0-9._/-]+$/.test(path)) {
    return "it may only contain letters, digits, '.', '_', '-' and '/' (no whitespace): it is written into a credential_process command line";
  }
  if (path.split('/').includes('..')) return "it must not contain a '..' segment";
  if (/^\/+$/.test(path)) return "it must name a directory below '/'";
  return undefined;
}

/** A grant's namespaces are exact: say so when a glob is given. */
function grantNamespaceMessage(issue: IssueInput): string {
  const what =
    'an exact namespace name (a DNS label: a-z 0-9 -, alphanumeric at both ends, at most 63 characters)';
  if (typeof issue.input === 'string' && /[*?]/.test(issue.input)) {
    return `expected ${what}; globs are not allowed in a grant's namespaces, got ${quote(issue.input)}`;
  }
  return expecting(what)(issue);
}

/** How a kind's grant fields are described in the schema (the JSON Schema and editors show these). */
export interface SessionGrantWording {
  readonly secretNameDescription: string;
  readonly secretNameExample: string;
  readonly roleArnWhat: string;
  readonly roleArnDescription: string;
  readonly roleArnExample: string;
  readonly mountPathWhat: string;
  readonly mountPathExample: string;
}

/** The fields every session grant has, in the order messages list them. */
export function sessionGrantFields(wording: SessionGrantWording) {
  return {
    secretName: dnsSubdomain('a Secret name').meta({
      description: wording.secretNameDescription,
      examples: [wording.secretNameExample],
    }),
    roleArn: patterned(ROLE_ARN, wording.roleArnWhat).meta({
      description: wording.roleArnDescription,
      examples: [wording.roleArnExample],
    }),
    namespaces: nonEmptyList(
      z.string({ error: grantNamespaceMessage }).max(63, { abort: true }).regex(DNS_LABEL),
      'namespace names',
      'namespace',
    )
      .optional()
      .meta({
        description:
          "Exact namespace names (no globs) receiving the Secret, each selected by the cluster's namespaces. Absent: all the cluster's selected namespaces.",
        examples: [['analytics']],
      }),
    region: patterned(AWS_REGION, 'an AWS region such as eu-west-1').meta({
      description: 'Region written to AWS_REGION and the config profile; STS is called there too.',
      examples: ['eu-west-1'],
    }),
    durationSeconds: integerIn(900, 43200)
      .optional()
      .meta({
        description: `Session lifetime in seconds: 900-${ROLE_CHAINING_MAX_SECONDS} (AWS caps role chaining at 1 hour, and cred-courier mints from the Lambda's role session), up to 43200 with longSessions. Must exceed settings.s3IntervalMinutes × 60 + ${CADENCE_ALLOWANCE_SECONDS} (kubelet lag ${CADENCE_ALLOWANCES.KUBELET_LAG_SECONDS}, SDK refresh window ${CADENCE_ALLOWANCES.SDK_REFRESH_WINDOW_SECONDS}, margin ${CADENCE_ALLOWANCES.MARGIN_SECONDS}).`,
        default: SESSION_GRANT_DEFAULTS.durationSeconds,
      }),
    longSessions: flag().optional().meta({
      description:
        'Allow durationSeconds above 3600. Only valid when the minting identity is an IAM user, not a role session.',
      default: SESSION_GRANT_DEFAULTS.longSessions,
    }),
    mountPath: ruled(wording.mountPathWhat, mountPathProblem)
      .optional()
      .meta({
        description: `Where Pods mount the Secret; the config file's credential_process reads from it. Absolute, no '..' segment, no whitespace, at most ${MAX_MOUNT_PATH_CHARS} characters. Default: ${SESSION_GRANT_DEFAULTS.mountPathRoot}/<secretName>.`,
        examples: [wording.mountPathExample],
        maxLength: MAX_MOUNT_PATH_CHARS,
        pattern: '^/[A-Za-z0-9._/-]+$',
      }),
  };
}

/** The session grant fields as written (after the schema), whatever the kind adds. */
export interface SessionGrantEntry {
  readonly secretName: string;
  readonly roleArn: string;
  readonly namespaces?: readonly string[] | undefined;
  readonly region: string;
  readonly durationSeconds?: number | undefined;
  readonly longSessions?: boolean | undefined;
  readonly mountPath?: string | undefined;
}

/** The resolved fields every session grant has (defaults applied). */
export interface SessionGrant {
  /** Name of the Opaque Secret written into each of the grant's namespaces. */
  readonly secretName: string;
  /** The role assumed; its own policy is the ceiling, the session's scope narrows it. */
  readonly roleArn: string;
  /** Exact namespace names, a subset of the cluster's selection; absent: all of the cluster's. */
  readonly namespaces?: readonly string[];
  /** Session lifetime, 900..3600 (role chaining caps it at 1 h) unless `longSessions` is set. */
  readonly durationSeconds: number;
  /** Region written to AWS_REGION and the config profile; STS is called there too. */
  readonly region: string;
  /** Where Pods mount the Secret as a volume; the `config` profile's credential_process reads from it. */
  readonly mountPath: string;
  /** Allows durationSeconds above 3600: the minting identity is an IAM user, not a role session. */
  readonly longSessions: boolean;
}

/** The shared fields of a grant, defaults applied. */
export function toSessionGrant(entry: SessionGrantEntry): SessionGrant {
  return {
    secretName: entry.secretName,
    roleArn: entry.roleArn,
    ...(entry.namespaces === undefined ? {} : { namespaces: [...entry.namespaces] }),
    durationSeconds: entry.durationSeconds ?? SESSION_GRANT_DEFAULTS.durationSeconds,
    region: entry.region,
    mountPath: entry.mountPath ?? `${SESSION_GRANT_DEFAULTS.mountPathRoot}/${entry.secretName}`,
    longSessions: entry.longSessions ?? SESSION_GRANT_DEFAULTS.longSessions,
  };
}

/**
 * A cluster's own list replaces the one in defaults. Grants inherited from defaults are reported at
 * `defaults.<key>[i]`, once; problems that depend on the cluster then name it.
 */
export function grantListOwner(key: string, own: readonly unknown[] | undefined, at: Path): Path {
  return own === undefined ? ['defaults', key] : [...at, key];
}

/** The role-chaining cap, then the cadence rule against the S3 schedule interval. */
export function durationProblems(
  grant: SessionGrantEntry,
  grantPath: Path,
  s3IntervalMinutes: number | undefined,
): Problem[] {
  const path = [...grantPath, 'durationSeconds'];
  const written = grant.durationSeconds !== undefined;
  const duration = grant.durationSeconds ?? SESSION_GRANT_DEFAULTS.durationSeconds;
  const problems: Problem[] = [];
  if (duration > ROLE_CHAINING_MAX_SECONDS && grant.longSessions !== true) {
    problems.push({
      path,
      message:
        `expected at most ${ROLE_CHAINING_MAX_SECONDS} without longSessions: true, got number ${duration}; ` +
        "cred-courier mints from a role session (the Lambda's role), and assuming a role from a role session is " +
        `role chaining, which AWS caps at ${ROLE_CHAINING_MAX_SECONDS} s; set longSessions: true only if the ` +
        'minting identity is an IAM user',
    });
  }
  const cadence =
    s3IntervalMinutes === undefined
      ? undefined
      : cadenceProblem(s3IntervalMinutes, duration, grant.longSessions === true);
  if (cadence !== undefined) {
    problems.push({ path, message: `${written ? '' : `not set, so ${duration} (the default): `}${cadence}` });
  }
  return problems;
}

/** A grant's namespaces: no repeats, and each one its cluster selects. */
export function grantNamespacesProblems(
  grant: SessionGrantEntry,
  grantPath: Path,
  { namespaces, at, cluster }: KindCheckInput,
): Problem[] {
  const path = [...grantPath, 'namespaces'];
  return [
    ...duplicateGrantNamespaceProblems(grant.namespaces ?? [], path),
    ...(namespaces === undefined
      ? []
      : grantNamespaceProblems(grant.namespaces ?? [], path, namespaces, at, cluster)),
  ];
}

function duplicateGrantNamespaceProblems(names: readonly string[], namespacesPath: Path): Problem[] {
  const problems: Problem[] = [];
  names.forEach((name, index) => {
    const first = names.indexOf(name);
    if (first !== index) {
      problems.push({
        path: [...namespacesPath, index],
        message: `duplicate namespace ${quote(name)}, already at namespaces[${first}]`,
      });
    }
  });
  return problems;
}

/** Shows a list of names quoted, at most a few of them. */
function showNames(names: readonly string[]): string {
  const shown = names.slice(0, 8).map((name) => quote(name));
  return names.length > 8 ? `${shown.join(', ')}, …` : shown.join(', ');
}

/**
 * A grant can only deliver into namespaces its cluster selects. Exclusions are always decidable; names
 * only when the cluster selects by exact names alone (globs and selectors depend on the live cluster).
 */
function grantNamespaceProblems(
  names: readonly string[],
  namespacesPath: Path,
  selection: NamespaceSelection,
  at: Path,
  cluster: ClusterEntry,
): Problem[] {
  const onlyExact = !needsNamespaceListing(selection);
  const problems: Problem[] = [];
  names.forEach((name, index) => {
    const excludedBy = selection.exclude.find((pattern) => globToRegExp(pattern).test(name));
    if (excludedBy !== undefined) {
      problems.push({
        path: [...namespacesPath, index],
        message:
          `namespace ${quote(name)} is excluded by ${quote(excludedBy)} in ${formatPath([...at, 'namespaces', 'exclude'])}` +
          `${origin('namespaces', 'exclude', cluster)}; a grant delivers only into namespaces its cluster selects`,
      });
    } else if (onlyExact && !selection.names.includes(name)) {
      problems.push({
        path: [...namespacesPath, index],
        message:
          `namespace ${quote(name)} is not selected by ${formatPath([...at, 'namespaces', 'names'])}` +
          `${origin('namespaces', 'names', cluster)} (${showNames(selection.names)}); a grant delivers only into ` +
          'namespaces its cluster selects',
      });
    }
  });
  return problems;
}

/** Another Secret of the cluster a grant's Secret name must differ from. */
export interface OtherSecret {
  readonly name: string | undefined;
  /** Its path as shown, with where it came from: `clusters[0].ecr.secretName (from defaults.ecr.secretName)`. */
  readonly shownAt: string;
  /** What it is: `the ECR pull Secret`. */
  readonly what: string;
}

/** The ECR pull Secret of the cluster (defaults merged), as another Secret a grant's name must differ from. */
export function ecrPullSecret({ cluster, defaults, at }: KindCheckInput): OtherSecret {
  return {
    name: cluster.ecr?.secretName ?? defaults?.ecr?.secretName,
    shownAt: `${formatPath([...at, 'ecr', 'secretName'])}${origin('ecr', 'secretName', cluster)}`,
    what: 'the ECR pull Secret',
  };
}

/**
 * Each grant writes its own Secret into the same namespaces as the others and as the cluster's other
 * Secrets, so the names must all differ. `label` names the kind (`S3`).
 */
export function secretNameProblems(
  grants: readonly SessionGrantEntry[],
  owner: Path,
  label: string,
  others: readonly OtherSecret[],
): Problem[] {
  const seen = new Map<string, number>();
  const problems: Problem[] = [];
  grants.forEach((grant, index) => {
    const path = [...owner, index, 'secretName'];
    const first = seen.get(grant.secretName);
    if (first === undefined) {
      seen.set(grant.secretName, index);
    } else {
      problems.push({
        path,
        message: `duplicate secretName ${quote(grant.secretName)}, already used by ${formatPath([...owner, first])}; each ${label} grant writes its own Secret, so names must be unique within a cluster`,
      });
    }
    for (const other of others) {
      if (grant.secretName !== other.name) continue;
      problems.push({
        path,
        message: `${quote(grant.secretName)} is also ${other.shownAt}; ${other.what} and an ${label} grant's Secret cannot share a name`,
      });
    }
  });
  return problems;
}
