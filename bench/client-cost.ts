/**
 * CPU per Kubernetes request of cred-courier's clients against lighter ways of making the same request:
 * the same GET (a ServiceAccount), 8 in flight, directly to a rig apiserver over one pooled connection
 * each (no proxy), measured with process.cpuUsage in this process. The delivery client (`src/kube/core.ts`)
 * is the hot path; client-node's CoreV1Api is what registration still uses. Each client is measured
 * in 3 interleaved rounds and its lowest CPU kept, so the order they run in and the JIT count less.
 *
 * On its own, with a rig of its own (cheap: no fleet): `node bench/client-cost.ts [--requests 2000]`.
 */
import { connect } from 'node:http2';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { createKubeApis } from '../src/kube/apis.ts';
import { createKubeClient } from '../src/kube/client.ts';
import { type RigCluster, startRig, tokenKubeconfig } from '../test/rig/rig.ts';

export interface ClientCost {
  readonly label: string;
  readonly cpuMsPerRequest: number;
  readonly wallMsPerRequest: number;
}

/** The undici that client-node itself uses (a dependency of it, not of cred-courier). */
const undici = createRequire(import.meta.resolve('@kubernetes/client-node'))(
  'undici',
) as typeof import('undici');

/** The row the delivery client is held to (at most twice its CPU). */
export const PLAIN_UNDICI = 'undici request, JSON.parse';
export const DELIVERY_CLIENT = "cred-courier's delivery client (dispatcher.request on the cluster's pool)";

/** The delivery client's CPU per request over a plain `undici.request`'s, from one measurement. */
export function deliveryOverPlain(costs: readonly ClientCost[]): number | undefined {
  const plain = costs.find((c) => c.label === PLAIN_UNDICI);
  const delivery = costs.find((c) => c.label === DELIVERY_CLIENT);
  return plain && delivery ? delivery.cpuMsPerRequest / plain.cpuMsPerRequest : undefined;
}

/** Rounds each client is measured in, interleaved, keeping its lowest: the order and the JIT even out. */
const ROUNDS = 3;

export async function measureClientCost(cluster: RigCluster, requests: number): Promise<ClientCost[]> {
  const path = '/api/v1/namespaces/default/serviceaccounts/default';
  const headers = { authorization: `Bearer ${cluster.adminToken}`, accept: 'application/json' };
  const best = new Map<string, ClientCost>();
  const measure = async (label: string, one: () => Promise<unknown>) => {
    for (let i = 0; i < 50; i++) await one(); // connection, JIT
    const limit = pLimit(8);
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: requests }, () => limit(one)));
    const used = process.cpuUsage(cpu);
    const cost = {
      label,
      cpuMsPerRequest: (used.user + used.system) / 1000 / requests,
      wallMsPerRequest: (performance.now() - started) / requests,
    };
    const previous = best.get(label);
    if (!previous || cost.cpuMsPerRequest < previous.cpuMsPerRequest) best.set(label, cost);
  };

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(tokenKubeconfig(cluster, 'rig-admin', cluster.adminToken));
  const delivery = createKubeClient(kubeConfig, { requestTimeoutMs: 10_000 });
  const registration = createKubeApis(kubeConfig, { requestTimeoutMs: 10_000 });
  const agent = new undici.Agent({ connect: { ca: cluster.caPem } });
  const session = connect(cluster.server, { ca: cluster.caPem });
  const clients: [string, () => Promise<unknown>][] = [
    [
      DELIVERY_CLIENT,
      () => delivery.core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }),
    ],
    [
      'client-node CoreV1Api over undici fetch (registration; delivery before)',
      () => registration.core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }),
    ],
    [
      'undici fetch, JSON.parse',
      async () => (await undici.fetch(cluster.server + path, { dispatcher: agent, headers })).json(),
    ],
    [
      PLAIN_UNDICI,
      async () => (await undici.request(cluster.server + path, { dispatcher: agent, headers })).body.json(),
    ],
    [
      'node:http2, JSON.parse',
      () =>
        new Promise((done, fail) => {
          const stream = session.request({ ':path': path, ...headers });
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => done(JSON.parse(Buffer.concat(chunks).toString())));
          stream.on('error', fail);
          stream.end();
        }),
    ],
  ];
  try {
    for (let round = 0; round < ROUNDS; round++)
      for (const [label, one] of clients) await measure(label, one);
  } finally {
    delivery.close();
    await agent.close();
    session.close();
  }
  return clients.map(([label]) => best.get(label) as ClientCost);
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '2000' } } });
  const rig = await startRig();
  try {
    const costs = await measureClientCost(rig.clusters.a, Number(values.requests));
    for (const c of costs)
      process.stdout.write(
        `${c.label}: ${c.cpuMsPerRequest.toFixed(3)} ms CPU, ${c.wallMsPerRequest.toFixed(3)} ms wall per request\n`,
      );
    process.stdout.write(
      `delivery client ÷ plain undici.request: ${deliveryOverPlain(costs)?.toFixed(2)}×\n`,
    );
  } finally {
    await rig.stop();
  }
}
