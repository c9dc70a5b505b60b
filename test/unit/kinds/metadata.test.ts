import { describe, expect, it } from 'vitest';
import {
  ANNOTATIONS,
  isOwnedBy,
  LABELS,
  MANAGER,
  ownershipLabels,
  validityAnnotations,
} from '../../../src/kinds/metadata.ts';

describe('Function: validityAnnotations', () => {
  it('annotates expires-at with the earliest expiry, whatever the order', () => {
    // Prepare
    const issuedAt = new Date('2024-05-01T08:00:00.000Z');
    const expiries = [
      new Date('2024-05-01T20:00:00.000Z'),
      new Date('2024-05-01T08:15:00.000Z'),
      new Date('2024-05-01T19:59:59.999Z'),
    ];

    // Act
    const annotations = validityAnnotations(issuedAt, expiries);

    // Assess
    expect(annotations).toEqual({
      [ANNOTATIONS.issuedAt]: '2024-05-01T08:00:00.000Z',
      [ANNOTATIONS.expiresAt]: '2024-05-01T08:15:00.000Z',
    });
  });

  it('uses the single expiry when there is one', () => {
    // Prepare
    const issuedAt = new Date('2024-05-01T08:00:00.000Z');
    const expiry = new Date('2024-05-01T20:00:00.000Z');

    // Act
    const annotations = validityAnnotations(issuedAt, [expiry]);

    // Assess
    expect(annotations[ANNOTATIONS.expiresAt]).toBe('2024-05-01T20:00:00.000Z');
  });

  it('writes both times as ISO 8601 in UTC under the cred-courier.io keys', () => {
    // Prepare
    const issuedAt = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));

    // Act
    const annotations = validityAnnotations(issuedAt, [new Date(Date.UTC(2024, 0, 2, 15, 4, 5, 6))]);

    // Assess
    expect(Object.keys(annotations).sort()).toEqual([
      'cred-courier.io/expires-at',
      'cred-courier.io/issued-at',
    ]);
    expect(annotations['cred-courier.io/issued-at']).toBe('2024-01-02T03:04:05.006Z');
    expect(annotations['cred-courier.io/expires-at']).toBe('2024-01-02T15:04:05.006Z');
  });
});

describe('Function: ownershipLabels', () => {
  it('labels the manager, the cluster and the kind', () => {
    // Prepare
    const cluster = 'gke-prod';

    // Act
    const labels = ownershipLabels(cluster, 'ecr');

    // Assess
    expect(labels).toEqual({
      [LABELS.managedBy]: MANAGER,
      [LABELS.cluster]: 'gke-prod',
      [LABELS.kind]: 'ecr',
    });
    expect(labels['app.kubernetes.io/managed-by']).toBe('cred-courier');
  });
});

describe('Function: isOwnedBy', () => {
  const owner = { cluster: 'prod', installation: 'cred-courier' };
  const ours = { [LABELS.managedBy]: MANAGER, [LABELS.cluster]: 'prod' };

  it("is this installation's object with its label, or without any (written before the label existed)", () => {
    // Act
    const labelled = isOwnedBy({ ...ours, [LABELS.installation]: 'cred-courier' }, owner);
    const older = isOwnedBy(ours, owner);

    // Assess
    expect(labelled).toBe(true);
    expect(older).toBe(true);
  });

  it("is never another installation's, another cluster name's or an unlabelled object", () => {
    // Act
    const results = [
      isOwnedBy({ ...ours, [LABELS.installation]: 'cc-other' }, owner),
      isOwnedBy({ ...ours, [LABELS.cluster]: 'staging' }, owner),
      isOwnedBy({ [LABELS.cluster]: 'prod' }, owner),
      isOwnedBy(undefined, owner),
    ];

    // Assess
    expect(results).toEqual([false, false, false, false]);
  });

  it('checks the cluster only when one is given (the inventory is the installation’s)', () => {
    // Act
    const owned = isOwnedBy(
      { [LABELS.managedBy]: MANAGER, [LABELS.installation]: 'cred-courier' },
      { installation: 'cred-courier' },
    );

    // Assess
    expect(owned).toBe(true);
  });
});
