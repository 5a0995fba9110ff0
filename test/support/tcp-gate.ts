import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a shared service, so a test can make it unreachable for one app without stopping it
 * for everyone: `shut()` resets every connection and turns new ones away (accepted, then reset at once: what a
 * client sees from a server whose host went away), `open()` lets them through again.
 */
export interface TcpGate {
  port: number;
  /** `url` with its host and port replaced by the gate's. */
  in(url: string): string;
  shut(): void;
  open(): void;
  stop(): Promise<void>;
}

export async function startTcpGate(target: { host: string; port: number }): Promise<TcpGate> {
  const sockets = new Set<Socket>();
  let shut = false;
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  const server = createServer((client) => {
    track(client);
    if (shut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(target);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the gate did not start');
  const port = address.port;
  return {
    port,
    in(url) {
      const u = new URL(url);
      u.host = `127.0.0.1:${port}`;
      return u.toString();
    },
    shut() {
      shut = true;
      // A reset, not a FIN: the MongoDB driver (7.8) can hang for good on a write to a socket the peer half-closed
      // (its monitor then never checks the server again); a reset is seen at once. See docs/design.md, "Outages".
      for (const s of sockets) s.resetAndDestroy();
    },
    open() {
      shut = false;
    },
    async stop() {
      shut = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Host and port of a service URL (mongodb:// or redis://). */
export function hostOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}
