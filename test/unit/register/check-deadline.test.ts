/**
 * The check's deadline (the function's remaining time): clusters not started before it are reported as
 * not checked without being contacted, and a cluster that hangs is cut off so the others' report still
 * returns. The hanging server is a stand-in: a local TCP listener that accepts and never answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { checkClusters } from '../../../src/register/check.ts';
import { minimalKubeconfig } from '../../../src/register/token.ts';

const config = (names: readonly string[]) =>
  parseConfig(
    `clusters:\n${names
      .map(
        (name) =>
          `  - name: ${name}\n    kubeconfigSecret: s/${name}\n    trustSystemRoots: true\n    namespaces: { names: [app] }\n    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }\n`,
      )
      .join('')}`,
    'clusters.yaml',
  );

describe('checkClusters with a deadline', () => {
  let silent: Server;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  const kubeconfig = () =>
    minimalKubeconfig({ cluster: 'x', server: `https://127.0.0.1:${port}`, token: 'not-a-real-token' });

  it('reports every cluster as not checked once the deadline is near, reading no kubeconfig', async () => {
    const read: string[] = [];
    const report = await checkClusters({
      config: config(['a', 'b']),
      kubeconfigs: {
        get: async (cluster) => {
          read.push(cluster);
          return kubeconfig();
        },
        invalidate: () => {},
      },
      deadline: new Date(Date.now() + 2_000),
    });

    expect(read).toEqual([]);
    expect(report.ok).toBe(false);
    expect(report.clusters.map((c) => c.items.map((i) => `${i.check}:${i.status}`))).toEqual([
      ['reachability:fail'],
      ['reachability:fail'],
    ]);
    expect(report.clusters[0]?.items[0]?.detail).toMatch(
      /^deadline: not checked: .*check fewer clusters at a time/,
    );
  });

  it('cuts off a cluster whose server never answers when the deadline comes', async () => {
    const started = Date.now();
    const report = await checkClusters({
      config: config(['hangs']),
      kubeconfigs: { get: async () => kubeconfig(), invalidate: () => {} },
      // 3 s are kept back: the cluster has about half a second.
      deadline: new Date(Date.now() + 3_500),
    });

    expect(Date.now() - started).toBeLessThan(3_000);
    const reachability = report.clusters[0]?.items.find((i) => i.check === 'reachability');
    expect(reachability?.status).toBe('fail');
    expect(reachability?.detail).toMatch(/^(timeout|deadline): /);
  });
});
