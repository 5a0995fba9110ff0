import { createConnection, createServer } from 'node:net';

const LOCALHOST = '127.0.0.1';

/** Whether something accepts TCP connections on the port. */
export function isPortOpen(port: number, host = LOCALHOST, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The first port from `start` on that nothing listens on. */
export async function findFreePort(start: number, host = LOCALHOST): Promise<number> {
  for (let port = start; port < start + 100; port++) {
    if (await canListen(port, host)) return port;
  }
  throw new Error(`no free port between ${start} and ${start + 99}`);
}

/** A port the OS considers free right now (for tests and benches that start servers side by side). */
export function ephemeralPort(host = LOCALHOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
