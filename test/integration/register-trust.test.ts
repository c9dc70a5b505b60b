/**
 * What `register` trusts with the admin kubeconfig. The CA must be embedded in the kubeconfig it stores:
 * with an admin kubeconfig that names no CA (the operator's machine would trust the system roots), it
 * refuses before any request, unless the entry opts into the system roots. And a redirect from the
 * apiserver is refused on the admin's connection as on delivery's (one client-node configuration path):
 * nothing reaches the Location. Nothing is applied or stored in either case.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { KubeconfigError } from '../../src/errors.ts';
import { registerCluster } from '../../src/register/register.ts';
import { classify } from '../../src/report/classify.ts';
import { Pki } from '../faults/pki.ts';
import { FaultProxy } from '../faults/proxy.ts';
import { RecordingListener } from '../faults/sink.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { registerOptions, storedKubeconfig } from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

type Doc = { clusters: { cluster: Record<string, unknown> }[] };

/** A registration file with one cluster delivering ECR into `namespace`. */
function registrationFile(dir: string, name: string, control: string, namespace: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `settings:\n  controlNamespace: ${control}\nclusters:\n  - name: ${name}\n    kubeconfigSecret: cred-courier/test/${name}\n    namespaces: { names: [${namespace}] }\n    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }\n`,
  );
  return file;
}

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
    const configFile = registrationFile(dir, name, control, namespace);
    const secretId = `cred-courier/test/${name}`;

    // Act
    const outcome = await registerCluster(
      registerOptions({ configFile, cluster: name, adminKubeconfigPath: adminFile }),
    ).catch((error: unknown) => error);
    const stored = await storedKubeconfig(secretId).catch((e: Error) => e.name);
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

  it('refuses a redirect on the admin connection: register fails with class redirect, the Location gets nothing, nothing is stored', async () => {
    // Prepare
    const cluster = theRig().clusters.a;
    const pki = new Pki();
    const ca = { certFile: cluster.caCertFile, keyFile: cluster.caKeyFile };
    const trusted = pki.servingCert(ca);
    const sink = await new RecordingListener(trusted).start();
    const proxy = await new FaultProxy({
      upstream: cluster.server,
      upstreamCa: cluster.caPem,
      certificates: { trusted },
    }).start();
    await proxy.setMode({
      kind: 'status',
      rules: [{ path: /.*/, status: 307, location: `${sink.origin}/collected?from=register` }],
    });
    const name = uniqueName('reg-redirect');
    const control = uniqueName('cc');
    const namespace = uniqueName('app');
    await ensureNamespace(cluster, namespace);
    const admin = readFileSync(cluster.adminKubeconfigPath, 'utf8').replace(
      /server: https:\/\/[^\s]+/,
      `server: ${proxy.url}`,
    );
    const adminFile = join(dir, 'admin-via-proxy.yaml');
    writeFileSync(adminFile, admin);
    const configFile = registrationFile(dir, name, control, namespace);

    // Act
    const outcome = await registerCluster(
      registerOptions({ configFile, cluster: name, adminKubeconfigPath: adminFile }),
    ).catch((error: unknown) => error);
    const stored = await storedKubeconfig(`cred-courier/test/${name}`).catch((e: Error) => e.name);
    const seenByProxy = proxy.requests.map((r) => `${r.method} ${r.status}`);
    await proxy.stop();
    await sink.stop();
    pki.dispose();

    // Assess
    // Nothing reached the Location first: that is what a followed redirect would leak.
    expect({ connections: sink.connections, requests: sink.requests }).toEqual({
      connections: 0,
      requests: [],
    });
    expect(classify(outcome)).toBe('redirect');
    expect((outcome as Error).message).toContain(
      `the apiserver answered HTTP 307, a redirect to ${sink.origin};`,
    );
    expect((outcome as Error).message).not.toContain('/collected');
    expect(seenByProxy.length).toBeGreaterThan(0);
    expect(seenByProxy.every((r) => r.endsWith(' 307'))).toBe(true);
    expect(stored).toBe('ResourceNotFoundException');
  });
});
