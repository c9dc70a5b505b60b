import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { ClusterSpec, Config } from '../../../src/config/types.ts';
import { ANNOTATIONS, LABELS } from '../../../src/kinds/metadata.ts';
import {
  celString,
  clusterRoleWarning,
  deliveryScope,
  describePermission,
  type Manifest,
  objectName,
  type Permission,
  type PolicyRule,
  rbacManifests,
  requiredPermissions,
  selectionCel,
} from '../../../src/register/rbac.ts';

const ROLE = 'arn:aws:iam::111122223333:role/s3';

/** A file with one exact-names cluster and one glob cluster, both with ECR and S3 grants. */
const FILE = `
settings:
  controlNamespace: cc-system
clusters:
  - name: exact
    kubeconfigSecret: k/exact
    namespaces: { names: [app, web, kube-system, legacy], exclude: [legacy] }
    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }], serviceAccounts: [default, builder] }
    s3:
      - { secretName: reports, roleArn: "${ROLE}", region: eu-west-1, buckets: [{ bucket: bkt-1, access: read }] }
      - { secretName: exports, roleArn: "${ROLE}", region: eu-west-1, namespaces: [web], buckets: [{ bucket: bkt-2, access: write }] }
  - name: globbed
    kubeconfigSecret: k/globbed
    namespaces: { names: ["team-*", data], selector: "env=prod" }
    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }
    s3:
      - { secretName: raw, roleArn: "${ROLE}", region: eu-west-1, namespaces: [data], buckets: [{ bucket: bkt-3, access: readwrite }] }
  - name: s3-only
    kubeconfigSecret: k/s3only
    namespaces: { names: [app] }
    s3:
      - { secretName: reports, roleArn: "${ROLE}", region: eu-west-1, buckets: [{ bucket: bkt-1, access: read }] }
`;

const config: Config = parseConfig(FILE, 'test.yaml');
const cluster = (name: string): ClusterSpec => {
  const found = config.clusters.find((c) => c.name === name);
  if (!found) throw new Error(name);
  return found;
};
const find = (manifests: readonly Manifest[], kind: string, namespace?: string) =>
  manifests.find((m) => m.kind === kind && m.metadata.namespace === namespace);
const rulesOf = (manifests: readonly Manifest[], kind: string, namespace?: string, name?: string) =>
  manifests.find(
    (m) =>
      m.kind === kind &&
      m.metadata.namespace === namespace &&
      (name === undefined || m.metadata.name === name),
  )?.rules as PolicyRule[] | undefined;

