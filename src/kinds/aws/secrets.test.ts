/**
 * An AWS grant's Secret is one the cluster's identity may write and the guard admits, exactly where the
 * grant delivers: RBAC per namespace, the secret guard's type table, and the inventory's managed names.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import { inventoryEntryProblem, managedNames } from '../../kube/inventory.ts';
import { grantIn, managedSecretNames, secretGuard } from '../../register/rbac.ts';

const spec = () => {
  const cluster = parseConfig(
    `clusters:
  - name: gke-prod
    kubeconfigSecret: k
    namespaces: { names: [app, jobs] }
    aws:
      - secretName: orders-table
        roleArn: arn:aws:iam::111122223333:role/orders
        region: eu-west-1
        namespaces: [jobs]
        fullRole: true
      - secretName: bedrock
        roleArn: arn:aws:iam::111122223333:role/bedrock
        region: us-east-1
        fullRole: true
`,
    'clusters.yaml',
  ).clusters[0];
  if (!cluster) throw new Error('no cluster');
  return cluster;
};

describe('aws grants in RBAC, the secret guard and the inventory', () => {
  it('lets the identity write each grant Secret only in the grant namespaces', () => {
    // Prepare
    const cluster = spec();

    // Act
    const [app, jobs] = [grantIn(cluster, 'app'), grantIn(cluster, 'jobs')];

    // Assess
    expect(app.secretNames).toEqual(['bedrock']);
    expect(jobs.secretNames).toEqual(['bedrock', 'orders-table']);
    expect(managedSecretNames(cluster)).toEqual(['bedrock', 'orders-table']);
  });

  it('gives the guard the Opaque type of every grant Secret', () => {
    // Prepare
    const cluster = spec();

    // Act
    const guard = JSON.stringify(secretGuard(cluster, 'cred-courier', {}));

    // Assess
    expect(guard).toContain("'orders-table': 'Opaque'");
    expect(guard).toContain("'bedrock': 'Opaque'");
  });

  it('lists the grant Secrets as the inventory names of the aws kind only', () => {
    // Prepare
    const managed = managedNames(spec());

    // Act
    const problems = [
      inventoryEntryProblem('aws', 'jobs/orders-table', managed),
      inventoryEntryProblem('s3', 'jobs/orders-table', managed),
    ];

    // Assess
    expect(problems[0]).toBeUndefined();
    expect(problems[1]).toBe('not a Secret name the config manages for s3');
  });
});
