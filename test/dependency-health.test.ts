import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDependencyHealth, type DependencyHealth, DRIVER_EVENTS } from '../src/dependency-health.js';

/** A ping that fails until `answer()` is called. */
function fakePing() {
  let answering = false;
  const ping = vi.fn(async () => {
    if (!answering) throw new Error('connect ECONNREFUSED 127.0.0.1:27017');
    return 'PONG';
  });
  return { ping, answer: () => (answering = true), fail: () => (answering = false) };
}

function fakeClock(start = new Date('2026-12-01T10:00:00Z')) {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

const networkError = () =>
  Object.assign(new Error('connection 3 to 127.0.0.1:27017 closed'), { name: 'MongoNetworkError' });
const redisClosed = () => new Error('Connection is closed.');

let clock: ReturnType<typeof fakeClock>;
let mongo: ReturnType<typeof fakePing>;
let redis: ReturnType<typeof fakePing>;
let logs: { level: 'warn' | 'info'; obj: object; msg: string }[];
let outages: string[];
let health: DependencyHealth;

beforeEach(() => {
  clock = fakeClock();
  mongo = fakePing();
  redis = fakePing();
  logs = [];
  outages = [];
  health = createDependencyHealth({
    pings: { mongo: mongo.ping, redis: redis.ping },
    clock,
    logger: {
      warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }),
      info: (obj, msg) => logs.push({ level: 'info', obj, msg }),
    },
    onOutage: (d) => outages.push(d),
    probeEveryMs: 1_000,
    pingTimeoutMs: 500,
  });
});
afterEach(() => {
  health.close();
  vi.useRealTimers();
});

describe('dependency health', () => {
  it('starts with both dependencies up', () => {
    expect(health.status()).toEqual({ mongo: { up: true }, redis: { up: true } });
    expect(health.isDown()).toBeUndefined();
  });

  it('marks the store down when a request meets a MongoDB network error', () => {
    expect(health.report(networkError())).toBe(true);
    clock.advance(4_200);
    const { mongo: state } = health.status();
    expect(state).toMatchObject({ up: false, downForMs: 4_200, lastError: 'connection 3 to 127.0.0.1:27017 closed' });
    expect(state.downSince?.toISOString()).toBe('2026-12-01T10:00:00.000Z');
    expect(health.isDown()).toBe('mongo');
  });

  it('recognises an outage wrapped as the cause of another error', () => {
    expect(health.report(new Error('job failed', { cause: redisClosed() }))).toBe(true);
    expect(health.isDown()).toBe('redis');
  });

  it('ignores errors that are not outages', () => {
    expect(health.report(new Error('validation failed'))).toBe(false);
    expect(
      health.report(Object.assign(new Error('E11000 duplicate key'), { name: 'MongoServerError', code: 11000 })),
    ).toBe(false);
    expect(health.isDown()).toBeUndefined();
  });

  it('logs an outage once and counts it once, however many errors report it', () => {
    health.report(networkError());
    health.report(networkError());
    health.markDown('mongo', 'heartbeat failed');
    expect(logs.filter((l) => l.msg === 'mongo unreachable')).toHaveLength(1);
    expect(outages).toEqual(['mongo']);
    expect(health.status().mongo.lastError).toBe('heartbeat failed');
  });

  it('marks a dependency up when its probe answers, and logs how long it was down', async () => {
    health.report(redisClosed());
    await health.probe();
    expect(health.isDown()).toBe('redis');
    clock.advance(12_300);
    redis.answer();
    await health.probe();
    expect(health.isDown()).toBeUndefined();
    expect(health.status().redis).toEqual({ up: true, lastError: 'connect ECONNREFUSED 127.0.0.1:27017' });
    const back = logs.find((l) => l.level === 'info');
    expect(back?.msg).toBe('redis reachable again after 12.3 s');
    expect(back?.obj).toMatchObject({ dependency: 'redis', downForMs: 12_300 });
  });

  it('pings only what is down', async () => {
    health.report(networkError());
    await health.probe();
    expect(mongo.ping).toHaveBeenCalledTimes(1);
    expect(redis.ping).not.toHaveBeenCalled();
  });

  it('counts a ping that does not answer in time as failed', async () => {
    vi.useFakeTimers();
    mongo.ping.mockImplementation(() => new Promise(() => {}));
    health.report(networkError());
    const probing = health.probe();
    await vi.advanceTimersByTimeAsync(600);
    await probing;
    expect(health.status().mongo).toMatchObject({ up: false, lastError: 'no answer within 500 ms' });
  });

  it('probes every second while a dependency is down, and stops once it is back', async () => {
    vi.useFakeTimers();
    health.report(networkError());
    await vi.advanceTimersByTimeAsync(3_100);
    expect(mongo.ping).toHaveBeenCalledTimes(3);
    mongo.answer();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(health.isDown()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(mongo.ping).toHaveBeenCalledTimes(4);
  });

  it('follows driver events: an ioredis connection that closes and becomes ready again', () => {
    const connection = new EventEmitter();
    health.watch('redis', connection, DRIVER_EVENTS.ioredis);
    connection.emit('close');
    expect(health.isDown()).toBe('redis');
    connection.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    expect(health.status().redis.lastError).toBe('connect ECONNREFUSED 127.0.0.1:6379');
    connection.emit('ready');
    expect(health.isDown()).toBeUndefined();
  });

  it('reads the failure of a MongoClient heartbeat event', () => {
    const client = new EventEmitter();
    health.watch('mongo', client, DRIVER_EVENTS.mongoClient);
    client.emit('serverHeartbeatFailed', { connectionId: 'a:1', failure: new Error('connection timed out') });
    expect(health.status().mongo).toMatchObject({ up: false, lastError: 'connection timed out' });
    client.emit('serverHeartbeatSucceeded', { connectionId: 'a:1' });
    expect(health.isDown()).toBeUndefined();
  });

  it('keeps credentials out of the last error', () => {
    health.markDown('mongo', 'getaddrinfo ENOTFOUND mongodb://admin:s3cret@db.internal:27017');
    expect(health.status().mongo.lastError).toBe('getaddrinfo ENOTFOUND mongodb://***@db.internal:27017');
  });

  it('ignores the events of its own shutdown once closed', () => {
    const connection = new EventEmitter();
    health.watch('redis', connection, DRIVER_EVENTS.ioredis);
    health.close();
    connection.emit('end');
    expect(health.isDown()).toBeUndefined();
    expect(connection.listenerCount('end')).toBe(0);
  });
});
