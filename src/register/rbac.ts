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
import type { ClusterSpec, Settings } from '../config/types.ts';
import { ANNOTATIONS, LABELS, MANAGER, ownerLabels } from '../kinds/metadata.ts';
import { INVENTORY_NAME } from '../kube/inventory.ts';
import { needsNamespaceListing, SYSTEM_NAMESPACES, selectNamespaces } from '../plan/namespaces.ts';

/** The ServiceAccount (in the control namespace) whose token cred-courier stores. */
export const SERVICE_ACCOUNT = 'cred-courier';
/** The `kubernetes.io/service-account-token` Secret of `register --long-lived-token`. */
export const TOKEN_SECRET = 'cred-courier-token';

/** The Secret types cred-courier's kinds write: ECR pull Secrets and S3 session Secrets. */
export const SECRET_TYPES = { ecr: 'kubernetes.io/dockerconfigjson', s3: 'Opaque' } as const;

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
  const secretNames = [
    ...(cluster.ecr ? [cluster.ecr.secretName] : []),
    ...cluster.s3.filter((g) => !g.namespaces || g.namespaces.includes(namespace)).map((g) => g.secretName),
  ];
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
    secretNames: sorted([
      ...(cluster.ecr ? [cluster.ecr.secretName] : []),
      ...cluster.s3.filter((g) => !g.namespaces).map((g) => g.secretName),
    ]),
    serviceAccounts: sorted(cluster.ecr?.serviceAccounts ?? []),
  };
  const excluded = new Set(
    cluster.s3
      .flatMap((g) => g.namespaces ?? [])
      .filter((ns) => selectNamespaces({ names: [ns], exclude: cluster.namespaces.exclude }).length === 0),
  );
  for (const grant of cluster.s3) {
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

/** CEL string list literal; names are DNS subdomains, so no quoting problems. */
const celList = (values: readonly string[]) => `[${values.map((v) => `'${v}'`).join(', ')}]`;

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
  return sorted([...(cluster.ecr ? [cluster.ecr.secretName] : []), ...cluster.s3.map((g) => g.secretName)]);
}

/** CEL map literal of strings (names and types are DNS subdomains and type names: no quoting problems). */
const celMap = (entries: readonly (readonly [string, string])[]) =>
  `{${entries.map(([key, value]) => `'${key}': '${value}'`).join(', ')}}`;

/** CEL: `field` (a path below `object`) is absent on both objects or equal on both. */
const unchangedField = (field: string) =>
  `(has(object.${field}) == has(oldObject.${field}) && (!has(object.${field}) || object.${field} == oldObject.${field}))`;

/** The system namespaces the cluster's file names exactly (delivery may write there only then). */
function namedSystemNamespaces(cluster: ClusterSpec): Set<string> {
  const exact = selectNamespaces({ names: cluster.namespaces.names, exclude: cluster.namespaces.exclude });
  return new Set(exact.filter((namespace) => SYSTEM_NAMESPACES.has(namespace)));
}

/**
 * The secret guard: one ValidatingAdmissionPolicy and its binding, for requests made by cred-courier's
 * identity only (RBAC decides everything else). `create` on Secrets cannot be limited by name in RBAC,
 * and `patch` arrives here as UPDATE, so this is what holds the identity to its own objects:
 *
 * - Secrets: only the managed names, each with its kind's type (never changed), carrying the managed-by
 *   label; an update only of a Secret that already carries it (`oldObject`) — unless the cluster sets
 *   `adoptExistingSecrets`, which is exactly the operator's consent to take over Secrets of these names —
 *   and never of another installation's Secret;
 * - labels and annotations: only cred-courier's own keys (every value of LABELS and ANNOTATIONS) may be
 *   set; every other key stays exactly as it was (never added, changed or removed by the identity);
 * - ServiceAccounts (ECR only; RBAC names them): only `imagePullSecrets` changes, and only by adding or
 *   removing entries that name the ECR pull Secret; labels and annotations as above with no own keys;
 * - never in kube-system, kube-public or kube-node-lease unless the file names that namespace exactly.
 */
