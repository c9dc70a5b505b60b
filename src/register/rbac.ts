/**
 * The Kubernetes objects a remote cluster needs so cred-courier can deliver to it, derived from the
 * registration file (pure). They grant exactly what delivery does and nothing else:
 *
 * - per target namespace: `create` secrets (creation cannot be limited by name in RBAC); `get`, `patch`,
 *   `delete` on the Secret names cred-courier manages there; `get`, `patch` on the ServiceAccounts that
 *   receive the ECR pull Secret (only where ECR applies);
 * - in the control namespace: `create` configmaps, `get`, `update` on the inventory;
 * - only with namespace globs or a selector: `list` namespaces, and — since the namespaces are not known
 *   when the objects are made — the per-namespace rules above as a ClusterRole bound cluster-wide;
 * - no `list` or `watch` on Secrets anywhere.
 *
 * Because `create` cannot be limited by name, a ValidatingAdmissionPolicy (the "secret guard", see
 * `secretGuard`) holds the identity's writes to its own Secrets and ServiceAccount entries. Without it,
 * `create` plus `get` on a known name would let the identity create a service-account-token Secret under
 * that name for any ServiceAccount and read its token, so `register` stores no kubeconfig unless the
 * guard is proven in effect (or the cluster opts out, exact namespace names only).
 */
import { type LabelRequirement, parseLabelSelector } from '../config/schema.ts';
import type { ClusterSpec, NamespaceSelection, Settings } from '../config/types.ts';
import { ANNOTATIONS, LABELS, MANAGER, ownerLabels } from '../kinds/metadata.ts';
import { kindSecrets } from '../kinds/secrets.ts';
import { INVENTORY_NAME } from '../kube/inventory.ts';
import {
  globToRegExp,
  isGlob,
  needsNamespaceListing,
  SYSTEM_NAMESPACES,
  selectNamespaces,
} from '../plan/namespaces.ts';

/** The ServiceAccount (in the control namespace) whose token cred-courier stores. */
export const SERVICE_ACCOUNT = 'cred-courier';
/** The `kubernetes.io/service-account-token` Secret of `register --long-lived-token`. */
export const TOKEN_SECRET = 'cred-courier-token';

/** Secrets written in every selected namespace, and Secrets of grants that list their own namespaces. */
const everywhere = (cluster: ClusterSpec) => kindSecrets(cluster).filter((secret) => !secret.namespaces);
const narrowedSecrets = (cluster: ClusterSpec) => kindSecrets(cluster).filter((secret) => secret.namespaces);

const RBAC_API = 'rbac.authorization.k8s.io/v1';
const ADMISSION_API = 'admissionregistration.k8s.io/v1';

/** One RBAC rule, as in a Role or ClusterRole. */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

/** A Kubernetes object as cred-courier applies it. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

/** One permission delivery needs, as a SelfSubjectAccessReview asks it. */
export interface Permission {
  readonly verb: string;
  readonly resource: string;
  /** Empty for the core group. */
  readonly group: string;
  /** Absent: cluster-scoped (namespaces). */
  readonly namespace?: string;
  /** Absent: any name (create, list). */
  readonly name?: string;
  /** A subresource such as `token` (serviceaccounts/token). */
  readonly subresource?: string;
}

/** What cred-courier writes in one namespace. */
export interface NamespaceGrant {
  readonly secretNames: readonly string[];
  readonly serviceAccounts: readonly string[];
}

