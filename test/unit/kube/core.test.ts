/**
 * The delivery client refuses what it cannot send: a dry run asked of it would otherwise be made as a
 * real write. (Its requests themselves are the integration suite's, on the rig's apiservers.)
 */
import { describe, expect, it } from 'vitest';
import type { KubeTransport } from '../../../src/kube/client.ts';
import { lightCore } from '../../../src/kube/core.ts';

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
