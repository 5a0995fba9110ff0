import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { SAMPLE_REFUNDS } from '../agents/refunds/samples.js';
import { modules } from '../compose.js';
import { approvalLink } from '../src/approvals/tokens.js';
import {
  findMessage,
  intakeRunOf,
  listMessages,
  openThreadsWith,
  sentMessages,
  threadMessageIds,
  threadsOpenedSince,
} from '../src/channels/email/intake-records.js';
import { emailModels } from '../src/channels/email/store.js';
import { slackIntakeModels, threadMessagesAfter } from '../src/channels/slack/intake-threads.js';
import { computeDigest } from '../src/digest/compute.js';
import {
  ensureIndexes,
  INDEXES,
  type IndexSpec,
  indexName,
  moduleIndexes,
  RETIRED_INDEXES,
} from '../src/store/indexes.js';
import { logStoreRequests, type StoreRequest, shapeOf } from '../src/store/request-log.js';
import { APPROVER, hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { testMongoUri } from './support/env.js';
import { formatShapes, uncoveredShapes } from './support/index-coverage.js';

const ALL_INDEXES = [...INDEXES, ...moduleIndexes(modules)];

/** A request as the log records it, from a filter document. */
const request = (collection: string, filter?: Record<string, unknown>, sort: string[] = []): StoreRequest => ({
  command: 'find',
  collection,
  filterKeys: Object.keys(filter ?? {}),
  sortKeys: sort,
  filters: [shapeOf(filter)],
});

const SOME: IndexSpec[] = [
  { collection: 'runs', keys: { status: 1, updatedAt: 1 }, why: 'test' },
  { collection: 'runs', keys: { createdAt: 1 }, why: 'test' },
  { collection: 'identities', keys: { slackUserId: 1 }, why: 'test' },
];

describe('the index rule', () => {
  it("serves a filter naming _id or an index's leading key by equality or range", () => {
    expect(
      uncoveredShapes(
        [
          request('runs', { _id: 'r1' }),
          request('runs', { _id: { $in: ['r1', 'r2'] }, status: 'waiting' }),
          request('runs', { status: { $in: ['queued', 'running'] }, updatedAt: { $lt: new Date() } }),
          request('runs', { createdAt: { $gte: new Date(0) } }),
          request('steps', { _id: 'r1/a' }),
        ],
        SOME,
      ),
    ).toEqual([]);
  });

  it('fails on a query shape no index serves, naming the collection and the shape', () => {
    const unindexed = request('steps', { kind: 'agent', status: { $in: ['queued', 'running'] } });
    expect(uncoveredShapes([unindexed, unindexed], SOME)).toEqual([
      { collection: 'steps', command: 'find', shape: '{kind: eq, status: eq}', count: 2 },
    ]);
  });

  it("does not count an index's second key, nor a condition no index narrows ($ne, $nin, $exists)", () => {
    const shapes = uncoveredShapes(
      [
        request('runs', { updatedAt: { $lt: new Date() } }),
        request('runs', { status: { $ne: 'completed' } }),
        request('runs', { _id: { $nin: ['r1'] }, workflow: { $exists: true } }),
      ],
      SOME,
    );
    expect(shapes.map((s) => s.shape)).toEqual([
      '{updatedAt: range}',
      '{status: other}',
      '{_id: other, workflow: other}',
    ]);
  });

  it('serves an $or only when every branch is served, and an $and when one member is', () => {
    const both = request('identities', { $or: [{ _id: { $in: ['a@x.io'] } }, { slackUserId: { $in: ['U1'] } }] });
    const oneUnindexed = request('identities', { $or: [{ _id: 'a@x.io' }, { name: 'Ann' }] });
    const and = request('identities', { $and: [{ name: 'Ann' }, { slackUserId: 'U1' }] });
    expect(uncoveredShapes([both, and], SOME)).toEqual([]);
    expect(uncoveredShapes([oneUnindexed], SOME).map((s) => s.shape)).toEqual(['{$or: [{_id: eq} | {name: eq}]}']);
  });

  it("lets a filterless query through only when it sorts by an index's leading key or reads a tiny collection", () => {
    const sorted = request('runs', {}, ['createdAt']);
    const sortedById = request('runs', undefined, ['_id']);
    const sortedBySecondKey = request('runs', {}, ['updatedAt']);
    const scan = request('runs', {});
    expect(uncoveredShapes([sorted, sortedById], SOME)).toEqual([]);
    expect(uncoveredShapes([sortedBySecondKey, scan], SOME).map((s) => s.shape)).toEqual(['{} sort {updatedAt}', '{}']);
    expect(uncoveredShapes([scan], SOME, new Map([['runs', 'a test']]))).toEqual([]);
  });
});

describe('the request log and the index list on the store', () => {
  let conn: mongoose.Connection;
  beforeAll(async () => {
    conn = await mongoose.createConnection(testMongoUri('idxlog'), { monitorCommands: true }).asPromise();
  });
  afterAll(async () => {
    await conn?.dropDatabase();
    await conn?.close();
  });

  it('records the filter shape of finds, counts, updates, deletes, bulk writes and aggregates', async () => {
    if (!conn.db) throw new Error('not connected');
    const c = conn.db.collection<{ _id: string; status?: string; at?: Date }>('shapes');
    const log = logStoreRequests(conn.getClient());
    await c.insertOne({ _id: 'a', status: 'x', at: new Date() });
    await c
      .find({ status: 'x', $or: [{ _id: 'a' }, { at: { $gte: new Date(0) } }] })
      .sort({ at: -1 })
      .toArray();
    await c.countDocuments({ status: { $ne: 'y' } });
    await c.updateOne({ _id: 'a' }, { $set: { status: 'z' } });
    await c.deleteMany({ at: { $lt: new Date(0) } });
    await c.bulkWrite([
      { updateOne: { filter: { _id: 'a' }, update: { $set: { n: 1 } } } },
      { updateOne: { filter: { _id: 'b' }, update: { $set: { n: 1 } } } },
      { updateOne: { filter: { status: 'z' }, update: { $set: { n: 2 } } } },
    ]);
    await c.aggregate([{ $group: { _id: '$status' } }]).toArray();
    log.stop();
    const seen = log.requests().map((r) => ({ command: r.command, sortKeys: r.sortKeys, filters: r.filters }));
    expect(seen).toEqual([
      { command: 'insert', sortKeys: [], filters: [] },
      {
        command: 'find',
        sortKeys: ['at'],
        filters: [
          {
            fields: [{ key: 'status', use: 'eq' }],
            or: [
              { fields: [{ key: '_id', use: 'eq' }], or: [], and: [] },
              { fields: [{ key: 'at', use: 'range' }], or: [], and: [] },
            ],
            and: [],
          },
        ],
      },
      { command: 'aggregate', sortKeys: [], filters: [{ fields: [{ key: 'status', use: 'other' }], or: [], and: [] }] },
      { command: 'update', sortKeys: [], filters: [{ fields: [{ key: '_id', use: 'eq' }], or: [], and: [] }] },
      { command: 'delete', sortKeys: [], filters: [{ fields: [{ key: 'at', use: 'range' }], or: [], and: [] }] },
      {
        command: 'update',
        sortKeys: [],
        filters: [
          { fields: [{ key: '_id', use: 'eq' }], or: [], and: [] },
          { fields: [{ key: 'status', use: 'eq' }], or: [], and: [] },
        ],
      },
      { command: 'aggregate', sortKeys: [], filters: [{ fields: [], or: [], and: [] }] },
    ]);
  });

  it('builds every listed index on the store, twice without error, and drops the retired ones', async () => {
    const db = conn.db;
    if (!db) throw new Error('not connected');
    const retired = RETIRED_INDEXES[0];
    if (!retired) throw new Error('no retired index to check');
    await db.collection(retired.collection).createIndex({ [retired.name.replace(/_1$/, '')]: 1 });
    await ensureIndexes(db, ALL_INDEXES);
    await ensureIndexes(db, ALL_INDEXES);
    for (const collection of new Set(ALL_INDEXES.map((i) => i.collection))) {
      const names = (await db.collection(collection).indexes()).map((i) => i.name);
      const listed = ALL_INDEXES.filter((i) => i.collection === collection).map((i) => indexName(i.keys));
      expect(names, collection).toEqual(expect.arrayContaining(listed));
      if (collection === retired.collection) expect(names).not.toContain(retired.name);
    }
  });

  it('names every index with the query it serves, once per collection and keys', () => {
    const ids = ALL_INDEXES.map((i) => `${i.collection} ${indexName(i.keys)}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const i of ALL_INDEXES) expect(i.why.length, `${i.collection} ${indexName(i.keys)}`).toBeGreaterThan(10);
  });
});

describe('every query of a card dispute, from webhook to digest, has an index', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ label: 'indexes' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sends no query shape that the index lists do not serve', async () => {
    const log = logStoreRequests(t.app.store.connection.getClient());
    const api = async (path: string, init?: { method?: string; body?: unknown }) => {
      const res = await t.api(path, init);
      expect(res.status, path).toBeLessThan(300);
      return res;
    };
    const until = new Date(Date.now() + 86_400_000).toISOString();
    await api('/api/delegations', {
      body: { approver: 'away@example.com', delegate: 'cover@example.com', until, createdBy: 'indexes-test' },
    });

    const started = await t.webhook('card-dispute', {
      ...SAMPLE_DISPUTES.needsReview,
      customerEmail: 'idx@example.com',
    });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    const waiting = await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r));
    const checkpointId = waiting.checkpoints[0]?.id ?? '';
    expect(checkpointId).not.toBe('');

    const link = approvalLink(t.app.config.publicUrl, t.app.config.appSecret, { checkpointId, recipient: APPROVER });
    expect((await fetch(link)).status).toBe(200);
    await api(`/api/checkpoints/${checkpointId}`);
    await api(`/api/checkpoints/${checkpointId}/decision`, {
      body: { decision: 'approve', actor: 'lead@example.com' },
    });
    await t.waitForRun(runId, isFinished);
    await t.workers?.reconcileNow();

    await api('/api/runs');
    await api('/api/runs?status=completed');
    await api('/api/runs?workflow=card-dispute');
    await api(`/api/runs/${runId}`);
    await api('/api/agreement');
    await api(`/api/agreement?workflow=card-dispute&since=${new Date(0).toISOString()}`);
    await api('/api/delegations?active=true');
    await api('/api/delegations/away@example.com', { method: 'DELETE' });
    expect((await fetch(`${t.baseUrl}/metrics`)).status).toBe(200);
    await computeDigest(
      {
        engine: t.app.engine,
        store: t.app.store,
        linkFor: (cp, recipient) => `${t.baseUrl}/approvals/${cp._id}/${recipient}`,
        sections: (period) => t.app.digestSections(period),
      },
      'manager@example.com',
      new Date(0),
      new Date(),
    );
    log.stop();

    const uncovered = uncoveredShapes(log.requests(), ALL_INDEXES);
    expect(uncovered, `query shapes no index serves:\n${formatShapes(uncovered)}`).toEqual([]);
  });

  it("serves the other module's runs and the channels' lookups that a webhook run does not reach", async () => {
    const log = logStoreRequests(t.app.store.connection.getClient());
    const refund = await t.webhook('refund-request', SAMPLE_REFUNDS.smallApprove);
    expect(refund.status).toBe(202);
    const { runId } = (await refund.json()) as { runId: string };
    await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r));

    const email = emailModels(t.app.store.connection);
    const ids = ['<first@example.com>', '<later@example.com>'];
    await listMessages(email, { status: 'quarantined', before: new Date(), limit: 10 });
    await findMessage(email, 'mid:none');
    await sentMessages(email, ids);
    await openThreadsWith(email, ids);
    await threadMessageIds(email, { _id: '<first@example.com>', messageIds: [] });
    await threadsOpenedSince(email, 'idx@example.com', new Date(0));
    await intakeRunOf(email, '<first@example.com>');
    await threadMessagesAfter(slackIntakeModels(t.app.store.connection), 'C1:1700000000.000100', '0');
    await t.app.engine.sendEvent({ name: 'indexes-test', key: 'nobody-waits', payload: {} });
    log.stop();

    const uncovered = uncoveredShapes(log.requests(), ALL_INDEXES);
    expect(uncovered, `query shapes no index serves:\n${formatShapes(uncovered)}`).toEqual([]);
  });
});
