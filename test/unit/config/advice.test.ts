/**
 * Validator advice beyond single fields: "did you mean" for misspelt keys, a cluster that receives
 * nothing (a warning), and kubeconfig secrets shared by two clusters (an error when certain, a warning
 * when it depends on where the function runs).
 */
import { describe, expect, it } from 'vitest';
import { parseConfigWithWarnings } from '../../../src/config/load.ts';
import { ConfigFileSchema } from '../../../src/config/schema.ts';
import { closestKeys, keysAt } from '../../../src/config/suggest.ts';
import { KIND_IDS } from '../../../src/kinds/kind.ts';
import { issuesOf, yaml } from '../../support/config-text.ts';

const REGISTRY = '    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }';

/** A cluster entry (4-space keys) with `extra` lines; ECR by default. */
function cluster(name: string, secret: string, ...extra: string[]): string[] {
  return [
    `  - name: ${name}`,
    `    kubeconfigSecret: ${secret}`,
    '    namespaces: { names: [app] }',
    ...extra,
  ];
}

const warningsOf = (text: string) => parseConfigWithWarnings(text, 'clusters.yaml').warnings;

describe('did you mean', () => {
  it.each([
    ['ecrr', ['name', 'kubeconfigSecret', 'ecr', 's3'], ['ecr']],
    ['KubeconfigSecret', ['name', 'kubeconfigSecret'], ['kubeconfigSecret']],
    ['registry', ['secretName', 'registries', 'repositories'], ['registries']],
    ['s4', ['ecr', 's3'], ['s3']],
    ['nmae', ['name', 'namespaces'], ['name']],
    ['pullSecrets', ['name', 'kubeconfigSecret', 'namespaces', 'ecr', 's3'], []],
    ['x', ['ecr', 's3'], []],
  ])('suggests for %s: %j', (key, known, expected) => {
    // Act
    const closest = closestKeys(key, known);

    // Assess
    expect(closest).toEqual(expected);
  });

  it('reads the accepted keys at a path from the schema, through lists and optional mappings', () => {
    // Act
    const top = keysAt(ConfigFileSchema, []);
    const registry = keysAt(ConfigFileSchema, ['clusters', 0, 'ecr', 'registries', 3]);
    const bucket = keysAt(ConfigFileSchema, ['defaults', 's3', 0, 'buckets', 0]);
    const notAMapping = keysAt(ConfigFileSchema, ['clusters', 0, 'name']);

    // Assess
    expect(top).toEqual(['settings', 'defaults', 'clusters']);
    expect(registry).toEqual(['accountId', 'region', 'roleArn']);
    expect(bucket).toEqual(['bucket', 'prefix', 'access']);
    expect(notAMapping).toBeUndefined();
  });

  it('points every misspelt key of a file at its closest key, at any depth', () => {
    // Prepare
    const text = yaml(
      'settings:',
      '  s3IntervalMinute: 15',
      'clusters:',
      ...cluster('gke-prod', 'k/gke-prod', '    ecr:', '      secretName: ecr-pull', '      registries:'),
      '        - regoin: eu-west-1',
      '    namespace: { names: [app] }',
    );

    // Act
    const issues = issuesOf(text);

    // Assess
    expect(issues).toEqual([
      'settings.s3IntervalMinute (line 2): unknown key, did you mean s3IntervalMinutes?',
      'clusters[0].ecr.registries[0].region (line 10): missing (expected an AWS region such as eu-west-1)',
      'clusters[0].ecr.registries[0].regoin (line 10): unknown key, did you mean region?',
      'clusters[0].namespace (line 11): unknown key, did you mean namespaces?',
    ]);
  });
});

describe('a cluster that receives nothing', () => {
  it('is a warning naming the cluster and the state of every kind', () => {
    // Prepare
    const text = yaml(
      'clusters:',
      ...cluster('gke-prod', 'k/gke-prod', REGISTRY),
      ...cluster('idle', 'k/idle'),
    );

    // Act
    const warnings = warningsOf(text);

    // Assess
    expect(warnings).toEqual([
      `clusters[1] (line 6): cluster "idle" receives nothing (${KIND_IDS.map((kind) => `${kind}: not set`).join(', ')}): no kind delivers a Secret to it, so runs only check its kubeconfig; give it credentials (${KIND_IDS.join(', ')}), or remove it with cred-courier unregister`,
    ]);
  });

  it('counts an empty list as nothing, its own or inherited, and a kind from defaults as something', () => {
    // Prepare
    const text = yaml(
      'defaults:',
      '  s3: []',
      'clusters:',
      ...cluster('own-empty', 'k/a', '    s3: []'),
      ...cluster('inherited-empty', 'k/b'),
      ...cluster('has-ecr', 'k/c', REGISTRY),
    );

    // Act
    const warnings = warningsOf(text);

    // Assess
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^clusters\[0\] \(line 4\): cluster "own-empty" receives nothing \(.*s3: an empty list[,)]/,
    );
    expect(warnings[1]).toMatch(
      /^clusters\[1\] \(line 8\): cluster "inherited-empty" receives nothing \(.*s3: an empty list in defaults[,)]/,
    );
  });

  it('is silent for a cluster whose kind comes from defaults', () => {
    // Prepare
    const text = yaml(
      'defaults:',
      '  ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }',
      'clusters:',
      ...cluster('gke-prod', 'k/gke-prod'),
    );

    // Act
    const warnings = warningsOf(text);

    // Assess
    expect(warnings).toEqual([]);
  });
});

