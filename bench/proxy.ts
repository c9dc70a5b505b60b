/**
 * A latency-injecting TCP proxy: one listener per simulated cluster in front of a rig apiserver. Bytes
 * pass through untouched (TLS included: the client still verifies the apiserver's certificate against
 * the kubeconfig's CA, for 127.0.0.1), each chunk delayed by half the round-trip time in its direction.
 *
 * Connection set-up costs one round trip as on a real network: the proxy accepts at once on loopback,
 * but holds the client's first bytes (the TLS ClientHello) until one RTT after the accept — the SYN /
 * SYN-ACK exchange a real client waits for — then delays them like every other chunk. A new TLS 1.3
 * connection therefore costs 2 RTT before its first request, and every request on it 1 RTT more.
 * Bandwidth is not limited. Connections are counted per listener.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface ProxyListener {
  readonly port: number;
  /** Connections accepted since the last reset. */
  connections: number;
}

export interface LatencyProxy {
  /** Opens a listener on 127.0.0.1 forwarding to `upstreamPort` on 127.0.0.1. */
  listen(upstreamPort: number): Promise<ProxyListener>;
  /** Connections accepted by every listener since the last reset. */
  connections(): number;
  resetCounts(): void;
  close(): Promise<void>;
}

type Item = { readonly at: number; readonly chunk?: Buffer; readonly close?: 'end' | 'destroy' };

/** Forwards `from` to `to`, each chunk no earlier than `notBefore()` and `oneWayMs` after it arrived. */
function delayedPipe(from: Socket, to: Socket, oneWayMs: number, notBefore: () => number): void {
  const queue: Item[] = [];
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && (queue[0] as Item).at <= now) {
      const item = queue.shift() as Item;
      if (to.destroyed) return;
      if (item.chunk) to.write(item.chunk);
      else if (item.close === 'end') to.end();
      else to.destroy();
    }
    schedule();
  };
  const schedule = () => {
    if (timer || queue.length === 0) return;
    timer = setTimeout(flush, Math.max(0, (queue[0] as Item).at - performance.now()));
  };
  const enqueue = (item: Omit<Item, 'at'>) => {
    queue.push({ at: Math.max(performance.now(), notBefore()) + oneWayMs, ...item });
    schedule();
  };
  from.on('data', (chunk: Buffer) => enqueue({ chunk }));
  from.on('end', () => {
    ended = true;
    enqueue({ close: 'end' });
  });
  // A reset (or a close without FIN) reaches the other side after the same delay.
  from.on('close', () => {
    if (!ended) enqueue({ close: 'destroy' });
  });
}

export function startLatencyProxy(options: { readonly rttMs: number }): LatencyProxy {
  const oneWay = options.rttMs / 2;
  const servers: Server[] = [];
  const listeners: ProxyListener[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  return {
    async listen(upstreamPort) {
      const listener: ProxyListener = { port: 0, connections: 0 };
      const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
        listener.connections++;
        const acceptedAt = performance.now();
        const upstream = tcpConnect({
          host: '127.0.0.1',
          port: upstreamPort,
          allowHalfOpen: true,
          noDelay: true,
        });
        track(client);
        track(upstream);
        delayedPipe(client, upstream, oneWay, () => acceptedAt + options.rttMs);
        delayedPipe(upstream, client, oneWay, () => 0);
      });
      servers.push(server);
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', () => done());
      });
      const address = server.address();
      (listener as { port: number }).port = typeof address === 'object' && address ? address.port : 0;
      listeners.push(listener);
      return listener;
    },
    connections: () => listeners.reduce((sum, l) => sum + l.connections, 0),
    resetCounts: () => {
      for (const listener of listeners) listener.connections = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise<void>((done) => server.close(() => done()))));
    },
  };
}