describe('rbacManifests', () => {
  it('gives each exactly named namespace a Role with exactly what delivery does there', () => {
    // Act
    const manifests = rbacManifests(cluster('exact'), config.settings);

    // Assess
    expect(manifests.map((m) => `${m.kind} ${m.metadata.namespace ?? ''}/${m.metadata.name}`)).toEqual([
      'Namespace /cc-system',
      'ServiceAccount cc-system/cred-courier',
      'Role cc-system/cred-courier-cc-system',
      'RoleBinding cc-system/cred-courier-cc-system',
      'Role app/cred-courier-cc-system',
      'RoleBinding app/cred-courier-cc-system',
      'Role kube-system/cred-courier-cc-system',
      'RoleBinding kube-system/cred-courier-cc-system',
      'Role web/cred-courier-cc-system',
      'RoleBinding web/cred-courier-cc-system',
      'ValidatingAdmissionPolicy /cred-courier-cc-system-secret-guard',
      'ValidatingAdmissionPolicyBinding /cred-courier-cc-system-secret-guard',
    ]);
    expect(rulesOf(manifests, 'Role', 'cc-system')).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['configmaps'],
        verbs: ['get', 'update'],
        resourceNames: ['cred-courier-inventory'],
      },
      // Token renewal: a TokenRequest for its own ServiceAccount, no other.
      {
        apiGroups: [''],
        resources: ['serviceaccounts/token'],
        verbs: ['create'],
        resourceNames: ['cred-courier'],
      },
    ]);
    expect(rulesOf(manifests, 'Role', 'app')).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['secrets'],
        verbs: ['get', 'patch', 'delete'],
        resourceNames: ['ecr-pull', 'reports'],
      },
      {
        apiGroups: [''],
        resources: ['serviceaccounts'],
        verbs: ['get', 'patch'],
        resourceNames: ['builder', 'default'],
      },
    ]);
    // The grant naming web adds its Secret there only.
    expect(rulesOf(manifests, 'Role', 'web')?.[1]?.resourceNames).toEqual(['ecr-pull', 'exports', 'reports']);
    expect(find(manifests, 'Role', 'legacy')).toBeUndefined();
    expect(manifests.some((m) => m.kind.startsWith('Cluster'))).toBe(false);
    expect(find(manifests, 'RoleBinding', 'app')).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cred-courier-cc-system' },
      subjects: [{ kind: 'ServiceAccount', name: 'cred-courier', namespace: 'cc-system' }],
    });
    for (const manifest of manifests) {
      expect(manifest.metadata.labels).toEqual({
        'app.kubernetes.io/managed-by': 'cred-courier',
        'cred-courier.io/cluster': 'exact',
        // The installation is the control namespace: two installations never claim each other's objects.
        'cred-courier.io/installation': 'cc-system',
      });
    }
  });

  it('with globs or a selector, binds the name-scoped rules cluster-wide and adds namespace listing', () => {
    // Act
    const manifests = rbacManifests(cluster('globbed'), config.settings);

    // Assess
    expect(rulesOf(manifests, 'ClusterRole', undefined, 'cred-courier-cc-system-list-namespaces')).toEqual([
      { apiGroups: [''], resources: ['namespaces'], verbs: ['list'] },
    ]);
    expect(rulesOf(manifests, 'ClusterRole', undefined, 'cred-courier-cc-system-delivery')).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['secrets'],
        verbs: ['get', 'patch', 'delete'],
        resourceNames: ['ecr-pull'],
      },
      {
        apiGroups: [''],
        resources: ['serviceaccounts'],
        verbs: ['get', 'patch'],
        resourceNames: ['default'],
      },
    ]);
    expect(manifests.filter((m) => m.kind === 'ClusterRoleBinding').map((m) => m.roleRef)).toEqual([
      {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'cred-courier-cc-system-list-namespaces',
      },
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cred-courier-cc-system-delivery' },
    ]);
    // A grant naming its namespaces keeps namespace-scoped rules for its own Secret.
    expect(rulesOf(manifests, 'Role', 'data')).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'patch', 'delete'], resourceNames: ['raw'] },
    ]);
  });

  it('never grants list or watch on Secrets, nor any Secret verb but create without resourceNames', () => {
    for (const spec of config.clusters) {
      const rules = rbacManifests(spec, config.settings).flatMap(
        (m) => (m.rules as PolicyRule[] | undefined) ?? [],
      );
      for (const rule of rules.filter((r) => r.resources.includes('secrets'))) {
        expect(rule.verbs).not.toContain('list');
        expect(rule.verbs).not.toContain('watch');
        if (!rule.resourceNames) expect(rule.verbs).toEqual(['create']);
      }
      for (const rule of rules.filter((r) => !r.resourceNames)) {
        expect(['create', 'list']).toContain(rule.verbs.join(','));
      }
    }
  });

  it("gives ServiceAccount rules only where ECR applies and a guard for the cluster's own names and types", () => {
    // Act
    const manifests = rbacManifests(cluster('s3-only'), config.settings);

    // Assess
    expect(rulesOf(manifests, 'Role', 'app')?.some((r) => r.resources.includes('serviceaccounts'))).toBe(
      false,
    );
    const policy = guardOf(manifests);
    expect(policy.spec).toMatchObject({
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [{ resources: ['secrets'], operations: ['CREATE', 'UPDATE', 'DELETE'] }],
      },
      matchConditions: [
        { expression: "request.userInfo.username == 'system:serviceaccount:cc-system:cred-courier'" },
      ],
    });
    const expressions = policy.spec.validations.map((v) => v.expression);
    expect(expressions).toEqual(
      expect.arrayContaining([
        "!variables.secret || (variables.name in ['reports'])",
        expect.stringContaining("object.type == {'reports': 'Opaque'}[object.metadata.name]"),
        expect.stringContaining("variables.labels['app.kubernetes.io/managed-by'] == 'cred-courier'"),
        expect.stringContaining("variables.oldLabels['app.kubernetes.io/managed-by'] == 'cred-courier'"),
        "variables.delete || (!(request.namespace in ['kube-node-lease', 'kube-public', 'kube-system']))",
      ]),
    );
    // No ECR: no ServiceAccount is written, so none is matched.
    expect(expressions.some((e) => e.includes('imagePullSecrets'))).toBe(false);
    expect(find(manifests, 'ValidatingAdmissionPolicyBinding')).toMatchObject({
      spec: { policyName: 'cred-courier-cc-system-secret-guard', validationActions: ['Deny'] },
    });
  });
});

