import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a real service, so a test or the chaos harness can cut every open
 * connection (as a network failure would) while the service itself stays up. New connections
 * are accepted again right after a cut, so a client that reconnects on its own gets through.
 */
export interface TcpProxy {
  /** the local port clients connect to */
  port: number;
  /** how many client connections are open right now */
  openConnections(): number;
  /** destroys every open client/upstream socket pair; keeps listening */
  cutAll(): void;
  /**
   * The client's own port for the proxied connection whose upstream side uses `upstreamPort`
   * locally — what the service sees as the client's port (Postgres' `client_port`). Lets a
   * caller find which local process is behind a session the service reports.
   */
  clientPortFor(upstreamPort: number): number | undefined;
  /** cuts everything and stops listening */
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number } = { host: '127.0.0.1', port: 5672 }): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream };
    pairs.add(pair);
    const teardown = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // A reset on either side ends both: the proxy never holds half a connection.
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', teardown);
    upstream.on('close', teardown);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });

  function cutAll(): void {
    for (const pair of [...pairs]) {
      pairs.delete(pair);
      pair.client.destroy();
      pair.upstream.destroy();
    }
  }

  return {
    port: (server.address() as AddressInfo).port,
    openConnections: () => pairs.size,
    cutAll,
    clientPortFor(upstreamPort) {
      for (const { client, upstream } of pairs) if (upstream.localPort === upstreamPort) return client.remotePort;
      return undefined;
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