describe('a kubeconfig secret shared by two clusters', () => {
  const ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:cred-courier/clusters/gke-prod';

  it('is an error naming both clusters when they name it alike', () => {
    // Prepare
    const text = yaml(
      'clusters:',
      ...cluster('gke-prod', 'cred-courier/clusters/gke-prod', REGISTRY),
      ...cluster('gke-prod-2', 'cred-courier/clusters/gke-prod', REGISTRY),
    );

    // Act
    const issues = issuesOf(text);

    // Assess
    expect(issues).toEqual([
      'clusters[1].kubeconfigSecret (line 7): cluster "gke-prod-2" uses the kubeconfig secret "cred-courier/clusters/gke-prod" of cluster "gke-prod" (clusters[0], line 3): each cluster needs its own, since register stores the cluster\'s kubeconfig there, runs renew its token in it and unregister deletes it; give one of them another kubeconfigSecret',
    ]);
  });

  it('is the same error for one ARN written twice, quoted whole', () => {
    // Prepare
    const text = yaml('clusters:', ...cluster('a', ARN, REGISTRY), ...cluster('b', ARN, REGISTRY));

    // Act
    const issues = issuesOf(text);

    // Assess
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(`cluster "b" uses the kubeconfig secret "${ARN}" of cluster "a"`);
  });

  it('is a warning when a name and an ARN name one secret only if the function runs in its region and account', () => {
    // Prepare
    const text = yaml(
      'clusters:',
      ...cluster('gke-prod', 'cred-courier/clusters/gke-prod', REGISTRY),
      ...cluster('gke-full', `${ARN}-AbC123`, REGISTRY),
      ...cluster('gke-partial', ARN, REGISTRY),
    );

    // Act
    const warnings = warningsOf(text);

    // Assess
    expect(warnings).toEqual([
      `clusters[1].kubeconfigSecret (line 7): cluster "gke-full" ("${ARN}-AbC123") and cluster "gke-prod" (clusters[0], line 3) ("cred-courier/clusters/gke-prod") name the same secret if the function runs in eu-west-1 in account 111122223333; each cluster needs its own kubeconfig secret`,
      `clusters[2].kubeconfigSecret (line 11): cluster "gke-partial" ("${ARN}") and cluster "gke-prod" (clusters[0], line 3) ("cred-courier/clusters/gke-prod") name the same secret if the function runs in eu-west-1 in account 111122223333; each cluster needs its own kubeconfig secret`,
      `clusters[2].kubeconfigSecret (line 11): cluster "gke-partial" ("${ARN}") and cluster "gke-full" (clusters[1], line 7) ("${ARN}-AbC123") name the same secret if one ARN is the full ARN of the secret the other names; each cluster needs its own kubeconfig secret`,
    ]);
  });

  it('is not said of references the schema refuses, which are reported once each', () => {
    // Prepare
    const text = yaml('clusters:', ...cluster('a', '"a b"', REGISTRY), ...cluster('b', '"a b"', REGISTRY));

    // Act
    const issues = issuesOf(text);

    // Assess
    expect(issues).toHaveLength(2);
    for (const issue of issues)
      expect(issue).toMatch(
        /^clusters\[[01]\]\.kubeconfigSecret \(line \d+\): expected a Secrets Manager secret name/,
      );
  });

  it('is nothing for one name in two accounts, or two names (however alike)', () => {
    // Prepare
    const other = ARN.replace('111122223333', '444455556666');
    const text = yaml(
      'clusters:',
      ...cluster('a', ARN, REGISTRY),
      ...cluster('b', other, REGISTRY),
      ...cluster('c', 'k3s-edge01', REGISTRY),
      ...cluster('d', 'k3s-edge02', REGISTRY),
      ...cluster('e', 'k3s', REGISTRY),
    );

    // Act
    const warnings = warningsOf(text);

    // Assess
    expect(warnings).toEqual([]);
  });
});