/** Where delivery writes, as far as it is known from the file alone. */
export interface DeliveryScope {
  readonly controlNamespace: string;
  /** Globs or a selector: the namespaces are only known on the cluster. */
  readonly listsNamespaces: boolean;
  /** Per namespace named exactly (or named by an S3 grant): what is written there. */
  readonly namespaced: ReadonlyMap<string, NamespaceGrant>;
  /** With globs or a selector: what is written in every selected namespace (bound cluster-wide). */
  readonly clusterWide?: NamespaceGrant;
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** Secrets rules of one namespace (or of the cluster-wide role): what delivery does there, no more. */
export function secretRules(grant: NamespaceGrant): PolicyRule[] {
  if (grant.secretNames.length === 0) return [];
  return [
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    {
      apiGroups: [''],
      resources: ['secrets'],
      verbs: ['get', 'patch', 'delete'],
      resourceNames: sorted(grant.secretNames),
    },
    ...(grant.serviceAccounts.length > 0
      ? [
          {
            apiGroups: [''],
            resources: ['serviceaccounts'],
            verbs: ['get', 'patch'],
            resourceNames: sorted(grant.serviceAccounts),
          },
        ]
      : []),
  ];
}

/** The inventory rules of the control namespace. */
export function inventoryRules(): PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
    {
      apiGroups: [''],
      resources: ['configmaps'],
      verbs: ['get', 'update'],
      resourceNames: [INVENTORY_NAME],
    },
  ];
}

/**
 * Token renewal: a TokenRequest for cred-courier's own ServiceAccount, and no other (the control
 * namespace's Role only).
 */
export function tokenRenewalRules(): PolicyRule[] {
  return [
    {
      apiGroups: [''],
      resources: ['serviceaccounts/token'],
      verbs: ['create'],
      resourceNames: [SERVICE_ACCOUNT],
    },
  ];
}

