import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/types.ts';
import { CredCourierError } from '../../../src/errors.ts';
import type { EcrRequest } from '../../../src/kinds/ecr/index.ts';
import { ecrKind } from '../../../src/kinds/ecr/index.ts';
import { KIND_IDS } from '../../../src/kinds/kind.ts';
import { type PlanOptions, planRun, type RunPlan, targetNamespaces } from '../../../src/plan/plan.ts';

const FILE = 'file.yaml';
const ROLE = 'arn:aws:iam::111122223333:role/pull';

/** Joins lines into a YAML text. */
function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** Lines of one cluster entry, with its ecr section as flow YAML (or none). */
function cluster(name: string, ecr?: string): string[] {
  return [
    `  - name: ${name}`,
    `    kubeconfigSecret: k/${name}`,
    '    namespaces: { names: [app] }',
    ...(ecr === undefined ? [] : [`    ecr: ${ecr}`]),
  ];
}

function config(...clusters: string[][]): Config {
  return parseConfig(yaml('clusters:', ...clusters.flat()), FILE);
}

/** Plans the ecr kind only, so these tests are about ECR scopes whatever other kinds exist. */
function planEcr(cfg: Config, options: PlanOptions = {}): RunPlan {
  return planRun(cfg, { kinds: ['ecr'], ...options });
}

