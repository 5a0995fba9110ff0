import mongoose from 'mongoose';
import { z } from 'zod';

/** What the driver reads of a run: enough to follow it and to check the invariants, nothing else. */
const runRow = z.object({
  _id: z.string(),
  workflow: z.string(),
  status: z.string(),
  source: z.object({ channel: z.string(), key: z.string().optional() }).partial().nullish(),
  output: z.unknown().optional(),
  createdAt: z.date().optional(),
  updatedAt: z.date().optional(),
});
export type RunRow = z.infer<typeof runRow>;

const checkpointRow = z.object({
  _id: z.string(),
  runId: z.string(),
  workflow: z.string().optional(),
  name: z.string().optional(),
  status: z.string(),
  values: z.record(z.string(), z.unknown()).optional(),
  approvals: z.array(z.object({ actor: z.string(), channel: z.string() }).loose()).optional(),
  decision: z
    .object({ decision: z.enum(['approve', 'reject']), actor: z.string(), channel: z.string() })
    .loose()
    .nullish(),
  createdAt: z.date().optional(),
});
export type CheckpointRow = z.infer<typeof checkpointRow>;

export interface Snapshot {
  at: number;
  runs: RunRow[];
  checkpoints: CheckpointRow[];
}

export interface StoreObserver {
  /** The store as it is now, or null while it cannot be read (an outage is expected: the caller tries again). */
  snapshot(): Promise<Snapshot | null>;
  /** Rows the schema refused, so a change in the store's shape is reported instead of silently ignored. */
  refused(): string[];
  close(): Promise<void>;
}

/** Reads the store directly (past the proxy), with short timeouts so an outage costs seconds, not minutes. */
export async function observeStore(url: string): Promise<StoreObserver> {
  const conn = mongoose.createConnection(url, {
    serverSelectionTimeoutMS: 3_000,
    socketTimeoutMS: 10_000,
    connectTimeoutMS: 3_000,
  });
  // A connection that fails now is retried by the driver's next read; it must not throw out of the event loop.
  conn.on('error', () => {});
  await conn.asPromise().catch(() => undefined);
  const refused = new Set<string>();
  const parse = <T>(schema: z.ZodType<T>, docs: unknown[], what: string): T[] =>
    docs.flatMap((d) => {
      const r = schema.safeParse(d);
      if (r.success) return [r.data];
      refused.add(`${what}: ${z.prettifyError(r.error).slice(0, 200)}`);
      return [];
    });
  return {
    async snapshot() {
      try {
        const db = conn.db;
        if (!db) return null;
        const [runs, checkpoints] = await Promise.all([
          db
            .collection('runs')
            .find(
              {},
              { projection: { _id: 1, workflow: 1, status: 1, source: 1, output: 1, createdAt: 1, updatedAt: 1 } },
            )
            .toArray(),
          db
            .collection('checkpoints')
            .find(
              {},
              {
                projection: {
                  _id: 1,
                  runId: 1,
                  workflow: 1,
                  name: 1,
                  status: 1,
                  values: 1,
                  approvals: 1,
                  decision: 1,
                  createdAt: 1,
                },
              },
            )
            .toArray(),
        ]);
        return {
          at: Date.now(),
          runs: parse(runRow, runs, 'run'),
          checkpoints: parse(checkpointRow, checkpoints, 'checkpoint'),
        };
      } catch {
        return null;
      }
    },
    refused: () => [...refused],
    close: () => conn.close(true).catch(() => undefined),
  };
}