/** The one cluster-wide rule of glob and selector clusters. */
export function namespaceListingRules(): PolicyRule[] {
  return [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list'] }];
}

/** The Secret names and ServiceAccounts cred-courier writes into namespace `namespace` of `cluster`. */
export function grantIn(cluster: ClusterSpec, namespace: string): NamespaceGrant {
  const secretNames = kindSecrets(cluster)
    .filter((secret) => !secret.namespaces || secret.namespaces.includes(namespace))
    .map((secret) => secret.secretName);
  return { secretNames: sorted(secretNames), serviceAccounts: sorted(cluster.ecr?.serviceAccounts ?? []) };
}

/** Where delivery to `cluster` writes, from the file alone. */
export function deliveryScope(
  cluster: ClusterSpec,
  settings: Pick<Settings, 'controlNamespace'>,
): DeliveryScope {
  const listsNamespaces = needsNamespaceListing(cluster.namespaces);
  const namespaced = new Map<string, NamespaceGrant>();
  if (!listsNamespaces) {
    // Exact names only: the selection is known here (exact names minus exclusions).
    for (const namespace of selectNamespaces(cluster.namespaces))
      namespaced.set(namespace, grantIn(cluster, namespace));
    return { controlNamespace: settings.controlNamespace, listsNamespaces, namespaced };
  }
  // Globs or a selector: what applies everywhere is bound cluster-wide; grants that name their
  // namespaces keep namespace-scoped rules for their own Secret names.
  const clusterWide: NamespaceGrant = {
    secretNames: sorted(everywhere(cluster).map((secret) => secret.secretName)),
    serviceAccounts: sorted(cluster.ecr?.serviceAccounts ?? []),
  };
  const excluded = new Set(
    narrowedSecrets(cluster)
      .flatMap((secret) => secret.namespaces ?? [])
      .filter((ns) => selectNamespaces({ names: [ns], exclude: cluster.namespaces.exclude }).length === 0),
  );
  for (const grant of narrowedSecrets(cluster)) {
    for (const namespace of grant.namespaces ?? []) {
      if (excluded.has(namespace)) continue;
      const previous = namespaced.get(namespace)?.secretNames ?? [];
      namespaced.set(namespace, {
        secretNames: sorted([...previous, grant.secretName]),
        serviceAccounts: [],
      });
    }
  }
  return { controlNamespace: settings.controlNamespace, listsNamespaces, namespaced, clusterWide };
}

/**
 * Name of cred-courier's objects: `cred-courier[-suffix]` with the default control namespace, and the
 * control namespace in it otherwise, so two installations on one cluster never share an object.
 */
export function objectName(controlNamespace: string, suffix?: string): string {
  const base = controlNamespace === MANAGER ? MANAGER : `${MANAGER}-${controlNamespace}`;
  return suffix ? `${base}-${suffix}` : base;
}

/** The username the apiserver gives cred-courier's ServiceAccount. */
export function serviceAccountUser(controlNamespace: string): string {
  return `system:serviceaccount:${controlNamespace}:${SERVICE_ACCOUNT}`;
}

/** Every object of the installation (its control namespace) for `cluster`: see `ownerLabels`. */
function labelsOf(cluster: string, controlNamespace: string): Record<string, string> {
  return ownerLabels({ cluster, installation: controlNamespace });
}

/**
 * CEL string literal. The values come from the validated file (DNS names, label keys and values), so
 * nothing needs escaping today; quotes, backslashes and line breaks are escaped anyway.
 */
export const celString = (value: string) =>
  `'${value.replace(/[\\']/g, '\\$&').replaceAll('\n', '\\n').replaceAll('\r', '\\r')}'`;

/** CEL list literal of strings. */
const celList = (values: readonly string[]) => `[${values.map(celString).join(', ')}]`;

/**
 * Every object the cluster needs, in apply order: the control namespace, the ServiceAccount, Roles and
 * RoleBindings per namespace (the control namespace first), cluster-wide roles when globs or a selector
 * are used, and the secret guard.
 */
export function rbacManifests(
  cluster: ClusterSpec,
  settings: Pick<Settings, 'controlNamespace'>,
): Manifest[] {
  const scope = deliveryScope(cluster, settings);
  const control = scope.controlNamespace;
  const labels = labelsOf(cluster.name, control);
  const name = objectName(control);
  const subjects = [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: control }];
  const manifests: Manifest[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: control, labels } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: SERVICE_ACCOUNT, namespace: control, labels },
    },
  ];
  const namespaceRules = new Map<string, PolicyRule[]>([
    [control, [...inventoryRules(), ...tokenRenewalRules()]],
  ]);
  for (const namespace of [...scope.namespaced.keys()].sort()) {
    const rules = secretRules(scope.namespaced.get(namespace) ?? { secretNames: [], serviceAccounts: [] });
    if (rules.length > 0) namespaceRules.set(namespace, [...(namespaceRules.get(namespace) ?? []), ...rules]);
  }
  for (const [namespace, rules] of namespaceRules) {
    manifests.push(
      { apiVersion: RBAC_API, kind: 'Role', metadata: { name, namespace, labels }, rules },
      {
        apiVersion: RBAC_API,
        kind: 'RoleBinding',
        metadata: { name, namespace, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects,
      },
    );
  }
  if (scope.listsNamespaces) {
    const clusterRoles: [string, PolicyRule[]][] = [
      [objectName(control, 'list-namespaces'), namespaceListingRules()],
      [
        objectName(control, 'delivery'),
        secretRules(scope.clusterWide ?? { secretNames: [], serviceAccounts: [] }),
      ],
    ];
    for (const [roleName, rules] of clusterRoles) {
      if (rules.length === 0) continue;
      manifests.push(
        { apiVersion: RBAC_API, kind: 'ClusterRole', metadata: { name: roleName, labels }, rules },
        {
          apiVersion: RBAC_API,
          kind: 'ClusterRoleBinding',
          metadata: { name: roleName, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
          subjects,
        },
      );
    }
  }
  manifests.push(...secretGuard(cluster, control, labels));
  return manifests;
}

/** The names of every Secret cred-courier writes anywhere in the cluster. */
export function managedSecretNames(cluster: ClusterSpec): string[] {
  return sorted(kindSecrets(cluster).map((secret) => secret.secretName));
}

/** CEL map literal of strings. */
const celMap = (entries: readonly (readonly [string, string])[]) =>
  `{${entries.map(([key, value]) => `${celString(key)}: ${celString(value)}`).join(', ')}}`;

/** CEL: `field` (a path below `object`) is absent on both objects or equal on both. */
const unchangedField = (field: string) =>
  `(has(object.${field}) == has(oldObject.${field}) && (!has(object.${field}) || object.${field} == oldObject.${field}))`;

/** The system namespaces the cluster's file names exactly (delivery may write there only then). */
function namedSystemNamespaces(cluster: ClusterSpec): Set<string> {
  const exact = selectNamespaces({ names: cluster.namespaces.names, exclude: cluster.namespaces.exclude });
  return new Set(exact.filter((namespace) => SYSTEM_NAMESPACES.has(namespace)));
}

/** CEL over `labels` (a map): whether one label selector requirement holds, as the apiserver reads it. */
function requirementCel(labels: string, requirement: LabelRequirement): string {
  const key = celString(requirement.key);
  const present = `${key} in ${labels}`;
  const value = `${labels}[${key}]`;
  const values = celList(requirement.values);
  switch (requirement.operator) {
    case 'exists':
      return present;
    case '!':
      return `!(${present})`;
    case '=':
      return `(${present} && ${value} == ${celString(requirement.values[0] ?? '')})`;
    case '!=':
      return `(!(${present}) || ${value} != ${celString(requirement.values[0] ?? '')})`;
    case 'in':
      return `(${present} && ${value} in ${values})`;
    case 'notin':
      return `(!(${present}) || !(${value} in ${values}))`;
  }
}

/** CEL: whether `request.namespace` matches one of `patterns` (exact names and globs). */
function patternsCel(patterns: readonly string[]): string[] {
  const exact = patterns.filter((pattern) => !isGlob(pattern));
  return [
    ...(exact.length > 0 ? [`request.namespace in ${celList(exact)}`] : []),
    ...patterns
      .filter(isGlob)
      .map((glob) => `request.namespace.matches(${celString(globToRegExp(glob).source)})`),
  ];
}

/**
 * CEL: whether the request's namespace is one `selectNamespaces` selects on the cluster: an exact name,
 * or (never a system namespace) a glob match or a namespace whose labels match the selector; minus
 * `exclude`. The selector is read on `variables.namespaceLabels` (the Namespace object's labels).
 */
export function selectionCel(selection: NamespaceSelection): string {
  const exact = selection.names.filter((name) => !isGlob(name));
  const byPattern = patternsCel(selection.names.filter(isGlob));
  if (selection.selector !== undefined) {
    const parsed = parseLabelSelector(selection.selector);
    // The loader refuses an invalid selector; failing here keeps an unreadable one from selecting anything.
    if ('problem' in parsed) throw new Error(`invalid label selector: ${parsed.problem}`);
    byPattern.push(
      `(${parsed.requirements.map((r) => requirementCel('variables.namespaceLabels', r)).join(' && ')})`,
    );
  }
  const chosen = [
    ...(exact.length > 0 ? [`request.namespace in ${celList(exact)}`] : []),
    ...(byPattern.length > 0
      ? [`(!(request.namespace in ${celList([...SYSTEM_NAMESPACES].sort())}) && (${byPattern.join(' || ')}))`]
      : []),
  ];
  const selected = chosen.length > 0 ? chosen.join(' || ') : 'false';
  const excluded = patternsCel(selection.exclude);
  return excluded.length > 0 ? `(${selected}) && !(${excluded.join(' || ')})` : selected;
}

/** Where delivery writes the cluster's Secrets, for the guard's message. */
function describeSelection(cluster: ClusterSpec): string {
  const { names, selector, exclude } = cluster.namespaces;
  const where = [
    ...(names.length > 0 ? [`named ${names.join(', ')}`] : []),
    ...(selector !== undefined ? [`labelled ${selector}`] : []),
  ];
  const narrowed = narrowedSecrets(cluster).map(
    (grant) => `${grant.secretName} only in ${(grant.namespaces ?? []).join(', ')}`,
  );
  return [
    `${where.length > 0 ? where.join(' or ') : 'none'}`,
    ...(exclude.length > 0 ? [` except ${exclude.join(', ')}`] : []),
    ...(needsNamespaceListing(cluster.namespaces)
      ? [' (a glob or selector never selects a system namespace)']
      : []),
    ...(narrowed.length > 0 ? [`; ${narrowed.join('; ')}`] : []),
  ].join('');
}

/**
 * The secret guard: one ValidatingAdmissionPolicy and its binding, for requests made by cred-courier's
 * identity only (RBAC decides everything else). `create` on Secrets cannot be limited by name in RBAC,
 * `patch` arrives here as UPDATE, and with globs or a selector the role is cluster-wide, so this is what
 * holds the identity to its own objects:
 *
 * - Secrets: only the managed names, each with its kind's type (never changed), carrying the managed-by
 *   label; an update only of a Secret that already carries it (`oldObject`) — unless the cluster sets
 *   `adoptExistingSecrets`, which is exactly the operator's consent to take over Secrets of these names —
 *   and never of another installation's Secret; finalizers, ownerReferences and `immutable` never set
 *   or changed (each would let the identity block updates or deletion of a Secret);
 * - writes only in the namespaces the cluster selects, each name only where delivery writes it (globs as
 *   regular expressions, the selector on the Namespace's labels), and never in kube-system, kube-public
 *   or kube-node-lease unless the file names that namespace exactly;
 * - DELETE only of a Secret proven this installation's (as `isOwnedBy`: managed-by, the installation
 *   label absent or this one, the cluster label absent or this cluster), in any namespace: prune removes
 *   Secrets from namespaces that left the selection;
 * - labels and annotations: only cred-courier's own keys (every value of LABELS and ANNOTATIONS) may be
 *   set; every other key stays exactly as it was (never added, changed or removed by the identity);
 * - ServiceAccounts (ECR only; RBAC names them): only `imagePullSecrets` changes, and only by adding (in
 *   a selected namespace) or removing entries that name the ECR pull Secret; labels and annotations as
 *   above with no own keys.
 */
export function secretGuard(
  cluster: ClusterSpec,
  control: string,
  labels: Record<string, string>,
): Manifest[] {
  const names = managedSecretNames(cluster);
  if (names.length === 0) return [];
  const typeOf = celMap(kindSecrets(cluster).map((secret) => [secret.secretName, secret.type] as const));
  const pullSecretNames = cluster.ecr ? [cluster.ecr.secretName] : [];
  const guardsServiceAccounts = cluster.ecr !== undefined && cluster.ecr.serviceAccounts.length > 0;
  const named = namedSystemNamespaces(cluster);
  const forbiddenNamespaces = [...SYSTEM_NAMESPACES].filter((namespace) => !named.has(namespace)).sort();
  const ownLabels = celList(sorted(Object.values(LABELS)));
  const ownAnnotations = celList(sorted(Object.values(ANNOTATIONS)));
  const managedBy = celString(LABELS.managedBy);
  const installation = celString(LABELS.installation);
  const clusterLabel = celString(LABELS.cluster);
  const policyName = objectName(control, 'secret-guard');
  // Names written in every selected namespace, and names of grants that list their own namespaces.
  const everywhereNames = sorted(everywhere(cluster).map((secret) => secret.secretName));
  const byNamespace = new Map<string, string[]>();
  for (const grant of narrowedSecrets(cluster)) {
    for (const namespace of grant.namespaces ?? [])
      byNamespace.set(namespace, sorted([...(byNamespace.get(namespace) ?? []), grant.secretName]));
  }
  const grantNamespaces = `{${[...byNamespace.keys()]
    .sort()
    .map((namespace) => `${celString(namespace)}: ${celList(byNamespace.get(namespace) ?? [])}`)
    .join(', ')}}`;
  const namesHere =
    byNamespace.size > 0
      ? `variables.selected ? ${celList(everywhereNames)} + (request.namespace in ${grantNamespaces} ? ${grantNamespaces}[request.namespace] : []) : []`
      : `variables.selected ? ${celList(everywhereNames)} : []`;
  const secretsOnly = (expression: string) => `!variables.secret || (${expression})`;
  const serviceAccountsOnly = (expression: string) => `variables.secret || (${expression})`;
  /** A rule on what a CREATE or UPDATE writes; a DELETE writes nothing (and has no `object`). */
  const writesOnly = (expression: string) => `variables.delete || (${expression})`;
  /** Keys of `map` outside `own` are exactly as in `old`: not added, changed or removed. */
  const foreignKeysKept = (map: string, old: string, own: string) =>
    `variables.${map}.all(k, k in variables.${own} || (k in variables.${old} && variables.${old}[k] == variables.${map}[k])) && ` +
    `variables.${old}.all(k, k in variables.${own} || k in variables.${map})`;
  const pullSecretsOf = (object: string) =>
    `has(${object}.imagePullSecrets) ? ${object}.imagePullSecrets.map(r, has(r.name) ? r.name : '') : []`;
  const blockingFields = ['metadata.finalizers', 'metadata.ownerReferences', 'immutable'];

  const validations = [
    {
      expression: secretsOnly(`variables.name in ${celList(names)}`),
      message: `cred-courier may only write or delete the Secrets it manages: ${names.join(', ')}`,
    },
    {
      expression: secretsOnly(
        writesOnly(
          `object.metadata.name in ${typeOf} && object.type == ${typeOf}[object.metadata.name] && (!variables.update || object.type == oldObject.type)`,
        ),
      ),
      message: `cred-courier's Secrets have their kind's type (${typeOf}), never changed`,
    },
    {
      expression: secretsOnly(
        writesOnly(`${managedBy} in variables.labels && variables.labels[${managedBy}] == '${MANAGER}'`),
      ),
      message: `cred-courier's Secrets carry ${LABELS.managedBy}=${MANAGER}`,
    },
    ...(cluster.adoptExistingSecrets
      ? []
      : [
          {
            expression: secretsOnly(
              `!variables.update || (${managedBy} in variables.oldLabels && variables.oldLabels[${managedBy}] == '${MANAGER}')`,
            ),
            message: `cred-courier may only update Secrets that already carry ${LABELS.managedBy}=${MANAGER} (set adoptExistingSecrets on the cluster to take over existing ones)`,
          },
        ]),
    {
      // (DELETE: the delete rule below checks the installation too, with the delete message.)
      expression: secretsOnly(
        writesOnly(
          `(!(${installation} in variables.oldLabels) || variables.oldLabels[${installation}] == ${celString(control)}) && (!(${installation} in variables.labels) || variables.labels[${installation}] == ${celString(control)})`,
        ),
      ),
      message: `cred-courier installation ${control} may only write its own Secrets (${LABELS.installation}=${control})`,
    },
    {
      expression: secretsOnly(
        `!variables.delete || (${managedBy} in variables.oldLabels && variables.oldLabels[${managedBy}] == '${MANAGER}' && (!(${installation} in variables.oldLabels) || variables.oldLabels[${installation}] == ${celString(control)}) && (!(${clusterLabel} in variables.oldLabels) || variables.oldLabels[${clusterLabel}] == ${celString(cluster.name)}))`,
      ),
      message: `cred-courier may only delete its own Secrets: ${LABELS.managedBy}=${MANAGER}, ${LABELS.installation}=${control} (or none, from before installations), ${LABELS.cluster}=${cluster.name} (or none)`,
    },
    {
      expression: secretsOnly(
        writesOnly(
          `variables.update ? ${blockingFields.map(unchangedField).join(' && ')} : ${blockingFields.map((field) => `!has(object.${field})`).join(' && ')}`,
        ),
      ),
      message:
        'cred-courier never sets or changes finalizers, ownerReferences or immutable on a Secret (they stay as they were)',
    },
    {
      expression: writesOnly(foreignKeysKept('labels', 'oldLabels', 'ownLabels')),
      message:
        'cred-courier may set only its own labels; other labels stay as they were (not added, changed or removed)',
    },
    {
      expression: writesOnly(foreignKeysKept('annotations', 'oldAnnotations', 'ownAnnotations')),
      message:
        'cred-courier may set only its own annotations; other annotations stay as they were (not added, changed or removed)',
    },
    ...(forbiddenNamespaces.length > 0
      ? [
          {
            expression: writesOnly(`!(request.namespace in ${celList(forbiddenNamespaces)})`),
            message: `cred-courier does not write in ${forbiddenNamespaces.join(', ')} (only in system namespaces its cluster entry names exactly)`,
          },
        ]
      : []),
    {
      expression: secretsOnly(writesOnly('object.metadata.name in variables.namesHere')),
      message: `cred-courier writes each Secret only in the namespaces its cluster entry delivers it to: ${describeSelection(cluster)}`,
    },
    ...(guardsServiceAccounts
      ? [
          {
            expression: serviceAccountsOnly(
              `variables.pullSecrets.all(n, n in variables.oldPullSecrets || (n in ${celList(pullSecretNames)} && variables.selected)) && variables.oldPullSecrets.all(n, n in variables.pullSecrets || n in ${celList(pullSecretNames)})`,
            ),
            message: `cred-courier may only add (in the namespaces its cluster entry selects) or remove its own imagePullSecrets entry (${pullSecretNames.join(', ')}) on a ServiceAccount`,
          },
          {
            expression: serviceAccountsOnly(
              ['secrets', 'automountServiceAccountToken', 'metadata.ownerReferences', 'metadata.finalizers']
                .map(unchangedField)
                .join(' && '),
            ),
            message: 'cred-courier changes nothing of a ServiceAccount but its own imagePullSecrets entry',
          },
        ]
      : []),
  ];

  return [
    {
      apiVersion: ADMISSION_API,
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: policyName, labels },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              operations: ['CREATE', 'UPDATE', 'DELETE'],
              resources: ['secrets'],
            },
            ...(guardsServiceAccounts
              ? [
                  {
                    apiGroups: [''],
                    apiVersions: ['v1'],
                    operations: ['UPDATE'],
                    resources: ['serviceaccounts'],
                  },
                ]
              : []),
          ],
        },
        matchConditions: [
          {
            name: 'cred-courier-identity',
            expression: `request.userInfo.username == ${celString(serviceAccountUser(control))}`,
          },
        ],
        // Absent maps read as empty ones; `old*` are empty on CREATE (there is no oldObject), the new
        // ones on DELETE (there is no object).
        variables: [
          { name: 'secret', expression: "request.resource.resource == 'secrets'" },
          { name: 'update', expression: "request.operation == 'UPDATE'" },
          { name: 'delete', expression: "request.operation == 'DELETE'" },
          { name: 'name', expression: 'variables.delete ? oldObject.metadata.name : object.metadata.name' },
          { name: 'ownLabels', expression: `variables.secret ? ${ownLabels} : []` },
          { name: 'ownAnnotations', expression: `variables.secret ? ${ownAnnotations} : []` },
          {
            name: 'labels',
            expression: '!variables.delete && has(object.metadata.labels) ? object.metadata.labels : {}',
          },
          {
            name: 'oldLabels',
            expression:
              "request.operation != 'CREATE' && has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}",
          },
          {
            name: 'annotations',
            expression:
              '!variables.delete && has(object.metadata.annotations) ? object.metadata.annotations : {}',
          },
          {
            name: 'oldAnnotations',
            expression:
              "request.operation != 'CREATE' && has(oldObject.metadata.annotations) ? oldObject.metadata.annotations : {}",
          },
          {
            name: 'namespaceLabels',
            expression: 'has(namespaceObject.metadata.labels) ? namespaceObject.metadata.labels : {}',
          },
          // The cluster's selection, evaluated on the request's namespace (see selectionCel).
          { name: 'selected', expression: selectionCel(cluster.namespaces) },
          // The managed names delivery writes in the request's namespace.
          { name: 'namesHere', expression: namesHere },
          ...(guardsServiceAccounts
            ? [
                { name: 'pullSecrets', expression: pullSecretsOf('object') },
                { name: 'oldPullSecrets', expression: pullSecretsOf('oldObject') },
              ]
            : []),
        ],
        validations,
      },
    },
    {
      apiVersion: ADMISSION_API,
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: policyName, labels },
      spec: { policyName, validationActions: ['Deny'] },
    },
  ];
}

