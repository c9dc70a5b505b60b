/**
 * The delivery client refuses what it cannot send: a dry run asked of it would otherwise be made as a
 * real write. (Its requests themselves are the integration suite's, on the rig's apiservers.)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import type { KubeTransport } from '../../../src/kube/client.ts';
import { lightCore, MAX_RESPONSE_BYTES } from '../../../src/kube/core.ts';
import { deadline } from '../../../src/kube/deadline.ts';

describe('delivery client', () => {
  it('refuses a dry run before anything is sent', async () => {
    let sent = 0;
    const transport: KubeTransport = {
      server: 'https://127.0.0.1:1',
      connection: () => {
        sent++;
        return Promise.reject(new Error('no connection in this test'));
      },
      requestDeadline: () => ({ signal: new AbortController().signal, dispose: () => {} }),
      requestTimeoutMs: 10_000,
    };
    const core = lightCore(transport);
    const secret = { metadata: { name: 'x' } };
    await expect(
      core.createNamespacedSecret({ namespace: 'a', body: secret, dryRun: 'All' }),
    ).rejects.toThrow('sends no dry runs');
    await expect(
      core.patchNamespacedSecret({ name: 'x', namespace: 'a', body: [], dryRun: 'All' }),
    ).rejects.toThrow('sends no dry runs');
    await expect(core.deleteNamespacedSecret({ name: 'x', namespace: 'a', dryRun: 'All' })).rejects.toThrow(
      'sends no dry runs',
    );
    expect(sent).toBe(0);
  });
});

/**
 * An apiserver that answers with more than any Secret, ConfigMap or namespace list could be: a
 * hand-written stand-in, since a real apiserver cannot be made to send such an answer. It counts what it
 * managed to send before the client dropped the connection.
 */
async function floodingServer(withLength: boolean) {
  const total = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'A');
  const [head, tail] = ['{"metadata":{"name":"x"},"data":{"k":"', '"}}'];
  const sent = { bytes: 0, closed: false };
  const server = createServer((_request, response) => {
    response.writeHead(200, {
      'content-type': 'application/json',
      ...(withLength ? { 'content-length': String(head.length + total + tail.length) } : {}),
    });
    response.write(head);
    const more = () => {
      while (sent.bytes < total) {
        sent.bytes += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', more);
      }
      response.end(tail);
    };
    response.on('close', () => (sent.closed = true));
    more();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pool = new Pool(origin);
  const transport: KubeTransport = {
    server: origin,
    connection: async () => ({ dispatcher: pool, headers: {} }),
    requestDeadline: () => deadline(30_000),
    requestTimeoutMs: 30_000,
  };
  return {
    core: lightCore(transport),
    sent,
    total,
    close: async () => {
      await pool.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('delivery client, against an apiserver that floods its answer', () => {
  it.each([
    ['with', true],
    ['without', false],
  ])(
    'refuses an answer over the limit (%s Content-Length) before holding it, and drops the connection',
    async (_, withLength) => {
      const flood = await floodingServer(withLength);
      try {
        await expect(flood.core.readNamespacedSecret({ name: 'x', namespace: 'a' })).rejects.toThrow(
          `the apiserver's answer to GET /api/v1/namespaces/a/secrets/x is larger than ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB`,
        );
        await vi.waitFor(() => expect(flood.sent.closed).toBe(true));
        expect(flood.sent.bytes).toBeLessThan(flood.total);
      } finally {
        await flood.close();
      }
    },
  );
});
