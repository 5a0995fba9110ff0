import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';
import { between, type Random } from './random.js';

export interface ProxyFaults {
  /** Added to every chunk forwarded, in each direction, drawn uniformly from [min, max]. */
  latencyMs: { min: number; max: number };
  /** Probability per forwarded chunk that the connection is destroyed (both sides) part-way through the chunk. */
  cutRate: number;
}

export interface FaultProxy {
  /** Listens on 127.0.0.1:port. */
  readonly port: number;
  /** Applies to chunks that arrive from now on; chunks already delayed keep their delay. */
  setFaults(f: Partial<ProxyFaults>): void;
  /** Destroys every open connection now; returns how many. */
  cutAll(): number;
  /** Down: open connections are cut and new ones accepted then reset at once, as if the server vanished. */
  setDown(down: boolean): void;
  stats(): { connections: number; open: number; cuts: number; refused: number; bytes: number };
  close(): Promise<void>;
}

const NO_FAULTS: ProxyFaults = { latencyMs: { min: 0, max: 0 }, cutRate: 0 };

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Destroys both sides; true the first time only. */
  cut(): boolean;
}

/**
 * A TCP proxy in front of Redis or the MongoDB-wire store that delays, cuts and refuses connections on command,
 * so the app meets the faults a real network and a dying server produce: a reply that never comes, a request
 * half sent, a reconnect that fails.
 */
export async function startFaultProxy(o: {
  upstream: { host: string; port: number };
  random: Random;
  listenPort?: number;
}): Promise<FaultProxy> {
  let faults: ProxyFaults = NO_FAULTS;
  let down = false;
  const open = new Set<Pair>();
  const counts = { connections: 0, cuts: 0, refused: 0, bytes: 0 };

  const server = createServer({ allowHalfOpen: true }, (client) => {
    counts.connections++;
    client.on('error', () => {
      // a reset by the client or by us; the pair is torn down on 'close'
    });
    if (down) {
      counts.refused++;
      reset(client);
      return;
    }
    const upstream = createConnection({ host: o.upstream.host, port: o.upstream.port, allowHalfOpen: true });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
    });
    let closed = false;
    let directionsEnded = 0;
    const pair: Pair = {
      client,
      upstream,
      cut() {
        if (closed) return false;
        closed = true;
        open.delete(pair);
        reset(client);
        reset(upstream);
        return true;
      },
    };
    open.add(pair);
    upstream.on('error', () => {
      // The server is stopped or died: the client must see its connection fail, not hang.
      if (!connected) counts.refused++;
    });
    const onClose = () => {
      // One side went away abruptly (not after an orderly end both ways): the other must not linger half-open.
      if (!(client.readableEnded && upstream.readableEnded)) pair.cut();
    };
    client.on('close', onClose);
    upstream.on('close', onClose);
    const onEnded = () => {
      directionsEnded++;
      if (directionsEnded === 2 && !closed) {
        closed = true;
        open.delete(pair);
      }
    };
    forward(client, upstream, pair, onEnded);
    forward(upstream, client, pair, onEnded);
  });

  /**
   * Copies `from` into `to` through a queue, so a delayed chunk holds back the ones behind it: bytes in one
   * direction are never reordered, whatever the jitter.
   */
  function forward(from: Socket, to: Socket, pair: Pair, onEnded: () => void): void {
    const queue: { chunk: Buffer | 'end'; due: number }[] = [];
    let pumping = false;
    let awaitingDrain = false;

    const deliver = (chunk: Buffer | 'end') => {
      if (to.destroyed) return;
      if (chunk === 'end') {
        to.end();
        onEnded();
        return;
      }
      counts.bytes += chunk.length;
      if (!to.write(chunk) && !awaitingDrain) {
        awaitingDrain = true;
        from.pause();
        to.once('drain', () => {
          awaitingDrain = false;
          from.resume();
        });
      }
    };

    const pump = async () => {
      pumping = true;
      while (queue.length > 0 && !to.destroyed) {
        const head = queue[0]!;
        const wait = head.due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        queue.shift();
        deliver(head.chunk);
      }
      queue.length = 0;
      pumping = false;
    };

    const enqueue = (chunk: Buffer | 'end', delayMs: number) => {
      if (delayMs <= 0 && !pumping) {
        deliver(chunk);
        return;
      }
      queue.push({ chunk, due: Date.now() + delayMs });
      if (!pumping) void pump();
    };

    from.on('data', (chunk: Buffer) => {
      const { latencyMs, cutRate } = faults;
      if (cutRate > 0 && o.random() < cutRate) {
        // Part of the chunk gets through: the server may see half a request, or the client half a reply.
        const part = Math.floor(o.random() * chunk.length);
        if (part > 0 && !pumping && !to.destroyed) to.write(chunk.subarray(0, part));
        if (pair.cut()) counts.cuts++;
        return;
      }
      const delayMs = latencyMs.max > 0 ? between(o.random, latencyMs.min, latencyMs.max) : 0;
      enqueue(chunk, delayMs);
    });
    from.on('end', () => enqueue('end', 0));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listenPort ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {
    // accept errors (EMFILE and the like) must not crash the suite; the client sees its connect fail
  });
  const { port } = server.address() as AddressInfo;

  const cutAll = () => {
    let n = 0;
    for (const pair of [...open]) if (pair.cut()) n++;
    counts.cuts += n;
    return n;
  };

  return {
    port,
    setFaults(f) {
      faults = {
        latencyMs: f.latencyMs ? { ...f.latencyMs } : faults.latencyMs,
        cutRate: f.cutRate ?? faults.cutRate,
      };
    },
    cutAll,
    setDown(value) {
      down = value;
      if (down) cutAll();
    },
    stats: () => ({ ...counts, open: open.size }),
    close() {
      cutAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An RST rather than a FIN: the peer sees ECONNRESET, as when a network path or a server dies. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  // A socket still connecting cannot send an RST (Node would wait for the connect that may never come).
  if (socket.connecting) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
