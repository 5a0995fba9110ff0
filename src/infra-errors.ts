/**
 * Tells an outage (the store or Redis unreachable, a timeout, a primary stepping down) from everything else. An
 * outage is never a result: a job that meets one is retried without using up its step's attempts, and a request
 * that meets one answers 503 with Retry-After. Recognised by the drivers' error names, codes and labels, walking
 * `cause`, because mongoose and BullMQ wrap what the drivers throw. A bare socket error (ECONNREFUSED) is not one
 * unless the MongoDB driver threw it: the model server, SMTP and Slack throw those too, and have their own retries.
 */

export type Dependency = 'mongo' | 'redis';

export interface InfrastructureFault {
  dependency: Dependency;
  message: string;
}

/** The MongoDB driver's classes for a server it cannot reach or that went away mid-request. */
const MONGO_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
  'MongoOperationTimeoutError',
  'MongoWaitQueueTimeoutError',
]);

/** Server error codes of a member that is shutting down, stepping down or not (yet) primary. */
const MONGO_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** ioredis and BullMQ messages for a connection that is closed, not ready, or a server not ready to answer. */
const REDIS_MESSAGES = [
  /^Connection is closed/,
  /Stream isn't writeable/,
  /^Reached the max retries per request limit/,
  /^LOADING /,
  /^READONLY /,
  /^MASTERDOWN /,
  /^TRYAGAIN /,
  /^CLUSTERDOWN /,
];

/**
 * The MongoDB driver (7.x) rejects a write on a socket the server half-closed (a stopped server sends FIN) with a
 * bare stream error; its stack, not its class, says whose socket it was.
 */
const SOCKET_CODES = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_WRITE_AFTER_END', 'ERR_STREAM_DESTROYED']);
const MONGO_DRIVER_FRAME = /[\\/]node_modules[\\/]mongodb[\\/]lib[\\/]/;
/** ioredis, too, can reject a command with the socket's own error when the connection resets under it. */
const IOREDIS_FRAME = /[\\/]node_modules[\\/]ioredis[\\/]/;

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  errorLabels?: unknown;
  cause?: unknown;
  stack?: unknown;
}

function one(err: ErrorLike): InfrastructureFault | undefined {
  const name = typeof err.name === 'string' ? err.name : '';
  const message = typeof err.message === 'string' ? err.message : '';
  const isMongo = name.startsWith('Mongo');
  if (MONGO_NAMES.has(name)) return { dependency: 'mongo', message };
  if (isMongo && typeof err.code === 'number' && MONGO_CODES.has(err.code)) return { dependency: 'mongo', message };
  if (isMongo && Array.isArray(err.errorLabels)) {
    const labels = err.errorLabels as unknown[];
    if (
      labels.includes('RetryableWriteError') ||
      labels.includes('ResetPool') ||
      labels.includes('SystemOverloadedError')
    )
      return { dependency: 'mongo', message };
  }
  const stack = typeof err.stack === 'string' ? err.stack : '';
  if (typeof err.code === 'string' && SOCKET_CODES.has(err.code) && MONGO_DRIVER_FRAME.test(stack)) {
    return { dependency: 'mongo', message };
  }
  if (typeof err.code === 'string' && SOCKET_CODES.has(err.code) && IOREDIS_FRAME.test(stack)) {
    return { dependency: 'redis', message };
  }
  // mongoose buffers commands while disconnected and gives up with a plain MongooseError.
  if (name === 'MongooseError' && /buffering timed out/.test(message)) return { dependency: 'mongo', message };
  if (name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.some((r) => r.test(message))) {
    return { dependency: 'redis', message };
  }
  return undefined;
}

/** The outage behind `err`, if it is one. */
export function infrastructureFault(err: unknown): InfrastructureFault | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const found = one(current as ErrorLike);
    if (found) return found;
    current = (current as ErrorLike).cause;
  }
  return undefined;
}

export const isInfrastructureError = (err: unknown): boolean => infrastructureFault(err) !== undefined;
