/**
 * CPU per Kubernetes request of cred-courier's client against lighter ways of making the same request:
 * the same GET (a ServiceAccount), 8 in flight, directly to a rig apiserver over one HTTP/2 connection
 * each (no proxy), measured with process.cpuUsage in this process.
 */
import { connect } from 'node:http2';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { KubeConfig } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { createKubeClient } from '../src/kube/client.ts';
import { type RigCluster, tokenKubeconfig } from '../test/rig/rig.ts';

export interface ClientCost {
  readonly label: string;
  readonly cpuMsPerRequest: number;
  readonly wallMsPerRequest: number;
}

/** The undici that client-node itself uses (a dependency of it, not of cred-courier). */
const undici = createRequire(import.meta.resolve('@kubernetes/client-node'))(
  'undici',
) as typeof import('undici');

export async function measureClientCost(cluster: RigCluster, requests: number): Promise<ClientCost[]> {
  const path = '/api/v1/namespaces/default/serviceaccounts/default';
  const headers = { authorization: `Bearer ${cluster.adminToken}`, accept: 'application/json' };
  const results: ClientCost[] = [];
  const measure = async (label: string, one: () => Promise<unknown>) => {
    for (let i = 0; i < 50; i++) await one(); // connection, JIT
    const limit = pLimit(8);
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: requests }, () => limit(one)));
    const used = process.cpuUsage(cpu);
    results.push({
      label,
      cpuMsPerRequest: (used.user + used.system) / 1000 / requests,
      wallMsPerRequest: (performance.now() - started) / requests,
    });
  };

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(tokenKubeconfig(cluster, 'rig-admin', cluster.adminToken));
  const { core } = createKubeClient(kubeConfig, { requestTimeoutMs: 10_000 });
  await measure("cred-courier's client (client-node CoreV1Api over undici fetch)", () =>
    core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }),
  );
  const agent = new undici.Agent({ connect: { ca: cluster.caPem } });
  await measure('undici fetch, JSON.parse', async () =>
    (await undici.fetch(cluster.server + path, { dispatcher: agent, headers })).json(),
  );
  await measure('undici request, JSON.parse', async () =>
    (await undici.request(cluster.server + path, { dispatcher: agent, headers })).body.json(),
  );
  await agent.close();
  const session = connect(cluster.server, { ca: cluster.caPem });
  await measure('node:http2, JSON.parse', () => {
    return new Promise((done, fail) => {
      const stream = session.request({ ':path': path, ...headers });
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => done(JSON.parse(Buffer.concat(chunks).toString())));
      stream.on('error', fail);
      stream.end();
    });
  });
  session.close();
  return results;
}
