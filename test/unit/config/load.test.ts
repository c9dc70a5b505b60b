import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, loadConfig, parseConfig } from '../../../src/config/load.ts';
import { configJsonSchema } from '../../../src/config/schema.ts';
import { ConfigError } from '../../../src/errors.ts';
import { issuesOf, onlyIssueOf, yaml } from '../../support/config-text.ts';

const EXAMPLE_FILE = fileURLToPath(new URL('../../../config/clusters.yaml', import.meta.url));
const SCHEMA_FILE = fileURLToPath(new URL('../../../config/clusters.schema.json', import.meta.url));

/** A valid file with one cluster; `extra` lines are appended inside that cluster (4-space indent). */
function oneCluster(...extra: string[]): string {
  return yaml(
    'clusters:',
    '  - name: gke-prod',
    '    kubeconfigSecret: cred-courier/clusters/gke-prod',
    '    namespaces:',
    '      names: [app]',
    ...extra,
  );
}

describe('Function: parseConfig', () => {
  describe('valid files', () => {
    it('loads the committed example config/clusters.yaml', async () => {
      // Prepare
      const file = EXAMPLE_FILE;

      // Act
      const config = await loadConfig(file);

      // Assess
      expect(config.file).toBe(file);
      expect(config.settings).toEqual(DEFAULT_SETTINGS);
      expect(config.clusters.map((cluster) => cluster.name)).toEqual(['gke-prod', 'aks-staging']);
      const [gke, aks] = config.clusters;
      expect(gke?.namespaces).toEqual({ names: ['app', 'team-*'], exclude: ['team-legacy*', '*-sandbox'] });
      expect(gke?.ecr).toEqual({
        secretName: 'ecr-pull',
        registries: [
          {
            accountId: '111122223333',
            region: 'eu-west-1',
            roleArn: 'arn:aws:iam::111122223333:role/cred-courier-ecr-pull',
          },
        ],
        repositories: ['app/api', 'team-a/*'],
        serviceAccounts: ['default'],
      });
      expect(aks?.namespaces).toEqual({
        names: [],
        selector: 'env=staging,tier in (web,api)',
        exclude: ['*-sandbox'],
      });
      expect(aks?.ecr?.registries).toEqual([{ accountId: '444455556666', region: 'us-east-1' }]);
      expect(aks?.adoptExistingSecrets).toBe(true);
      expect(aks?.allowInsecureSkipTlsVerify).toBe(false);
    });

    it('merges defaults one level deep: lists replace, nested keys override, flags default to false', () => {
      // Prepare
      const text = yaml(
        'defaults:',
        '  namespaces:',
        '    names: ["*"]',
        '    exclude: [kube-public, legacy]',
        '  ecr:',
        '    secretName: ecr-pull',
        '    registries: [{ region: eu-west-1 }]',
        '    serviceAccounts: [default, builder]',
        '  adoptExistingSecrets: true',
        'clusters:',
        '  - name: inherits',
        '    kubeconfigSecret: k/inherits',
        '  - name: overrides',
        '    kubeconfigSecret: k/overrides',
        '    namespaces:',
        '      exclude: [other]',
        '    ecr:',
        '      registries: [{ region: us-east-1 }, { region: us-west-2 }]',
        '    adoptExistingSecrets: false',
        '    allowInsecureSkipTlsVerify: true',
      );

      // Act
      const config = parseConfig(text, 'clusters.yaml');

      // Assess
      const [inherits, overrides] = config.clusters;
      expect(inherits).toEqual({
        name: 'inherits',
        kubeconfigSecret: 'k/inherits',
        namespaces: { names: ['*'], exclude: ['kube-public', 'legacy'] },
        ecr: {
          secretName: 'ecr-pull',
          registries: [{ region: 'eu-west-1' }],
          serviceAccounts: ['default', 'builder'],
        },
        s3: [],
        allowInsecureSkipTlsVerify: false,
        trustSystemRoots: false,
        adoptExistingSecrets: true,
      });
      expect(overrides).toEqual({
        name: 'overrides',
        kubeconfigSecret: 'k/overrides',
        // exclude replaced, not concatenated; names still inherited
        namespaces: { names: ['*'], exclude: ['other'] },
        ecr: {
          secretName: 'ecr-pull',
          registries: [{ region: 'us-east-1' }, { region: 'us-west-2' }],
          serviceAccounts: ['default', 'builder'],
        },
        s3: [],
        allowInsecureSkipTlsVerify: true,
        trustSystemRoots: false,
        adoptExistingSecrets: false,
      });
    });

    it('gives a cluster without ecr no ecr, and defaults serviceAccounts to [default]', () => {
      // Prepare
      const text = yaml(
        'clusters:',
        '  - name: no-ecr',
        '    kubeconfigSecret: k/a',
        '    namespaces: { selector: env=prod }',
        '  - name: with-ecr',
        '    kubeconfigSecret: k/b',
        '    namespaces: { names: [app] }',
        '    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }',
      );

      // Act
      const config = parseConfig(text, 'clusters.yaml');

      // Assess
      expect(config.clusters[0]?.ecr).toBeUndefined();
      expect(config.clusters[0]?.namespaces).toEqual({ names: [], selector: 'env=prod', exclude: [] });
      expect(config.clusters[1]?.ecr?.serviceAccounts).toEqual(['default']);
    });

    it('fills every setting the file leaves out with its default', () => {
      // Prepare
      const withoutSettings = oneCluster();
      const withSome = yaml('settings:', '  concurrency: 4', '  controlNamespace: ops', withoutSettings);

      // Act
      const absent = parseConfig(withoutSettings, 'clusters.yaml');
      const partial = parseConfig(withSome, 'clusters.yaml');

      // Assess
      expect(absent.settings).toEqual({
        concurrency: 64,
        requestConcurrency: 8,
        requestTimeoutSeconds: 10,
        clusterDeadlineSeconds: 60,
        kubeconfigCacheSeconds: 300,
        controlNamespace: 'cred-courier',
        s3IntervalMinutes: 15,
        tokenRenewalFraction: 0.5,
      });
      expect(partial.settings).toEqual({ ...DEFAULT_SETTINGS, concurrency: 4, controlNamespace: 'ops' });
    });

    it.each([
      'env=prod',
      'env==prod',
      'env!=prod',
      'env',
      '!legacy',
      'tier in (web,api)',
      'tier notin (web, api)',
      'example.com/team=a',
      'env=',
      ' env = prod , !legacy , tier in (web) ',
    ])('accepts the label selector %j', (selector) => {
      // Prepare
      const text = oneCluster(`      selector: ${JSON.stringify(selector)}`);

      // Act
      const config = parseConfig(text, 'clusters.yaml');

      // Assess
      expect(config.clusters[0]?.namespaces.selector).toBe(selector);
    });

    it('accepts a Secrets Manager ARN as kubeconfigSecret', () => {
      // Prepare
      const arn = 'arn:aws:secretsmanager:us-gov-west-1:111122223333:secret:clusters/a-AbCdEf';
      const text = oneCluster().replace('cred-courier/clusters/gke-prod', arn);

      // Act
      const config = parseConfig(text, 'clusters.yaml');

      // Assess
      expect(config.clusters[0]?.kubeconfigSecret).toBe(arn);
    });
  });

  describe('invalid files', () => {
    it('refuses secretGuard: false for a cluster with globs or a selector, naming the cluster; accepts it with exact names', () => {
      // Prepare
      const entry = (names: string) =>
        yaml(
          'clusters:',
          '  - name: lab',
          '    kubeconfigSecret: k/lab',
          `    namespaces: { ${names} }`,
          '    secretGuard: false',
        );

      // Act
      const globbed = onlyIssueOf(entry('names: [app, "team-*"]'));
      const selected = onlyIssueOf(entry('selector: "env=prod"'));
      const exact = parseConfig(entry('names: [app]'), 'clusters.yaml').clusters[0];

      // Assess
      for (const issue of [globbed, selected]) {
        expect(issue).toMatch(
          /^clusters\[0\]\.secretGuard \(line 5\): false is allowed only when cluster lab names its namespaces exactly/,
        );
      }
      expect(exact?.secretGuard).toBe(false);
      expect(
        parseConfig(entry('names: [app]').replace('    secretGuard: false\n', ''), 'f').clusters[0],
      ).not.toHaveProperty('secretGuard');
    });

    it('reports malformed YAML with line and column', () => {
      // Prepare
      const text = yaml('clusters:', '  - name: gke-prod', '    namespaces: { names: [app }');

      // Act
      const issues = issuesOf(text);

      // Assess
      expect(issues.length).toBeGreaterThan(0);
      for (const issue of issues) expect(issue).toMatch(/^line 3:\d+: YAML syntax error: /);
    });

    it('reports an empty file', () => {
      // Prepare
      const text = '# nothing but a comment\n';

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toBe('top level: the file is empty (expected a mapping with a clusters list)');
    });

    it('reports a value of the wrong type with what was expected and what was received', () => {
      // Prepare
      const text = yaml(
        'settings:',
        '  concurrency: "16"',
        'clusters:',
        '  - name: gke-prod',
        '    kubeconfigSecret: k/a',
        '    namespaces: [app]',
        '    allowInsecureSkipTlsVerify: "yes"',
      );

      // Act
      const issues = issuesOf(text);

      // Assess
      expect(issues).toEqual([
        'settings.concurrency (line 2): expected an integer from 1 to 256, got "16"',
        'clusters[0].namespaces (line 6): expected a mapping, got a list',
        'clusters[0].allowInsecureSkipTlsVerify (line 7): expected true or false, got "yes"',
      ]);
    });

    it('reports clusters that is not a list', () => {
      // Prepare
      const text = yaml('clusters:', '  name: gke-prod');

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toBe('clusters (line 1): expected a list of clusters, got a mapping');
    });

    it('reports a setting out of range', () => {
      // Prepare
      const text = yaml('settings:', '  clusterDeadlineSeconds: 1', oneCluster());

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toBe(
        'settings.clusterDeadlineSeconds (line 2): expected an integer from 5 to 900, got number 1',
      );
    });

    it('reports a misspelt key with the accepted key it is closest to', () => {
      // Prepare
      const text = yaml('setings: {}', oneCluster('    ecrr: {}'));

      // Act
      const issues = issuesOf(text);

      // Assess
      expect(issues).toEqual([
        'setings (line 1): unknown key, did you mean settings?',
        'clusters[0].ecrr (line 7): unknown key, did you mean ecr?',
      ]);
    });

    it('reports an unknown key close to no accepted key with every key that is accepted', () => {
      // Prepare
      const text = oneCluster('    pullSecrets: {}');

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toMatch(
        /^clusters\[0\]\.pullSecrets \(line 6\): unknown key \(expected one of: name, kubeconfigSecret, namespaces, .+, secretGuard\)$/,
      );
    });

    it('reports duplicate cluster names naming both indexes', () => {
      // Prepare
      const text = yaml(
        'clusters:',
        '  - { name: gke-prod, kubeconfigSecret: k/a, namespaces: { names: [a] } }',
        '  - { name: aks-prod, kubeconfigSecret: k/b, namespaces: { names: [a] } }',
        '  - { name: gke-prod, kubeconfigSecret: k/c, namespaces: { names: [a] } }',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toContain('clusters[2].name (line 4): duplicate cluster name "gke-prod"');
      expect(issue).toContain('clusters[0]');
    });

    it('reports an invalid cluster name', () => {
      // Prepare
      const text = oneCluster().replace('name: gke-prod', 'name: GKE_prod');

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toMatch(/^clusters\[0\]\.name \(line 2\): expected a DNS label .*, got "GKE_prod"$/);
    });

    it('reports a bad region with path, line, expectation and received value', () => {
      // Prepare
      const text = oneCluster(
        '    ecr:',
        '      secretName: ecr-pull',
        '      registries:',
        '        - region: eu-west',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toBe(
        'clusters[0].ecr.registries[0].region (line 9): expected an AWS region such as eu-west-1, got "eu-west"',
      );
    });

    it('reports an account ID written as a YAML number, saying to quote it', () => {
      // Prepare
      const text = oneCluster(
        '    ecr:',
        '      secretName: ecr-pull',
        '      registries:',
        '        - { accountId: 111122223333, region: eu-west-1 }',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toContain('clusters[0].ecr.registries[0].accountId (line 9): ');
      expect(issue).toContain('got number 111122223333');
      expect(issue).toContain('quote');
    });

    it('reports an account ID of the wrong length', () => {
      // Prepare
      const text = oneCluster(
        '    ecr:',
        '      secretName: ecr-pull',
        '      registries:',
        '        - { accountId: "11112222333", region: eu-west-1 }',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toBe(
        'clusters[0].ecr.registries[0].accountId (line 9): expected a 12-digit AWS account ID such as "111122223333", got "11112222333"',
      );
    });

    it('reports a role ARN that is not an IAM role', () => {
      // Prepare
      const text = oneCluster(
        '    ecr:',
        '      secretName: ecr-pull',
        '      registries:',
        '        - { region: eu-west-1, roleArn: "arn:aws:iam::111122223333:user/bob" }',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toContain('clusters[0].ecr.registries[0].roleArn (line 9): expected an IAM role ARN');
    });

    it.each([
      ['Team-*', 'uppercase'],
      ['team_*', 'underscore'],
      ['-team', 'leading dash'],
      ['team/*', 'slash'],
      ['team[ab]', 'brackets'],
      ['', 'empty'],
    ])('reports the bad namespace glob %j (%s)', (glob) => {
      // Prepare
      const text = oneCluster(`      exclude: [ok, ${JSON.stringify(glob)}]`);

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toContain(
        'clusters[0].namespaces.exclude[1] (line 6): expected a namespace name or glob',
      );
      expect(issue).toContain(`got ${JSON.stringify(glob)}`);
    });

    it.each([
      ['env=prod,', 'a requirement is missing at the end'],
      [',env', 'expected a label key at character 1'],
      ['env in ()', 'in () needs at least one value'],
      ['env in (a', "expected ',' or ')' in the value list but the selector ends"],
      ['env in a', "expected '(' after in"],
      ['replicas>1', 'the operator ">" at character 9 is not supported'],
      ['env=a=b', "expected ',' or the end at character 6"],
      ['env prod', 'expected an operator (=, ==, !=, in, notin) after "env"'],
      ['!env=x', "expected ',' or the end at character 5"],
      ['Example.com/team=a', 'the key prefix "Example.com" is not a DNS subdomain'],
      ['a/b/c=x', 'the key "a/b/c" has more than one \'/\''],
      ['-team=a', 'the key "-team" is not a label name'],
      ['team=-a', 'the value "-a" is not a label value'],
      [`team=${'x'.repeat(64)}`, 'is not a label value'],
      ['   ', 'an empty selector would select every namespace'],
    ])('reports the bad label selector %j', (selector, problem) => {
      // Prepare
      const text = oneCluster(`      selector: ${JSON.stringify(selector)}`);

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toContain('clusters[0].namespaces.selector (line 6): invalid label selector: ');
      expect(issue).toContain(problem);
    });

    it('reports repositories on a registry without roleArn and accountId, at the repositories path', () => {
      // Prepare
      const text = oneCluster(
        '    ecr:',
        '      secretName: ecr-pull',
        '      registries:',
        '        - region: eu-west-1',
        '      repositories: [app/api]',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toContain('clusters[0].ecr.repositories (line 10): ');
      expect(issue).toContain('clusters[0].ecr.registries[0] has no roleArn and accountId');
      expect(issue).toContain('a session policy can only narrow an assumed role');
    });

    it('checks repositories against registries inherited from defaults, pointing at the cluster', () => {
      // Prepare
      const text = yaml(
        'defaults:',
        '  ecr:',
        '    secretName: ecr-pull',
        '    registries: [{ accountId: "111122223333", region: eu-west-1 }]',
        'clusters:',
        '  - name: ok',
        '    kubeconfigSecret: k/ok',
        '    namespaces: { names: [app] }',
        '  - name: scoped',
        '    kubeconfigSecret: k/scoped',
        '    namespaces: { names: [app] }',
        '    ecr:',
        '      repositories: ["team-a/*"]',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toContain('clusters[1].ecr.repositories (line 13): ');
      expect(issue).toContain('clusters[1].ecr.registries[0] (from defaults.ecr.registries) has no roleArn');
    });

    /** Two clusters whose registries are `a` and `b` (YAML flow lists), and a third with `c` when given. */
    const tenants = (a: string, b: string, c?: string) =>
      yaml(
        'clusters:',
        '  - name: tenant-a',
        '    kubeconfigSecret: k/a',
        '    namespaces: { names: [app] }',
        `    ecr: { secretName: ecr-pull, registries: ${a} }`,
        '  - name: tenant-b',
        '    kubeconfigSecret: k/b',
        '    namespaces: { names: [app] }',
        `    ecr: { secretName: ecr-pull, registries: ${b} }`,
        ...(c === undefined
          ? []
          : [
              '  - name: tenant-c',
              '    kubeconfigSecret: k/c',
              '    namespaces: { names: [app] }',
              `    ecr: { secretName: ecr-pull, registries: ${c} }`,
            ]),
      );

    it('refuses own-identity registries two clusters would share in a region while listing different accounts, naming both', () => {
      // Prepare
      const text = tenants(
        '[{ accountId: "111122223333", region: eu-west-1 }]',
        '[{ region: us-east-1 }, { accountId: "444455556666", region: eu-west-1 }]',
      );

      // Act
      const act = () => parseConfig(text, 'config/tenants.yaml');

      // Assess
      expect(act).toThrow(ConfigError);
      const issue = onlyIssueOf(text);
      expect(issue).toContain(
        'clusters[1].ecr.registries[1] (line 9): cluster "tenant-b" would share one ECR token',
      );
      expect(issue).toContain(
        'minted as the function itself in eu-west-1 (no roleArn) with cluster "tenant-a" (clusters[0])',
      );
      expect(issue).toContain('"tenant-a": 111122223333; "tenant-b": 444455556666');
      expect(issue).toContain('give these registries a roleArn');
      expect(act).toThrow(/^config\/tenants\.yaml: clusters\[1\]/);
    });

    it("counts a registry without accountId as the function's own account, distinct from a listed one", () => {
      // Prepare
      const text = tenants(
        '[{ region: eu-west-1 }]',
        '[{ region: eu-west-1 }, { accountId: "444455556666", region: eu-west-1 }]',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toContain(
        `"tenant-a": the function's own account; "tenant-b": 444455556666, the function's own account`,
      );
    });

    it('points at the cluster when the differing registries come from defaults', () => {
      // Prepare
      const text = yaml(
        'defaults:',
        '  ecr: { secretName: ecr-pull, registries: [{ accountId: "111122223333", region: eu-west-1 }] }',
        'clusters:',
        '  - name: tenant-a',
        '    kubeconfigSecret: k/a',
        '    namespaces: { names: [app] }',
        '    ecr: { registries: [{ accountId: "444455556666", region: eu-west-1 }] }',
        '  - name: tenant-b',
        '    kubeconfigSecret: k/b',
        '    namespaces: { names: [app] }',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toContain(
        'clusters[1].ecr (line 8): registries[0] (from defaults.ecr.registries): cluster "tenant-b" would share',
      );
      expect(issue).toContain('with cluster "tenant-a" (clusters[0])');
    });

    it.each([
      [
        'the same accounts',
        '[{ accountId: "111122223333", region: eu-west-1 }]',
        '[{ accountId: "111122223333", region: eu-west-1 }]',
      ],
      [
        'other regions',
        '[{ accountId: "111122223333", region: eu-west-1 }]',
        '[{ accountId: "444455556666", region: us-east-1 }]',
      ],
      [
        'roles',
        '[{ accountId: "111122223333", region: eu-west-1, roleArn: "arn:aws:iam::111122223333:role/a" }]',
        '[{ region: eu-west-1, roleArn: "arn:aws:iam::444455556666:role/b" }]',
      ],
      [
        'one own-identity cluster',
        '[{ accountId: "111122223333", region: eu-west-1 }]',
        '[{ region: eu-west-1, roleArn: "arn:aws:iam::444455556666:role/b" }]',
      ],
    ])(
      'accepts clusters whose registries share no own-identity token with different accounts: %s',
      (_, a, b) => {
        // Prepare
        const text = tenants(a, b, a);

        // Act
        const config = parseConfig(text, 'clusters.yaml');

        // Assess
        expect(config.clusters.map((c) => c.name)).toEqual(['tenant-a', 'tenant-b', 'tenant-c']);
      },
    );

    it("reports a '*' anywhere but at the end of a repository", () => {
      // Prepare
      const text = oneCluster(
        '    ecr:',
        '      secretName: ecr-pull',
        '      registries:',
        '        - { accountId: "111122223333", region: eu-west-1, roleArn: "arn:aws:iam::111122223333:role/x" }',
        '      repositories: [app/api, "team-*/api"]',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toContain('clusters[0].ecr.repositories[1] (line 10): ');
      expect(issue).toContain("'*' is only allowed as the last character");
    });

    it('reports the same registry twice in one cluster', () => {
      // Prepare
      const text = oneCluster(
        '    ecr:',
        '      secretName: ecr-pull',
        '      registries:',
        '        - { accountId: "111122223333", region: eu-west-1 }',
        '        - { accountId: "111122223333", region: eu-west-2 }',
        '        - { accountId: "111122223333", region: eu-west-1 }',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toBe(
        'clusters[0].ecr.registries[2] (line 11): duplicates registries[0] (same accountId, region and roleArn)',
      );
    });

    it('reports a duplicate registry inherited from defaults once, at defaults', () => {
      // Prepare
      const text = yaml(
        'defaults:',
        '  namespaces: { names: [app] }',
        '  ecr:',
        '    secretName: ecr-pull',
        '    registries: [{ region: eu-west-1 }, { region: eu-west-1 }]',
        'clusters:',
        '  - { name: a, kubeconfigSecret: k/a }',
        '  - { name: b, kubeconfigSecret: k/b }',
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toBe(
        'defaults.ecr.registries[1] (line 5): duplicates registries[0] (same accountId, region and roleArn)',
      );
    });

    it('reports a key written twice in one mapping, with both lines', () => {
      // Prepare
      const text = oneCluster('    kubeconfigSecret: cred-courier/clusters/other');

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toBe('clusters[0].kubeconfigSecret (line 6): duplicate key (first at line 3)');
    });

    it('reports an empty clusters list', () => {
      // Prepare
      const text = yaml('clusters: []');

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toBe('clusters (line 1): expected at least one cluster, got an empty list');
    });

    it('reports a missing clusters key', () => {
      // Prepare
      const text = yaml('settings: { concurrency: 4 }');

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).toMatch(/^clusters \(line 1\): missing \(expected a list of clusters\)$/);
    });

    it('reports a cluster left without namespaces after merging defaults', () => {
      // Prepare
      const text = yaml(
        'defaults:',
        '  namespaces: { exclude: [legacy] }',
        'clusters:',
        '  - name: a',
        '    kubeconfigSecret: k/a',
        '  - name: b',
        '    kubeconfigSecret: k/b',
        '    namespaces: { names: [app] }',
        '  - name: c',
        '    kubeconfigSecret: k/c',
      );
      const withoutDefaults = yaml('clusters:', '  - name: a', '    kubeconfigSecret: k/a');

      // Act
      const issues = issuesOf(text);
      const issue = onlyIssueOf(withoutDefaults);

      // Assess
      expect(issues).toHaveLength(2);
      expect(issues[0]).toMatch(/^clusters\[0\]\.namespaces \(line 4\): selects nothing/);
      expect(issues[1]).toMatch(/^clusters\[2\]\.namespaces \(line 9\): selects nothing/);
      expect(issue).toMatch(/^clusters\[0\]\.namespaces \(line 2\): missing/);
    });

    it('reports ecr without secretName or registries after merging defaults', () => {
      // Prepare
      const text = oneCluster('    ecr:', '      serviceAccounts: [default]');

      // Act
      const issues = issuesOf(text);

      // Assess
      expect(issues).toHaveLength(2);
      expect(issues[0]).toMatch(/^clusters\[0\]\.ecr\.secretName \(line 6\): missing/);
      expect(issues[1]).toMatch(/^clusters\[0\]\.ecr\.registries \(line 6\): missing/);
    });

    it('quotes hostile values escaped and cut to 60 characters', () => {
      // Prepare
      const hostile = `eu-west-1\u202e\n- forged line ${'x'.repeat(200)}`;
      const text = oneCluster(
        '    ecr:',
        '      secretName: ecr-pull',
        `      registries: [{ region: ${JSON.stringify(hostile)} }]`,
      );

      // Act
      const issue = onlyIssueOf(text);

      // Assess
      expect(issue).not.toContain('\n');
      expect(issue).not.toContain('\u202e');
      expect(issue).toContain('got "eu-west-1\\u202e\\n- forged line xxx');
      expect(issue).not.toContain('x'.repeat(61));
      expect(issue.length).toBeLessThan(200);
    });

    it('reports all problems of a file at once', () => {
      // Prepare
      const text = yaml(
        'settings:',
        '  requestConcurrency: 0',
        'clusters:',
        '  - name: gke-prod',
        '    kubeconfigSecret: k/a',
        '    namespaces: { selector: "env in (" }',
        '  - name: aks-staging',
        '    kubeconfigSecret: k/b',
        '    namespaces: { names: [app] }',
        '    ecr:',
        '      secretName: ecr-pull',
        '      registries: [{ region: eu-west-1 }]',
        '      repositories: [app/api]',
      );

      // Act
      const issues = issuesOf(text);

      // Assess
      expect(issues).toHaveLength(3);
      expect(issues[0]).toMatch(/^settings\.requestConcurrency \(line 2\): /);
      expect(issues[1]).toMatch(/^clusters\[0\]\.namespaces\.selector \(line 6\): /);
      expect(issues[2]).toMatch(/^clusters\[1\]\.ecr\.repositories \(line 13\): /);
    });

    it('puts the file name and every problem in the error message', () => {
      // Prepare
      const text = yaml(
        'clusters:',
        '  - name: A',
        '    kubeconfigSecret: k/a',
        '    namespaces: { names: [B] }',
      );

      // Act
      const act = () => parseConfig(text, 'config/clusters.yaml');

      // Assess
      expect(act).toThrow(ConfigError);
      expect(act).toThrow(
        /^config\/clusters\.yaml: 2 problems:\n {2}- clusters\[0\]\.name .*\n {2}- clusters\[0\]/,
      );
    });
  });
});

describe('Function: loadConfig', () => {
  it('throws a ConfigError naming a file that does not exist', async () => {
    // Prepare
    const file = '/nonexistent/cred-courier/clusters.yaml';

    // Act
    const loading = loadConfig(file);

    // Assess
    await expect(loading).rejects.toBeInstanceOf(ConfigError);
    await expect(loading).rejects.toMatchObject({ file, message: expect.stringContaining(file) });
  });
});

describe('Function: configJsonSchema', () => {
  it('matches the committed config/clusters.schema.json (run npm run schema when this fails)', async () => {
    // Prepare
    const committed: unknown = JSON.parse(await readFile(SCHEMA_FILE, 'utf8'));

    // Act
    const generated = configJsonSchema();

    // Assess
    expect(committed).toEqual(generated);
  });
});

describe('proxy in the registration file', () => {
  it('reads a proxy with a credentials secret, keeping its origin', () => {
    const config = parseConfig(
      oneCluster(
        '    proxy:',
        '      url: http://proxy.example:3128/',
        '      credentialsSecret: cred-courier/proxies/corp',
      ),
      'clusters.yaml',
    );
    expect(config.clusters[0]?.proxy).toEqual({
      url: 'http://proxy.example:3128',
      credentialsSecret: 'cred-courier/proxies/corp',
    });
  });

  it('accepts an https proxy without credentials, and a cluster without a proxy has none', () => {
    const config = parseConfig(oneCluster('    proxy: { url: "https://proxy.example" }'), 'clusters.yaml');
    expect(config.clusters[0]?.proxy).toEqual({ url: 'https://proxy.example' });
    expect(parseConfig(oneCluster(), 'clusters.yaml').clusters[0]).not.toHaveProperty('proxy');
  });

  it("inherits defaults.proxy; a cluster's own proxy replaces it whole", () => {
    const config = parseConfig(
      yaml(
        'defaults:',
        '  namespaces: { names: [app] }',
        '  proxy: { url: "http://corp-proxy.example:3128", credentialsSecret: proxies/corp }',
        'clusters:',
        '  - name: a',
        '    kubeconfigSecret: k/a',
        '  - name: b',
        '    kubeconfigSecret: k/b',
        '    proxy: { url: "http://edge-proxy.example:8080" }',
      ),
      'clusters.yaml',
    );
    expect(config.clusters.map((c) => c.proxy)).toEqual([
      { url: 'http://corp-proxy.example:3128', credentialsSecret: 'proxies/corp' },
      { url: 'http://edge-proxy.example:8080' },
    ]);
  });

  it.each([
    ['socks5://proxy.example:1080', 'the scheme is "socks5:"'],
    ['proxy.example:3128', 'the scheme is "proxy.example:"'],
    ['not a url', 'not a URL'],
    ['http://proxy.example:3128/?x=1', 'it holds a query or fragment'],
    ['http://proxy.example:3128/#x', 'it holds a query or fragment'],
    ['http://proxy.example:3128/path', 'it holds a path'],
  ])('refuses url %s, naming the field and line', (url, problem) => {
    const issues = issuesOf(oneCluster('    proxy:', `      url: "${url}"`));
    expect(issues).toEqual([
      `clusters[0].proxy.url (line 7): expected an http:// or https:// URL of a forward proxy such as http://proxy.example:3128; ${problem}, got "${url}"`,
    ]);
  });

  it('refuses credentials in the url without quoting them back', () => {
    const password = `pw${Date.now()}`;
    const issues = issuesOf(
      oneCluster('    proxy:', `      url: "http://courier:${password}@proxy.example:3128"`),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(
      /^clusters\[0\]\.proxy\.url \(line 7\): .*it holds a user name or password: put the credentials in the Secrets Manager secret named by credentialsSecret, got a URL with credentials$/,
    );
    expect(issues[0]).not.toContain(password);
  });

  it('refuses a missing url, an unknown key and a malformed secret reference', () => {
    expect(issuesOf(oneCluster('    proxy: { credentialsSecret: proxies/corp }'))).toEqual([
      expect.stringMatching(
        /^clusters\[0\]\.proxy\.url \(line 6\): missing \(expected an http:\/\/ or https:\/\/ URL/,
      ),
    ]);
    expect(issuesOf(oneCluster('    proxy: { url: "http://p.example", password: x }'))).toEqual([
      expect.stringMatching(/^clusters\[0\]\.proxy.*unknown key \(expected one of: url, credentialsSecret\)/),
    ]);
    expect(
      issuesOf(oneCluster('    proxy: { url: "http://p.example", credentialsSecret: "has space" }')),
    ).toEqual([
      expect.stringMatching(
        /^clusters\[0\]\.proxy\.credentialsSecret \(line 6\): expected a Secrets Manager secret name/,
      ),
    ]);
  });

  it('checks defaults.proxy the same way', () => {
    const issues = issuesOf(
      yaml(
        'defaults:',
        '  proxy: { url: "ftp://proxy.example" }',
        'clusters:',
        '  - name: a',
        '    kubeconfigSecret: k/a',
        '    namespaces: { names: [app] }',
      ),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^defaults\.proxy\.url \(line 2\): .*the scheme is "ftp:"/),
    ]);
  });
});
