/**
 * The CA must be embedded in the kubeconfig `register` stores: with an admin kubeconfig that names no
 * CA (the operator's machine would trust the system roots), `register` refuses before any request to
 * the cluster, unless the entry opts into the system roots; nothing is applied or stored.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { SecretsWriterApi } from '../../src/aws/kubeconfig-writer.ts';
import { KubeconfigError } from '../../src/errors.ts';
import { loadAdminKubeconfig } from '../../src/register/admin.ts';
import { registerCluster } from '../../src/register/register.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

type Doc = { clusters: { cluster: Record<string, unknown> }[] };

describe.skipIf(!rig)(`register and the embedded CA${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-register-ca-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an admin kubeconfig without a CA to embed, naming the cluster and trustSystemRoots; applies and stores nothing', async () => {
    // Prepare
    const cluster = theRig().clusters.a;
    const name = uniqueName('reg-ca');
    const control = uniqueName('cc');
    const namespace = uniqueName('app');
    await ensureNamespace(cluster, namespace);
    const admin = parse(readFileSync(cluster.adminKubeconfigPath, 'utf8')) as Doc;
    for (const entry of admin.clusters) {
      delete entry.cluster['certificate-authority-data'];
      delete entry.cluster['certificate-authority'];
    }
    const adminFile = join(dir, 'admin-without-ca.yaml');
    writeFileSync(adminFile, stringify(admin));
    const configFile = join(dir, 'clusters.yaml');
    const secretId = `cred-courier/test/${name}`;
    writeFileSync(
      configFile,
      `settings:\n  controlNamespace: ${control}\nclusters:\n  - name: ${name}\n    kubeconfigSecret: ${secretId}\n    namespaces: { names: [${namespace}] }\n    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }\n`,
    );
    const sm = new SecretsManagerClient({});

    // Act
    const outcome = await registerCluster({
      configFile,
      cluster: name,
      admin: loadAdminKubeconfig(adminFile),
      rbac: 'apply',
      token: { kind: 'token-request', seconds: 24 * 3600 },
      rotate: false,
      dryRun: false,
      entry: {},
      secrets: sm as unknown as SecretsWriterApi,
    }).catch((error: unknown) => error);
    const stored = await sm
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .catch((e: Error) => e.name);
    const controlNamespace = await kubeRequest(
      cluster,
      cluster.adminToken,
      'GET',
      `/api/v1/namespaces/${control}`,
    );

    // Assess
    expect(outcome).toBeInstanceOf(KubeconfigError);
    expect((outcome as Error).message).toMatch(
      new RegExp(
        `^cluster ${name}: kubeconfig: the admin kubeconfig names no CA .*set trustSystemRoots: true`,
      ),
    );
    expect(stored).toBe('ResourceNotFoundException');
    expect(controlNamespace.status).toBe(404);
  });
});
