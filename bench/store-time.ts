import type { mongo } from 'mongoose';

/** Totals so far; a window is the difference of two readings. */
export interface StoreTimeReading {
  /** Replies received (succeeded or failed). */
  replies: number;
  /** Sum of the driver's per-command durations. */
  busyMs: number;
  /** Documents in `find`/`aggregate`/`getMore` reply batches. */
  documents: number;
}

export interface StoreTimeMeter {
  read(): StoreTimeReading;
  /** Requests sent and not yet answered. */
  inFlight(): number;
  stop(): void;
}

interface CursorReply {
  cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] };
}

/**
 * What the request count hides: how long the app's requests kept the store busy and how many documents they read.
 * A reconciler that reads every waiting run makes as many requests at 10,000 waiting runs as at none, but not as
 * many documents. From the driver's command monitoring, like the request log.
 */
export function meterStoreTime(client: mongo.MongoClient): StoreTimeMeter {
  const total: StoreTimeReading = { replies: 0, busyMs: 0, documents: 0 };
  let started = 0;
  const start = (_e: mongo.CommandStartedEvent) => {
    started++;
  };
  const succeeded = (e: mongo.CommandSucceededEvent) => {
    total.replies++;
    total.busyMs += e.duration;
    const cursor = (e.reply as CursorReply | undefined)?.cursor;
    total.documents += cursor?.firstBatch?.length ?? cursor?.nextBatch?.length ?? 0;
  };
  const failed = (e: mongo.CommandFailedEvent) => {
    total.replies++;
    total.busyMs += e.duration;
  };
  client.on('commandStarted', start);
  client.on('commandSucceeded', succeeded);
  client.on('commandFailed', failed);
  return {
    read: () => ({ ...total }),
    inFlight: () => started - total.replies,
    stop() {
      client.off('commandStarted', start);
      client.off('commandSucceeded', succeeded);
      client.off('commandFailed', failed);
    },
  };
}

export function since(now: StoreTimeReading, before: StoreTimeReading): StoreTimeReading {
  return {
    replies: now.replies - before.replies,
    busyMs: now.busyMs - before.busyMs,
    documents: now.documents - before.documents,
  };
}
