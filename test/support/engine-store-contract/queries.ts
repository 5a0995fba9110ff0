import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineStore } from '../../../src/engine/store-port.js';
import type { RunStatus } from '../../../src/store/models.js';
import {
  at,
  checkpointDoc,
  decided,
  end,
  eventDoc,
  fresh,
  HOUR,
  MINUTE,
  runDoc,
  step,
  T0,
} from '../engine-store-docs.js';
import { type ContractContext, ids } from './context.js';

/** The reads the engine and the reconciler make: steps, checkpoints, runs, events. */
export function queryCases(ctx: ContractContext): void {
  let es: EngineStore;
  beforeAll(() => {
    es = ctx.shared().engineStore;
  });

  describe('steps', () => {
    it('stepEnd: null until the step ends, then its end', async () => {
      const runId = fresh('run');
      await es.append([step(runId, 'wait', { kind: 'event' })]);
      expect(await es.stepEnd(runId, 'wait')).toBeNull();
      await es.append([end(runId, 'wait', { result: { eventId: 'e1' }, finishedAt: at(2 * MINUTE) })]);
      expect(await es.stepEnd(runId, 'wait')).toMatchObject({
        status: 'completed',
        result: { eventId: 'e1' },
        finishedAt: at(2 * MINUTE),
      });
    });

    it('endedSteps: which of these steps ended, across runs', async () => {
      const [r1, r2, r3] = [fresh('run'), fresh('run'), fresh('run')];
      await es.append([step(r1, 'a'), step(r1, 'b'), step(r2, 'a'), step(r2, 'c'), end(r1, 'a'), end(r2, 'c')]);
      const asked = [
        { runId: r1, stepId: 'a' },
        { runId: r1, stepId: 'b' },
        { runId: r2, stepId: 'a' },
        { runId: r2, stepId: 'c' },
        { runId: r3, stepId: 'a' },
      ];
      expect(await es.endedSteps(asked)).toEqual(new Set([`${r1}/a`, `${r2}/c`]));
      expect(await es.endedSteps([])).toEqual(new Set());
    });

    it('eventWaits: the event steps of this name and key, ended or not, and nothing else', async () => {
      const key = fresh('thread');
      const [r1, r2, r3] = [fresh('run'), fresh('run'), fresh('run')];
      const waitFor = (name: string, k: string) => ({
        kind: 'event' as const,
        status: 'waiting' as const,
        event: { name, key: k },
      });
      await es.append([
        step(r1, 'reply', waitFor('reply', key)),
        step(r2, 'reply', waitFor('reply', key)),
        end(r2, 'reply', { result: { eventId: 'e1' } }),
        step(r3, 'reply', waitFor('reply', fresh('other-thread'))),
        step(r3, 'cancel', waitFor('cancel', key)),
        step(r3, 'note', { kind: 'step', event: { name: 'reply', key } }),
      ]);
      expect(ids(await es.eventWaits('reply', key))).toEqual([`${r1}/reply`, `${r2}/reply`].sort());
    });

    it('wake-ups: due by then, soonest first, at most the limit; set again replaces; dropped ones are gone', async () => {
      await ctx.alone(async ({ engineStore }) => {
        const runId = fresh('run');
        const wake = (stepId: string, wakeAt: Date) => ({ runId, stepId, tag: `wake-${stepId}`, wakeAt });
        await engineStore.setWakeup(wake('late', at(3 * MINUTE)));
        await engineStore.setWakeup(wake('soon', at(MINUTE)));
        await engineStore.setWakeup(wake('exact', at(4 * MINUTE)));
        await engineStore.setWakeup(wake('mid', at(2 * MINUTE)));
        await engineStore.setWakeup(wake('future', at(4 * MINUTE + 1)));
        const stepIds = (docs: { stepId: string }[]) => docs.map((d) => d.stepId);
        expect(stepIds(await engineStore.dueWakeups(at(4 * MINUTE), 10))).toEqual(['soon', 'mid', 'late', 'exact']);
        expect(stepIds(await engineStore.dueWakeups(at(4 * MINUTE), 2))).toEqual(['soon', 'mid']);
        expect(await engineStore.dueWakeups(at(MINUTE - 1), 10)).toEqual([]);
        // A new attempt replaces the step's earlier wake-up; a dropped one is gone.
        await engineStore.setWakeup({ ...wake('soon', at(5 * MINUTE)), tag: 'retry-soon-2' });
        await engineStore.dropWakeups([{ runId, stepId: 'mid' }]);
        expect(await engineStore.dueWakeups(at(5 * MINUTE), 10)).toEqual([
          wake('late', at(3 * MINUTE)),
          wake('exact', at(4 * MINUTE)),
          wake('future', at(4 * MINUTE + 1)),
          { ...wake('soon', at(5 * MINUTE)), tag: 'retry-soon-2' },
        ]);
      });
    });

    it("updateStep changes that run's step and no other", async () => {
      const [r1, r2] = [fresh('run'), fresh('run')];
      await es.append([step(r1, 'sleep', { kind: 'sleep' }), step(r2, 'sleep', { kind: 'sleep' })]);
      await es.updateStep(r1, 'sleep', { status: 'waiting', wakeAt: at(HOUR) });
      expect((await es.loadJournal(r1)).steps.get('sleep')).toMatchObject({ status: 'waiting', wakeAt: at(HOUR) });
      const other = (await es.loadJournal(r2)).steps.get('sleep');
      expect(other?.status).toBe('running');
      expect(other?.wakeAt ?? null).toBeNull();
    });
  });

  describe('checkpoints', () => {
    it('inserts a checkpoint once; the first stays', async () => {
      const id = fresh('cp');
      expect(await es.insertCheckpoint(checkpointDoc(id, 'run-1', { title: 'first' }))).toBe(true);
      expect(await es.insertCheckpoint(checkpointDoc(id, 'run-1', { title: 'second' }))).toBe(false);
      expect((await es.getCheckpoint(id))?.title).toBe('first');
      expect(await es.getCheckpoint(fresh('missing'))).toBeNull();
    });

    it('setCheckpoint writes fields, dotted paths included', async () => {
      const id = fresh('cp');
      const decision = decided(id, 'run-1', at(HOUR)).decision;
      await es.insertCheckpoint(
        checkpointDoc(id, 'run-1', { timers: { remindersSent: 0, timeoutFired: false, dueAt: at(MINUTE) } }),
      );
      await es.setCheckpoint(id, {
        status: 'approved',
        version: 2,
        decision,
        'timers.dueAt': null,
        updatedAt: at(HOUR),
      });
      expect(await es.getCheckpoint(id)).toMatchObject({
        status: 'approved',
        version: 2,
        decision,
        timers: { remindersSent: 0, timeoutFired: false, dueAt: null },
        updatedAt: at(HOUR),
        title: `Refund for run-1`,
      });
    });

    it('reads several checkpoints by id, and those of several runs', async () => {
      const [r1, r2, r3] = [fresh('run'), fresh('run'), fresh('run')];
      const [c1, c2, c3, c4] = [fresh('cp'), fresh('cp'), fresh('cp'), fresh('cp')];
      for (const [id, runId] of [
        [c1, r1],
        [c2, r1],
        [c3, r2],
        [c4, r3],
      ] as const)
        await es.insertCheckpoint(checkpointDoc(id, runId));
      expect(ids(await es.getCheckpoints([c1, c3, fresh('missing')]))).toEqual([c1, c3].sort());
      expect(ids(await es.checkpointsOf([r1, r2]))).toEqual([c1, c2, c3].sort());
      expect(await es.checkpointsOf([fresh('run')])).toEqual([]);
    });

    it('dueCheckpoints: pending ones whose timers.dueAt is due, at most the limit', async () => {
      await ctx.alone(async ({ engineStore }) => {
        const timers = (dueAt: Date | null | undefined) => ({
          remindersSent: 0,
          timeoutFired: false,
          ...(dueAt === undefined ? {} : { dueAt }),
        });
        const docs = [
          checkpointDoc('due-later', 'r', { timers: timers(at(2 * MINUTE)) }),
          checkpointDoc('due-first', 'r', { timers: timers(at(MINUTE)) }),
          checkpointDoc('due-now', 'r', { timers: timers(at(5 * MINUTE)) }),
          checkpointDoc('not-yet', 'r', { timers: timers(at(5 * MINUTE + 1)) }),
          { ...decided('decided', 'r', T0), timers: timers(T0) },
          checkpointDoc('cleared', 'r', { timers: timers(null) }),
          checkpointDoc('no-timer', 'r', { timers: timers(undefined) }),
        ];
        for (const doc of docs) await engineStore.insertCheckpoint(doc);
        expect(ids(await engineStore.dueCheckpoints(at(5 * MINUTE), 10))).toEqual([
          'due-first',
          'due-later',
          'due-now',
        ]);
        const page = ids(await engineStore.dueCheckpoints(at(5 * MINUTE), 2));
        expect(page).toHaveLength(2);
        expect(['due-first', 'due-later', 'due-now']).toEqual(expect.arrayContaining(page));
      });
    });

    it('decidedCheckpoints: decided in [since, before), by id after afterId, in pages', async () => {
      await ctx.alone(async ({ engineStore }) => {
        const since = at(HOUR);
        const before = at(2 * HOUR);
        // Ids run against decision times, so the order can only come from the ids.
        const docs = [
          decided('cp-1', 'r', new Date(since.getTime() - 1)),
          decided('cp-2', 'r', before),
          decided('cp-3', 'r', new Date(before.getTime() - 1), 'rejected'),
          decided('cp-4', 'r', since),
          decided('cp-5', 'r', at(HOUR + 30 * MINUTE)),
          checkpointDoc('cp-6', 'r'),
          checkpointDoc('cp-7', 'r', { status: 'cancelled' }),
        ];
        for (const doc of docs) await engineStore.insertCheckpoint(doc);
        const page = async (afterId: string) => ids(await engineStore.decidedCheckpoints(since, before, afterId, 2));
        expect(await page('')).toEqual(['cp-3', 'cp-4']);
        expect(await page('cp-4')).toEqual(['cp-5']);
        expect(await page('cp-5')).toEqual([]);
      });
    });

    it('pendingCheckpoints: still pending, created in [since, before), by id after afterId, in pages', async () => {
      await ctx.alone(async ({ engineStore }) => {
        const since = at(HOUR);
        const before = at(2 * HOUR);
        const docs = [
          checkpointDoc('p-1', 'r', { createdAt: new Date(since.getTime() - 1) }),
          checkpointDoc('p-2', 'r', { createdAt: before }),
          checkpointDoc('p-3', 'r', { createdAt: new Date(before.getTime() - 1) }),
          checkpointDoc('p-4', 'r', { createdAt: since }),
          checkpointDoc('p-5', 'r', { createdAt: at(HOUR + MINUTE) }),
          decided('p-6', 'r', at(HOUR + MINUTE)),
          checkpointDoc('p-7', 'r', { createdAt: at(HOUR + MINUTE), status: 'cancelled' }),
        ];
        for (const doc of docs) await engineStore.insertCheckpoint(doc);
        const page = async (afterId: string) => ids(await engineStore.pendingCheckpoints(since, before, afterId, 2));
        expect(await page('')).toEqual(['p-3', 'p-4']);
        expect(await page('p-4')).toEqual(['p-5']);
        expect(await page('p-5')).toEqual([]);
      });
    });

    it('listCheckpoints: by status, by decision time, at most the limit', async () => {
      await ctx.alone(async ({ engineStore }) => {
        const docs = [
          checkpointDoc('pending-1', 'r'),
          checkpointDoc('pending-2', 'r'),
          decided('before-since', 'r', at(30 * MINUTE)),
          decided('approved', 'r', at(HOUR)),
          decided('rejected', 'r', at(3 * HOUR), 'rejected'),
        ];
        for (const doc of docs) await engineStore.insertCheckpoint(doc);
        const list = async (filter: Parameters<EngineStore['listCheckpoints']>[0]) =>
          ids(await engineStore.listCheckpoints(filter));
        expect(await list({ decidedSince: at(HOUR), limit: 10 })).toEqual(['approved', 'rejected']);
        expect(await list({ decidedSince: at(HOUR), limit: 1 })).toHaveLength(1);
        expect(await list({ status: 'pending', limit: 10 })).toEqual(['pending-1', 'pending-2']);
        expect(await list({ status: 'approved', decidedSince: at(HOUR), limit: 10 })).toEqual(['approved']);
        expect(await list({ limit: 3 })).toHaveLength(3);
      });
    });
  });

  describe('finding runs', () => {
    it('runsInStatus pages by id: ascending, after afterId, at most the limit', async () => {
      await ctx.alone(async ({ engineStore }) => {
        const runs: [string, RunStatus][] = [
          ['run-f', 'running'],
          ['run-c', 'waiting'],
          ['run-a', 'queued'],
          ['run-e', 'completed'],
          ['run-d', 'queued'],
          ['run-b', 'running'],
        ];
        for (const [id, status] of runs) await engineStore.createRun(runDoc(id, { status }));
        const page = async (afterId: string) =>
          (await engineStore.runsInStatus(['queued', 'running'], afterId, 2)).map((r) => r._id);
        expect(await page('')).toEqual(['run-a', 'run-b']);
        expect(await page('run-b')).toEqual(['run-d', 'run-f']);
        expect(await page('run-f')).toEqual([]);
      });
    });

    it('findRuns filters by statuses and workflow, at most the limit', async () => {
      await ctx.alone(async ({ engineStore }) => {
        const runs = [
          runDoc('a', { workflow: 'refund', status: 'completed', createdAt: at(1) }),
          runDoc('b', { workflow: 'refund', status: 'running', createdAt: at(2) }),
          runDoc('c', { workflow: 'dispute', status: 'completed', createdAt: at(3) }),
          runDoc('d', { workflow: 'dispute', status: 'completed', createdAt: at(4) }),
        ];
        for (const run of runs) await engineStore.createRun(run);
        const find = async (query: Parameters<EngineStore['findRuns']>[0]) => ids(await engineStore.findRuns(query));
        expect(await find({ statuses: ['completed'], limit: 10 })).toEqual(['a', 'c', 'd']);
        expect(await find({ workflow: 'refund', limit: 10 })).toEqual(['a', 'b']);
        expect(await find({ workflow: 'dispute', statuses: ['completed'], limit: 10 })).toEqual(['c', 'd']);
        expect(await find({ workflow: 'refund', statuses: ['failed'], limit: 10 })).toEqual([]);
        expect(await find({ statuses: ['running', 'completed'], limit: 10 })).toEqual(['a', 'b', 'c', 'd']);
        expect(await find({ limit: 2 })).toHaveLength(2);
      });
    });
  });

  describe('events', () => {
    it('firstEvent: the oldest of this name and key since `since`, none of `taken`', async () => {
      const key = fresh('thread');
      const events = [
        eventDoc(fresh('e3'), 'reply', key, at(2 * MINUTE)),
        eventDoc(fresh('e1'), 'reply', key, T0),
        eventDoc(fresh('other-key'), 'reply', fresh('thread'), T0),
        eventDoc(fresh('other-name'), 'cancel', key, T0),
        eventDoc(fresh('e2'), 'reply', key, at(MINUTE)),
        eventDoc(fresh('e0'), 'reply', key, at(-MINUTE)),
      ];
      for (const e of events) await es.insertEvent(e);
      const [e3, e1, , , e2] = events.map((e) => e._id);
      const first = async (since: Date, taken: string[]) => (await es.firstEvent('reply', key, since, taken))?._id;
      expect(await first(T0, [])).toBe(e1);
      expect(await first(T0, [e1 ?? ''])).toBe(e2);
      expect(await first(at(MINUTE + 1), [])).toBe(e3);
      expect(await first(T0, [e1 ?? '', e2 ?? '', e3 ?? ''])).toBeUndefined();
    });
  });
}