/**
 * Every permission delivery needs on the cluster, once its namespaces are known (`namespaces`: the
 * cluster's selection as resolved on the cluster, or the exact names). What `register` and `check` ask
 * the apiserver with a SelfSubjectAccessReview each.
 */
export function requiredPermissions(
  cluster: ClusterSpec,
  settings: Pick<Settings, 'controlNamespace'>,
  namespaces: readonly string[],
): Permission[] {
  const control = settings.controlNamespace;
  const permissions: Permission[] = [
    { verb: 'create', resource: 'configmaps', group: '', namespace: control },
    { verb: 'get', resource: 'configmaps', group: '', namespace: control, name: INVENTORY_NAME },
    { verb: 'update', resource: 'configmaps', group: '', namespace: control, name: INVENTORY_NAME },
    {
      verb: 'create',
      resource: 'serviceaccounts',
      subresource: 'token',
      group: '',
      namespace: control,
      name: SERVICE_ACCOUNT,
    },
  ];
  if (needsNamespaceListing(cluster.namespaces)) {
    permissions.push({ verb: 'list', resource: 'namespaces', group: '' });
  }
  for (const namespace of sorted(namespaces)) {
    const grant = grantIn(cluster, namespace);
    if (grant.secretNames.length === 0) continue;
    permissions.push({ verb: 'create', resource: 'secrets', group: '', namespace });
    for (const name of grant.secretNames) {
      for (const verb of ['get', 'patch', 'delete']) {
        permissions.push({ verb, resource: 'secrets', group: '', namespace, name });
      }
    }
    for (const name of grant.serviceAccounts) {
      for (const verb of ['get', 'patch']) {
        permissions.push({ verb, resource: 'serviceaccounts', group: '', namespace, name });
      }
    }
  }
  return permissions;
}