describe('Function: planRun', () => {
  describe('mint deduplication', () => {
    it('mints each region once for two clusters that both pull from the same two regions', () => {
      // Prepare
      const ecr = '{ secretName: ecr-pull, registries: [{ region: eu-west-1 }, { region: us-east-1 }] }';
      const cfg = config(cluster('a', ecr), cluster('b', ecr));

      // Act
      const plan = planEcr(cfg);

      // Assess
      expect(plan.mints).toHaveLength(2);
      expect(plan.mints.map((mint) => (mint.request as EcrRequest).region).sort()).toEqual([
        'eu-west-1',
        'us-east-1',
      ]);
      for (const mint of plan.mints) expect(mint.clusters).toEqual(['a', 'b']);
    });

    // Clusters listing different accounts here are refused by validation (they would share the token).
    it('mints once for one region and several accountIds when no role is assumed and the clusters list the same accounts', () => {
      // Prepare
      const registries =
        '{ secretName: s, registries: [{ region: eu-west-1, accountId: "111122223333" }, { region: eu-west-1, accountId: "444455556666" }] }';
      const cfg = config(cluster('a', registries), cluster('b', registries));

      // Act
      const plan = planEcr(cfg);

      // Assess
      expect(plan.mints).toHaveLength(1);
      expect(plan.mints[0]?.clusters).toEqual(['a', 'b']);
    });

    it('mints separately for a role and for the default identity in the same region', () => {
      // Prepare
      const cfg = config(
        cluster(
          'a',
          `{ secretName: s, registries: [{ region: eu-west-1, accountId: "111122223333" }, { region: eu-west-1, accountId: "111122223333", roleArn: "${ROLE}" }] }`,
        ),
      );

      // Act
      const plan = planEcr(cfg);

      // Assess
      expect(plan.mints).toHaveLength(2);
      expect(plan.mints.map((mint) => (mint.request as EcrRequest).roleArn)).toEqual([undefined, ROLE]);
    });

    it('mints separately for the same role when the clusters name different repositories', () => {
      // Prepare
      const registries = `registries: [{ region: eu-west-1, accountId: "111122223333", roleArn: "${ROLE}" }]`;
      const cfg = config(
        cluster('a', `{ secretName: s, ${registries}, repositories: [app/api] }`),
        cluster('b', `{ secretName: s, ${registries}, repositories: [app/web] }`),
      );

      // Act
      const plan = planEcr(cfg);

      // Assess
      expect(plan.mints).toHaveLength(2);
      expect(plan.mints.map((mint) => mint.clusters)).toEqual([['a'], ['b']]);
    });

    it('mints once for the same role when the clusters name the same repositories in another order', () => {
      // Prepare
      const registries = `registries: [{ region: eu-west-1, accountId: "111122223333", roleArn: "${ROLE}" }]`;
      const cfg = config(
        cluster('a', `{ secretName: s, ${registries}, repositories: [app/api, "team-a/*"] }`),
        cluster('b', `{ secretName: s, ${registries}, repositories: ["team-a/*", app/api] }`),
      );

      // Act
      const plan = planEcr(cfg);

      // Assess
      expect(plan.mints).toHaveLength(1);
      expect(plan.mints[0]?.clusters).toEqual(['a', 'b']);
    });

    it('mints separately for the same role reaching different accounts', () => {
      // Prepare
      const cfg = config(
        cluster(
          'a',
          `{ secretName: s, registries: [{ region: eu-west-1, accountId: "111122223333", roleArn: "${ROLE}" }, { region: eu-west-1, accountId: "444455556666", roleArn: "${ROLE}" }] }`,
        ),
      );

      // Act
      const plan = planEcr(cfg);

      // Assess
      expect(plan.mints).toHaveLength(2);
    });

    it('plans no mints and no targets for clusters without ecr', () => {
      // Prepare
      const cfg = config(cluster('a'), cluster('b'));

      // Act
      const plan = planEcr(cfg);

      // Assess
      expect(plan.mints).toEqual([]);
      expect(plan.clusters.map((c) => c.targets)).toEqual([[], []]);
    });
  });

  describe('targets', () => {
    it("gives each target one scope key per request, in the requests' order, each naming a planned mint", () => {
      // Prepare
      const cfg = config(
        cluster(
          'a',
          `{ secretName: s, registries: [{ region: us-east-1 }, { region: eu-west-1, accountId: "111122223333", roleArn: "${ROLE}" }, { region: eu-west-1 }] }`,
        ),
      );

      // Act
      const plan = planEcr(cfg);

      // Assess
      const [planned] = plan.clusters[0]?.targets ?? [];
      expect(planned).toBeDefined();
      const requests = planned?.target.requests as EcrRequest[];
      expect(planned?.scopeKeys).toHaveLength(requests.length);
      expect(planned?.scopeKeys).toEqual(requests.map((request) => ecrKind.scopeKey(request)));
      const mintKeys = new Set(plan.mints.map((mint) => mint.key));
      for (const key of planned?.scopeKeys ?? []) expect(mintKeys.has(key)).toBe(true);
      expect(requests.map((request) => request.region)).toEqual(['us-east-1', 'eu-west-1', 'eu-west-1']);
      expect(plan.mints).toHaveLength(3);
    });

    it('takes the target from the ecr section: secret name, service accounts and the kind', () => {
      // Prepare
      const cfg = config(
        cluster(
          'a',
          '{ secretName: ecr-pull, registries: [{ region: eu-west-1 }], serviceAccounts: [builder] }',
        ),
      );

      // Act
      const plan = planEcr(cfg);

      // Assess
      const planned = plan.clusters[0]?.targets[0];
      expect(planned?.kind).toBe(ecrKind);
      expect(planned?.target.kind).toBe('ecr');
      expect(planned?.target.secretName).toBe('ecr-pull');
      expect(planned?.target.serviceAccounts).toEqual(['builder']);
    });
  });

  describe('filters', () => {
    const ecr = '{ secretName: s, registries: [{ region: eu-west-1 }] }';

    it('plans every cluster, in file order, without a cluster filter', () => {
      // Prepare
      const cfg = config(cluster('zeta', ecr), cluster('alpha', ecr), cluster('mid', ecr));

      // Act
      const plan = planEcr(cfg);

      // Assess
      expect(plan.clusters.map((c) => c.cluster.name)).toEqual(['zeta', 'alpha', 'mid']);
    });

    it('plans only the named clusters, keeping file order rather than filter order', () => {
      // Prepare
      const cfg = config(cluster('zeta', ecr), cluster('alpha', ecr), cluster('mid', ecr));

      // Act
      const plan = planEcr(cfg, { clusters: ['mid', 'zeta'] });

      // Assess
      expect(plan.clusters.map((c) => c.cluster.name)).toEqual(['zeta', 'mid']);
      expect(plan.mints[0]?.clusters).toEqual(['zeta', 'mid']);
    });

    it('treats an empty cluster filter as all clusters', () => {
      // Prepare
      const cfg = config(cluster('a', ecr), cluster('b', ecr));

      // Act
      const plan = planEcr(cfg, { clusters: [] });

      // Assess
      expect(plan.clusters.map((c) => c.cluster.name)).toEqual(['a', 'b']);
    });

    it('rejects unknown cluster names with a message naming them and the file', () => {
      // Prepare
      const cfg = config(cluster('a', ecr), cluster('b', ecr));

      // Act
      const act = () => planRun(cfg, { clusters: ['a', 'nope', 'gone'] });

      // Assess
      expect(act).toThrow(CredCourierError);
      expect(act).toThrow(/^file\.yaml: .*nope.*gone/);
      expect(act).not.toThrow(/no cluster named a\b/);
    });

    it('plans only the kinds the filter names, each once', () => {
      // Prepare
      const cfg = config(cluster('a', ecr));

      // Act
      const plan = planRun(cfg, { kinds: ['ecr', 'ecr'] });

      // Assess
      expect(plan.kinds).toEqual(['ecr']);
      expect(plan.clusters[0]?.targets.map((t) => t.kind.id)).toEqual(['ecr']);
      expect(plan.mints.map((m) => m.kind.id)).toEqual(['ecr']);
    });

    it('plans every kind when the kinds filter is empty', () => {
      // Prepare
      const cfg = config(cluster('a', ecr));

      // Act
      const plan = planRun(cfg, { kinds: [] });

      // Assess
      expect(plan.kinds).toEqual([...KIND_IDS]);
      expect(plan.clusters[0]?.targets.map((t) => t.kind.id)).toEqual(['ecr']);
    });
  });
});

describe('Function: targetNamespaces', () => {
  it("narrows the cluster's namespaces to the target's own list, in the cluster's order, or keeps them all", () => {
    // Prepare
    const cluster = ['app', 'analytics', 'web'];
    const base = { kind: 's3' as const, secretName: 's', requests: [], serviceAccounts: [] };

    // Act
    const narrowed = targetNamespaces({ ...base, namespaces: ['web', 'app', 'absent'] }, cluster);
    const all = targetNamespaces(base, cluster);

    // Assess
    expect(narrowed).toEqual(['app', 'web']);
    expect(all).toEqual(cluster);
  });
});