export function secretGuard(
  cluster: ClusterSpec,
  control: string,
  labels: Record<string, string>,
): Manifest[] {
  const names = managedSecretNames(cluster);
  if (names.length === 0) return [];
  const typeOf = celMap([
    ...(cluster.ecr ? [[cluster.ecr.secretName, SECRET_TYPES.ecr] as const] : []),
    ...cluster.s3.map((grant) => [grant.secretName, SECRET_TYPES.s3] as const),
  ]);
  const pullSecretNames = cluster.ecr ? [cluster.ecr.secretName] : [];
  const guardsServiceAccounts = cluster.ecr !== undefined && cluster.ecr.serviceAccounts.length > 0;
  const named = namedSystemNamespaces(cluster);
  const forbiddenNamespaces = [...SYSTEM_NAMESPACES].filter((namespace) => !named.has(namespace)).sort();
  const ownLabels = celList(sorted(Object.values(LABELS)));
  const ownAnnotations = celList(sorted(Object.values(ANNOTATIONS)));
  const managedBy = `'${LABELS.managedBy}'`;
  const installation = `'${LABELS.installation}'`;
  const policyName = objectName(control, 'secret-guard');
  const secretsOnly = (expression: string) => `!variables.secret || (${expression})`;
  const serviceAccountsOnly = (expression: string) => `variables.secret || (${expression})`;
  /** Keys of `map` outside `own` are exactly as in `old`: not added, changed or removed. */
  const foreignKeysKept = (map: string, old: string, own: string) =>
    `variables.${map}.all(k, k in variables.${own} || (k in variables.${old} && variables.${old}[k] == variables.${map}[k])) && ` +
    `variables.${old}.all(k, k in variables.${own} || k in variables.${map})`;
  const pullSecretsOf = (object: string) =>
    `has(${object}.imagePullSecrets) ? ${object}.imagePullSecrets.map(r, has(r.name) ? r.name : '') : []`;

  const validations = [
    {
      expression: secretsOnly(`object.metadata.name in ${celList(names)}`),
      message: `cred-courier may only write the Secrets it manages: ${names.join(', ')}`,
    },
    {
      expression: secretsOnly(
        `object.metadata.name in ${typeOf} && object.type == ${typeOf}[object.metadata.name] && (!variables.update || object.type == oldObject.type)`,
      ),
      message: `cred-courier's Secrets have their kind's type (${typeOf}), never changed`,
    },
    {
      expression: secretsOnly(
        `${managedBy} in variables.labels && variables.labels[${managedBy}] == '${MANAGER}'`,
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
      expression: secretsOnly(
        `(!(${installation} in variables.oldLabels) || variables.oldLabels[${installation}] == '${control}') && (!(${installation} in variables.labels) || variables.labels[${installation}] == '${control}')`,
      ),
      message: `cred-courier installation ${control} may only write its own Secrets (${LABELS.installation}=${control})`,
    },
    {
      expression: foreignKeysKept('labels', 'oldLabels', 'ownLabels'),
      message:
        'cred-courier may set only its own labels; other labels stay as they were (not added, changed or removed)',
    },
    {
      expression: foreignKeysKept('annotations', 'oldAnnotations', 'ownAnnotations'),
      message:
        'cred-courier may set only its own annotations; other annotations stay as they were (not added, changed or removed)',
    },
    ...(forbiddenNamespaces.length > 0
      ? [
          {
            expression: `!(request.namespace in ${celList(forbiddenNamespaces)})`,
            message: `cred-courier does not write in ${forbiddenNamespaces.join(', ')} (only in system namespaces its cluster entry names exactly)`,
          },
        ]
      : []),
    ...(guardsServiceAccounts
      ? [
          {
            expression: serviceAccountsOnly(
              `variables.pullSecrets.all(n, n in variables.oldPullSecrets || n in ${celList(pullSecretNames)}) && variables.oldPullSecrets.all(n, n in variables.pullSecrets || n in ${celList(pullSecretNames)})`,
            ),
            message: `cred-courier may only add or remove its own imagePullSecrets entry (${pullSecretNames.join(', ')}) on a ServiceAccount`,
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
              operations: ['CREATE', 'UPDATE'],
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
            expression: `request.userInfo.username == '${serviceAccountUser(control)}'`,
          },
        ],
        // Absent maps read as empty ones; `old*` are empty on CREATE (there is no oldObject).
        variables: [
          { name: 'secret', expression: "request.resource.resource == 'secrets'" },
          { name: 'update', expression: "request.operation == 'UPDATE'" },
          { name: 'ownLabels', expression: `variables.secret ? ${ownLabels} : []` },
          { name: 'ownAnnotations', expression: `variables.secret ? ${ownAnnotations} : []` },
          { name: 'labels', expression: 'has(object.metadata.labels) ? object.metadata.labels : {}' },
          {
            name: 'oldLabels',
            expression: 'variables.update && has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}',
          },
          {
            name: 'annotations',
            expression: 'has(object.metadata.annotations) ? object.metadata.annotations : {}',
          },
          {
            name: 'oldAnnotations',
            expression:
              'variables.update && has(oldObject.metadata.annotations) ? oldObject.metadata.annotations : {}',
          },
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
