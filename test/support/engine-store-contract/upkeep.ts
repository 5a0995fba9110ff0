import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineStore, JournalRecord } from '../../../src/engine/store-port.js';
import type { RunStatus } from '../../../src/store/models.js';
import {
  at,
  attempt,
  claim,
  end,
  fresh,
  HOUR,
  lease,
  modelCall,
  release,
  runDoc,
  step,
  T0,
  toolCall,
} from '../engine-store-docs.js';
import type { ContractContext } from './context.js';

/** Call logs written twice, and the sweeps that keep the store small. */
export function upkeepCases(ctx: ContractContext): void {
  let es: EngineStore;
  beforeAll(() => {
    es = ctx.shared().engineStore;
  });

  describe('call logs', () => {
    it('writing the same logs again adds nothing, and new ones among them are still written', async () => {
      const runId = fresh('run');
      const logs = {
        modelCalls: [modelCall(runId, fresh('model')), modelCall(runId, fresh('model'))],
        toolCalls: [toolCall(runId, fresh('tool'))],
      };
      await es.insertCallLogs(logs);
      await es.insertCallLogs(logs);
      expect(await ctx.shared().below.callLogCount(runId)).toEqual({ modelCalls: 2, toolCalls: 1 });
      await es.insertCallLogs({
        modelCalls: [...logs.modelCalls, modelCall(runId, fresh('model'))],
        toolCalls: [toolCall(runId, fresh('tool')), ...logs.toolCalls],
      });
      expect(await ctx.shared().below.callLogCount(runId)).toEqual({ modelCalls: 3, toolCalls: 2 });
    });
  });

  describe('housekeeping', () => {
    it('sweepClaims deletes only claims taken before `before` and counts them', async () => {
      await ctx.alone(async ({ engineStore }) => {
        await engineStore.claim('old', at(-2 * HOUR));
        await engineStore.claim('older', at(-3 * HOUR), { intent: 'roll forward' });
        await engineStore.claim('at-cutoff', T0);
        await engineStore.claim('new', at(HOUR));
        expect(await engineStore.sweepClaims(T0)).toBe(2);
        expect(await engineStore.sweepClaims(T0)).toBe(0);
        // Swept keys are free again; the others are still held.
        expect(await engineStore.claim('old', at(2 * HOUR))).toBe(true);
        expect(await engineStore.claim('older', at(2 * HOUR))).toBe(true);
        expect(await engineStore.claim('at-cutoff', at(2 * HOUR))).toBe(false);
        expect(await engineStore.claim('new', at(2 * HOUR))).toBe(false);
      });
    });

    it('compactFinishedRuns drops lease, attempt and claim records of runs finished before `before`, once', async () => {
      await ctx.alone(async ({ engineStore }) => {
        const before = at(10 * HOUR);
        const finished: RunStatus[] = ['completed', 'failed', 'cancelled'];
        const old = finished.map((status) => runDoc(`old-${status}`, { status, updatedAt: at(HOUR) }));
        const recent = runDoc('recent', { status: 'completed', updatedAt: before });
        const live = runDoc('live', { status: 'waiting', updatedAt: at(HOUR) });
        const records = (runId: string): JournalRecord[] => [
          step(runId, 'a'),
          end(runId, 'a'),
          step(runId, 'b', { kind: 'agent' }),
          attempt(runId, 'b', 1),
          lease(runId, 1),
          release(runId, 1),
          lease(runId, 2),
          claim(runId, 'checkpoint-v2', { version: 2 }),
          // What people did to the run outlives compaction.
          claim(runId, 'cancel', { actor: 'ann@x.io', at: at(HOUR) }),
        ];
        for (const run of [...old, recent, live]) {
          await engineStore.createRun(run);
          await engineStore.append(records(run._id));
        }

        expect(await engineStore.compactFinishedRuns(before, 2)).toBe(2);
        expect(await engineStore.compactFinishedRuns(before, 100)).toBe(1);
        expect(await engineStore.compactFinishedRuns(before, 100)).toBe(0);

        for (const run of old) {
          const journal = await engineStore.loadJournal(run._id);
          expect(journal.lastPass).toBeNull();
          expect(journal.start).not.toBeNull();
          expect([...journal.steps.keys()].sort()).toEqual(['a', 'b']);
          expect([...journal.ended]).toEqual(['a']);
          expect(journal.steps.get('b')?.error).toBeUndefined();
          expect(await engineStore.journalClaim(run._id, 'checkpoint-v2')).toBeNull();
          expect(journal.cancelled).toMatchObject({ actor: 'ann@x.io' });
          expect((await engineStore.getRun(run._id))?.compactedAt).toBeInstanceOf(Date);
        }
        for (const run of [recent, live]) {
          const journal = await engineStore.loadJournal(run._id);
          expect(journal.lastPass).toMatchObject({ gen: 2, released: false });
          expect(journal.steps.get('b')).toMatchObject({ attempts: 1, error: { code: 'timeout' } });
          expect(await engineStore.journalClaim(run._id, 'checkpoint-v2')).toMatchObject({ intent: { version: 2 } });
          expect((await engineStore.getRun(run._id))?.compactedAt ?? null).toBeNull();
        }
      });
    });
  });
}