/** `verb resource[/name] [in namespace]`, for messages. */
export function describePermission(p: Permission): string {
  const resource = p.subresource ? `${p.resource}/${p.subresource}` : p.resource;
  const what = `${p.group ? `${resource}.${p.group}` : resource}${p.name ? `/${p.name}` : ''}`;
  return `${p.verb} ${what}${p.namespace ? ` in ${p.namespace}` : ' (cluster-wide)'}`;
}

/** A rule as a warning says it: `create on secrets of any name`, `get/patch on serviceaccounts named default`. */
function describeRule(rule: PolicyRule): string {
  const group = rule.apiGroups.filter((g) => g !== '').map((g) => `.${g}`);
  const resources = rule.resources.map((resource) => `${resource}${group.join('')}`).join(', ');
  const listing = rule.verbs.every((verb) => verb === 'list' || verb === 'watch');
  const names =
    rule.resourceNames !== undefined
      ? ` named ${rule.resourceNames.join(', ')}`
      : listing
        ? ''
        : ' of any name';
  return `${rule.verbs.join('/')} on ${resources}${names}`;
}

/**
 * What the ClusterRoles of a glob or selector cluster allow, said plainly, or undefined when its RBAC is
 * only Roles. Read off the manifests `rbacManifests` makes, so it names exactly what is applied: RBAC
 * cannot bind to namespaces that are not known when the objects are made, so what delivery does in
 * each selected namespace is allowed in every namespace, and only the secret guard narrows it.
 */
export function clusterRoleWarning(
  cluster: ClusterSpec,
  settings: Pick<Settings, 'controlNamespace'>,
): string | undefined {
  const clusterRoles = rbacManifests(cluster, settings).filter((m) => m.kind === 'ClusterRole');
  if (clusterRoles.length === 0) return undefined;
  const { names, selector } = cluster.namespaces;
  const by = [
    ...names.filter(isGlob).map((glob) => `glob ${glob}`),
    ...(selector === undefined ? [] : [`selector ${selector}`]),
  ].join(', ');
  const allows = clusterRoles.map((role) => {
    const rules = (role.rules as readonly PolicyRule[]).map(describeRule);
    return `ClusterRole ${role.metadata.name} allows ${rules.join('; ')}`;
  });
  return (
    `cluster ${cluster.name} selects namespaces by ${by}, so its RBAC is cluster-wide (bound by ClusterRoleBindings, ` +
    `in every namespace, kube-system included): ${allows.join('. ')}. The secret guard (a ValidatingAdmissionPolicy) ` +
    "is what holds those writes to the selected namespaces and cred-courier's own Secrets; to narrow the RBAC itself " +
    'to a Role in each namespace, name the namespaces exactly (no globs, no selector)'
  );
}