interface Guard {
  spec: {
    matchConstraints: { resourceRules: { resources: string[] }[] };
    variables: { name: string; expression: string }[];
    validations: { expression: string; message: string }[];
  };
}
const guardOf = (manifests: readonly Manifest[]) =>
  find(manifests, 'ValidatingAdmissionPolicy') as unknown as Guard;

describe('secret guard', () => {
  it("allows every one of cred-courier's own label and annotation keys and no other", () => {
    // Act
    const variables = guardOf(rbacManifests(cluster('exact'), config.settings)).spec.variables;

    // Assess
    const own = (name: string) => variables.find((v) => v.name === name)?.expression ?? '';
    for (const key of Object.values(LABELS)) expect(own('ownLabels')).toContain(`'${key}'`);
    for (const key of Object.values(ANNOTATIONS)) expect(own('ownAnnotations')).toContain(`'${key}'`);
    expect(own('ownLabels').match(/'/g)?.length).toBe(Object.values(LABELS).length * 2);
  });

  it('allows a system namespace only when the file names it exactly, and only the ECR entry on ServiceAccounts', () => {
    // Act
    const exact = guardOf(rbacManifests(cluster('exact'), config.settings));
    const globbed = guardOf(rbacManifests(cluster('globbed'), config.settings));

    // Assess
    const namespaceRule = (guard: Guard) =>
      guard.spec.validations.find((v) => v.expression.includes('request.namespace'))?.expression;
    expect(namespaceRule(exact)).toBe(
      "variables.delete || (!(request.namespace in ['kube-node-lease', 'kube-public']))",
    );
    expect(namespaceRule(globbed)).toBe(
      "variables.delete || (!(request.namespace in ['kube-node-lease', 'kube-public', 'kube-system']))",
    );
    expect(exact.spec.matchConstraints.resourceRules.map((r) => r.resources[0])).toEqual([
      'secrets',
      'serviceaccounts',
    ]);
    expect(exact.spec.validations.map((v) => v.expression)).toContainEqual(
      "variables.secret || (variables.pullSecrets.all(n, n in variables.oldPullSecrets || (n in ['ecr-pull'] && variables.selected)) && variables.oldPullSecrets.all(n, n in variables.pullSecrets || n in ['ecr-pull']))",
    );
  });

  it('lets updates take over a Secret without the label only when the cluster sets adoptExistingSecrets', () => {
    // Prepare
    const adopting = { ...cluster('s3-only'), adoptExistingSecrets: true };
    const ownershipRule = (guard: Guard) =>
      guard.spec.validations.filter((v) => v.message.includes('may only update Secrets that already carry'));

    // Act
    const strict = guardOf(rbacManifests(cluster('s3-only'), config.settings));
    const adopted = guardOf(rbacManifests(adopting, config.settings));

    // Assess
    expect(ownershipRule(strict)).toHaveLength(1);
    expect(ownershipRule(adopted)).toEqual([]);
    // Everything else still holds for adoption: names, types, other tools' keys, namespaces.
    expect(adopted.spec.validations).toHaveLength(strict.spec.validations.length - 1);
  });
  it('on DELETE reads only oldObject: every rule on the new object is skipped, and a delete needs the labels isOwnedBy checks', () => {
    // Act
    const guard = guardOf(rbacManifests(cluster('exact'), config.settings));

    // Assess
    const variable = (name: string) => guard.spec.variables.find((v) => v.name === name)?.expression;
    expect(variable('name')).toBe('variables.delete ? oldObject.metadata.name : object.metadata.name');
    expect(variable('labels')).toMatch(/^!variables\.delete && /);
    expect(variable('annotations')).toMatch(/^!variables\.delete && /);
    // `variables.labels` and `annotations` are empty on DELETE (above); the rest must not be read then.
    const readsNewObject = /(?<!old)object\.|variables\.(namesHere|pullSecrets)\b/;
    for (const { expression } of guard.spec.validations.filter((v) => readsNewObject.test(v.expression))) {
      // Skipped on DELETE, or on ServiceAccounts only (matched on UPDATE only).
      expect(expression).toMatch(
        /^(variables\.delete \|\||!variables\.secret \|\| \(variables\.delete \|\||variables\.secret \|\|)/,
      );
    }
    expect(guard.spec.validations.find((v) => v.message.includes('may only delete'))).toEqual({
      expression:
        "!variables.secret || (!variables.delete || ('app.kubernetes.io/managed-by' in variables.oldLabels && variables.oldLabels['app.kubernetes.io/managed-by'] == 'cred-courier' && (!('cred-courier.io/installation' in variables.oldLabels) || variables.oldLabels['cred-courier.io/installation'] == 'cc-system') && (!('cred-courier.io/cluster' in variables.oldLabels) || variables.oldLabels['cred-courier.io/cluster'] == 'exact')))",
      message:
        'cred-courier may only delete its own Secrets: app.kubernetes.io/managed-by=cred-courier, cred-courier.io/installation=cc-system (or none, from before installations), cred-courier.io/cluster=exact (or none)',
    });
  });

  it('never lets the identity set or change finalizers, ownerReferences or immutable on a Secret', () => {
    // Act
    const guard = guardOf(rbacManifests(cluster('s3-only'), config.settings));

    // Assess
    const rule = guard.spec.validations.find((v) => v.message.includes('finalizers'));
    for (const field of ['metadata.finalizers', 'metadata.ownerReferences', 'immutable']) {
      expect(rule?.expression).toContain(`!has(object.${field})`);
      expect(rule?.expression).toContain(`object.${field} == oldObject.${field}`);
    }
    expect(rule?.expression).toMatch(
      /^!variables\.secret \|\| \(variables\.delete \|\| \(variables\.update \? /,
    );
  });

  it('translates the selection to CEL: exact names, globs as anchored expressions, every selector operator, exclusions; globs and selectors never pick a system namespace', () => {
    // Act
    const cel = selectionCel({
      names: ['app', 'team-*', 'q?'],
      selector: 'env=prod,tier in (a,b),!legacy,zone!=x,owner,ring notin (0),role==',
      exclude: ['team-old*', 'scratch'],
    });
    const exactOnly = selectionCel({ names: ['app', 'web'], exclude: [] });
    const nothing = selectionCel({ names: [], exclude: [] });

    // Assess
    const L = 'variables.namespaceLabels';
    expect(cel).toBe(
      "(request.namespace in ['app'] || (!(request.namespace in ['kube-node-lease', 'kube-public', 'kube-system']) && " +
        "(request.namespace.matches('^team-.*$') || request.namespace.matches('^q.$') || " +
        `(('env' in ${L} && ${L}['env'] == 'prod') && ('tier' in ${L} && ${L}['tier'] in ['a', 'b']) && !('legacy' in ${L}) && ` +
        `(!('zone' in ${L}) || ${L}['zone'] != 'x') && 'owner' in ${L} && (!('ring' in ${L}) || !(${L}['ring'] in ['0'])) && ` +
        `('role' in ${L} && ${L}['role'] == ''))))) && ` +
        "!(request.namespace in ['scratch'] || request.namespace.matches('^team-old.*$'))",
    );
    expect(exactOnly).toBe("request.namespace in ['app', 'web']");
    expect(nothing).toBe('false');
  });

  it('holds each Secret name to the namespaces delivery writes it to, and says where that is', () => {
    // Act
    const exact = guardOf(rbacManifests(cluster('exact'), config.settings));
    const globbed = guardOf(rbacManifests(cluster('globbed'), config.settings));

    // Assess
    const variable = (guard: Guard, name: string) =>
      guard.spec.variables.find((v) => v.name === name)?.expression;
    expect(variable(exact, 'selected')).toBe(
      "(request.namespace in ['app', 'web', 'kube-system', 'legacy']) && !(request.namespace in ['legacy'])",
    );
    expect(variable(exact, 'namesHere')).toBe(
      "variables.selected ? ['ecr-pull', 'reports'] + (request.namespace in {'web': ['exports']} ? {'web': ['exports']}[request.namespace] : []) : []",
    );
    const rule = (guard: Guard) => guard.spec.validations.find((v) => v.expression.includes('namesHere'));
    expect(rule(exact)?.expression).toBe(
      '!variables.secret || (variables.delete || (object.metadata.name in variables.namesHere))',
    );
    expect(rule(globbed)?.message).toBe(
      'cred-courier writes each Secret only in the namespaces its cluster entry delivers it to: named team-*, data or labelled env=prod (a glob or selector never selects a system namespace); raw only in data',
    );
  });

  it('quotes CEL string literals: quotes, backslashes and line breaks are escaped', () => {
    expect(celString("it's \\ a\nb\rc")).toBe("'it\\'s \\\\ a\\nb\\rc'");
  });
});

describe('deliveryScope and requiredPermissions', () => {
  it('knows exact namespaces from the file and leaves glob namespaces to the cluster', () => {
    expect([...deliveryScope(cluster('exact'), config.settings).namespaced.keys()]).toEqual([
      'app',
      'kube-system',
      'web',
    ]);
    const globbed = deliveryScope(cluster('globbed'), config.settings);
    expect(globbed.listsNamespaces).toBe(true);
    expect(globbed.clusterWide?.secretNames).toEqual(['ecr-pull']);
  });

  it('lists every permission delivery needs in the resolved namespaces, and namespace listing for globs', () => {
    // Act
    const exact = requiredPermissions(cluster('exact'), config.settings, ['app']);
    const globbed = requiredPermissions(cluster('globbed'), config.settings, ['data', 'team-a']);

    // Assess
    expect(
      exact.map((p) => `${p.verb} ${describeResource(p)}${p.name ? `/${p.name}` : ''} ${p.namespace ?? '*'}`),
    ).toEqual([
      'create configmaps cc-system',
      'get configmaps/cred-courier-inventory cc-system',
      'update configmaps/cred-courier-inventory cc-system',
      'create serviceaccounts/token/cred-courier cc-system',
      'create secrets app',
      'get secrets/ecr-pull app',
      'patch secrets/ecr-pull app',
      'delete secrets/ecr-pull app',
      'get secrets/reports app',
      'patch secrets/reports app',
      'delete secrets/reports app',
      'get serviceaccounts/builder app',
      'patch serviceaccounts/builder app',
      'get serviceaccounts/default app',
      'patch serviceaccounts/default app',
    ]);
    expect(globbed).toContainEqual({ verb: 'list', resource: 'namespaces', group: '' });
    expect(globbed).toContainEqual({
      verb: 'get',
      resource: 'secrets',
      group: '',
      namespace: 'data',
      name: 'raw',
    });
    expect(globbed).not.toContainEqual({
      verb: 'get',
      resource: 'secrets',
      group: '',
      namespace: 'team-a',
      name: 'raw',
    });
  });
});

const describeResource = (p: { resource: string; subresource?: string }) =>
  p.subresource ? `${p.resource}/${p.subresource}` : p.resource;

describe('token renewal permission', () => {
  it('asks exactly create serviceaccounts/token on cred-courier in the control namespace, and the Role grants only that name', () => {
    // Act
    const permissions = requiredPermissions(cluster('exact'), config.settings, ['app']);
    const manifests = rbacManifests(cluster('exact'), config.settings);

    // Assess
    const renewal = permissions.filter((p) => p.subresource !== undefined);
    expect(renewal).toEqual([
      {
        verb: 'create',
        resource: 'serviceaccounts',
        subresource: 'token',
        group: '',
        namespace: 'cc-system',
        name: 'cred-courier',
      },
    ]);
    expect(describePermission(renewal[0] as Permission)).toBe(
      'create serviceaccounts/token/cred-courier in cc-system',
    );
    const tokenRules = manifests
      .filter((m) => m.kind === 'Role' || m.kind === 'ClusterRole')
      .flatMap((m) => (m.rules as PolicyRule[]).map((rule) => ({ namespace: m.metadata.namespace, rule })))
      .filter(({ rule }) => rule.resources.some((r) => r.startsWith('serviceaccounts/')));
    expect(tokenRules).toEqual([
      {
        namespace: 'cc-system',
        rule: {
          apiGroups: [''],
          resources: ['serviceaccounts/token'],
          verbs: ['create'],
          resourceNames: ['cred-courier'],
        },
      },
    ]);
  });
});

describe('objectName', () => {
  it('is plain with the default control namespace and carries any other', () => {
    expect(objectName('cred-courier')).toBe('cred-courier');
    expect(objectName('cred-courier', 'delivery')).toBe('cred-courier-delivery');
    expect(objectName('platform', 'delivery')).toBe('cred-courier-platform-delivery');
  });
});

describe('clusterRoleWarning', () => {
  it('names what the ClusterRoles of a glob and selector cluster allow, and what narrows them', () => {
    // Act
    const warning = clusterRoleWarning(cluster('globbed'), config.settings);

    // Assess
    expect(warning).toBe(
      'cluster globbed selects namespaces by glob team-*, selector env=prod, so its RBAC is cluster-wide (bound by ' +
        'ClusterRoleBindings, in every namespace, kube-system included): ClusterRole cred-courier-cc-system-list-namespaces ' +
        'allows list on namespaces. ClusterRole cred-courier-cc-system-delivery allows create on secrets of any name; ' +
        'get/patch/delete on secrets named ecr-pull; get/patch on serviceaccounts named default. The secret guard (a ' +
        "ValidatingAdmissionPolicy) is what holds those writes to the selected namespaces and cred-courier's own " +
        'Secrets; to narrow the RBAC itself to a Role in each namespace, name the namespaces exactly (no globs, no selector)',
    );
  });

  it('names every ClusterRole the manifests hold, for a selector alone too', () => {
    // Prepare
    const selectorOnly: ClusterSpec = {
      ...cluster('globbed'),
      namespaces: { names: [], selector: 'tier in (web,api)', exclude: [] },
    };

    // Act
    const warning = clusterRoleWarning(selectorOnly, config.settings) ?? '';
    const roles = rbacManifests(selectorOnly, config.settings).filter((m) => m.kind === 'ClusterRole');

    // Assess
    expect(warning).toMatch(/^cluster globbed selects namespaces by selector tier in \(web,api\), /);
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) expect(warning).toContain(`ClusterRole ${role.metadata.name} allows `);
  });

  it('is silent for exact namespace names, whose RBAC is only Roles', () => {
    // Act
    const warnings = ['exact', 's3-only'].map((name) => clusterRoleWarning(cluster(name), config.settings));
    const clusterRoles = ['exact', 's3-only'].flatMap((name) =>
      rbacManifests(cluster(name), config.settings).filter((m) => m.kind === 'ClusterRole'),
    );

    // Assess
    expect(warnings).toEqual([undefined, undefined]);
    expect(clusterRoles).toEqual([]);
  });
});
