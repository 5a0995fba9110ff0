import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineStore } from '../../../src/engine/store-port.js';
import {
  at,
  attempt,
  claim,
  end,
  fresh,
  HOUR,
  lease,
  MINUTE,
  modelCall,
  release,
  runDoc,
  step,
  T0,
  toolCall,
} from '../engine-store-docs.js';
import type { ContractContext } from './context.js';

/** Runs, the journal a pass reads (ends folded over steps, the newest lease) and how append answers. */
export function journalCases(ctx: ContractContext): void {
  let es: EngineStore;
  beforeAll(() => {
    es = ctx.shared().engineStore;
  });

  describe('runs', () => {
    it('creates a run once, its start record with it; a second create changes nothing', async () => {
      const id = fresh('run');
      expect(await es.createRun(runDoc(id, { input: { order: 'A-1' } }))).toBe(true);
      expect(await es.createRun(runDoc(id, { input: { order: 'B-2' }, workflow: 'other' }))).toBe(false);
      const journal = await es.loadJournal(id);
      expect(journal.start).toEqual({ workflow: 'contract', input: { order: 'A-1' }, createdAt: T0 });
      expect(await es.getRun(id)).toMatchObject({ _id: id, workflow: 'contract', input: { order: 'A-1' } });
    });

    it('writes the start record of a run stored without it when the run is created again', async () => {
      const id = fresh('run');
      await ctx.shared().below.insertRunOnly(runDoc(id, { input: { order: 'C-3' } }));
      expect((await es.loadJournal(id)).start).toBeNull();
      expect(await es.createRun(runDoc(id, { input: { order: 'C-3' } }))).toBe(false);
      expect((await es.loadJournal(id)).start).toEqual({
        workflow: 'contract',
        input: { order: 'C-3' },
        createdAt: T0,
      });
    });

    it('writes a missing start record from the stored run, not from the caller creating it again', async () => {
      const id = fresh('run');
      await ctx.shared().below.insertRunOnly(runDoc(id, { input: { order: 'stored' } }));
      expect(await es.createRun(runDoc(id, { input: { order: 'redelivered' }, createdAt: at(HOUR) }))).toBe(false);
      // The pass starts the run from this record, and people see the run document: they must agree.
      expect((await es.loadJournal(id)).start).toEqual({
        workflow: 'contract',
        input: { order: 'stored' },
        createdAt: T0,
      });
    });

    it('reads back the summary setRun writes, and null for a run that does not exist', async () => {
      const id = fresh('run');
      await es.createRun(runDoc(id));
      await es.setRun(id, { status: 'completed', output: { refunded: 42 }, updatedAt: at(HOUR) });
      expect(await es.getRun(id)).toMatchObject({
        status: 'completed',
        output: { refunded: 42 },
        updatedAt: at(HOUR),
        workflow: 'contract',
      });
      expect(await es.getRun(fresh('missing'))).toBeNull();
    });

    it('gives an idempotency key to the first run that claims it', async () => {
      const key = fresh('idem');
      const [first, second] = [fresh('run'), fresh('run')];
      expect(await es.claimIdempotencyKey(key, first, T0)).toBe(first);
      expect(await es.claimIdempotencyKey(key, second, at(MINUTE))).toBe(first);
      expect(await es.claimIdempotencyKey(key, first, at(2 * MINUTE))).toBe(first);
    });
  });

  describe('the journal as a pass reads it', () => {
    it('is empty for a run with no records', async () => {
      const journal = await es.loadJournal(fresh('run'));
      expect(journal.start).toBeNull();
      expect(journal.steps.size).toBe(0);
      expect(journal.ended.size).toBe(0);
      expect(journal.calls.size).toBe(0);
      expect(journal.lastPass).toBeNull();
    });

    it("folds a step's end over the step: status, result, usage, finish time, and the step counts as ended", async () => {
      const runId = fresh('run');
      const usage = { inputTokens: 120, outputTokens: 30, cachedTokens: 4, costUsd: 0.002 };
      expect(await es.append([step(runId, 'fetch', { seq: 1 }), step(runId, 'decide', { seq: 2 })])).toEqual([
        true,
        true,
      ]);
      expect((await es.loadJournal(runId)).ended.size).toBe(0);

      const error = { message: 'no such order', code: 'not_found', at: at(3 * MINUTE) };
      await es.append([
        end(runId, 'fetch', { result: { found: true }, usage, startedAt: at(MINUTE), finishedAt: at(2 * MINUTE) }),
        end(runId, 'decide', { status: 'failed', error, finishedAt: at(3 * MINUTE) }),
      ]);
      const journal = await es.loadJournal(runId);
      expect(journal.steps.get('fetch')).toMatchObject({
        status: 'completed',
        result: { found: true },
        usage,
        finishedAt: at(2 * MINUTE),
        seq: 1,
        kind: 'step',
      });
      expect(journal.steps.get('decide')).toMatchObject({ status: 'failed', error, seq: 2 });
      expect([...journal.ended].sort()).toEqual(['decide', 'fetch']);
    });

    it('sets the newest attempt’s error and count on a step that has not ended', async () => {
      const runId = fresh('run');
      await es.append([step(runId, 'charge', { kind: 'agent' }), step(runId, 'notify', { kind: 'agent' })]);
      // Out of order, as retries on different workers may land.
      const second = attempt(runId, 'charge', 2);
      await es.append([second, attempt(runId, 'charge', 1), attempt(runId, 'notify', 1)]);
      await es.append([end(runId, 'notify', { attempts: 2, result: 'sent' })]);
      const journal = await es.loadJournal(runId);
      expect(journal.steps.get('charge')).toMatchObject({ status: 'running', attempts: 2, error: second.error });
      expect(journal.ended.has('charge')).toBe(false);
      expect(journal.steps.get('notify')).toMatchObject({ status: 'completed', attempts: 2, result: 'sent' });
    });

    it('reads a cancel claim as the run’s cancellation; a plain run has none', async () => {
      const runId = fresh('run');
      await es.append([step(runId, 'a'), claim(runId, 'checkpoint:cp:v2', { version: 2 })]);
      expect((await es.loadJournal(runId)).cancelled ?? null).toBeNull();
      await es.append([claim(runId, 'cancel', { actor: 'ann@x.io', reason: 'withdrawn', at: at(MINUTE) })]);
      expect((await es.loadJournal(runId)).cancelled).toEqual({
        actor: 'ann@x.io',
        reason: 'withdrawn',
        at: at(MINUTE),
      });
    });

    it('under a retry claim, voids the step’s earlier ends and attempts and counts only its newest generation', async () => {
      const runId = fresh('run');
      const error = { message: 'model refused', code: 'non_retryable', at: at(2 * MINUTE) };
      const failed = { error, attempts: 1, finishedAt: at(2 * MINUTE) };
      await es.append([
        step(runId, 'triage', { kind: 'agent', status: 'queued' }),
        attempt(runId, 'triage', 1),
        end(runId, 'triage', { status: 'failed', error, attempts: 2 }),
      ]);
      expect((await es.loadJournal(runId)).steps.get('triage')).toMatchObject({ status: 'failed' });

      await es.append([claim(runId, 'retry-triage-1', { stepId: 'triage', actor: 'ann@x.io', at: at(HOUR), failed })]);
      let journal = await es.loadJournal(runId);
      // Not run again yet: the replay must run or dispatch it anew.
      expect(journal.rerun?.has('triage')).toBe(true);
      expect(journal.retries?.get('triage')).toBe(1);
      expect(journal.ended.has('triage')).toBe(false);
      expect(journal.steps.get('triage')).toMatchObject({ status: 'queued', attempts: 0, retry: 1 });
      expect(journal.steps.get('triage')?.error).toBeUndefined();
      expect(journal.steps.get('triage')?.retries).toEqual([{ retry: 1, actor: 'ann@x.io', at: at(HOUR), failed }]);
      // Void for the replay, yet kept apart: what the replaced try spent and called still counts.
      expect(journal.replaced).toEqual([{ stepId: 'triage', retry: 0 }]);

      // Dispatched again (the pass marks the generation), then ended in it: a record of its own.
      await es.updateStep(runId, 'triage', { retry: 1, status: 'queued', attempts: 0, error: null });
      journal = await es.loadJournal(runId);
      expect(journal.rerun?.has('triage')).toBe(false);
      expect(journal.steps.get('triage')).toMatchObject({ status: 'queued', retry: 1 });
      const [second] = await es.append([
        {
          kind: 'end',
          runId,
          stepId: 'triage',
          retry: 1,
          end: { status: 'completed', result: { ok: true }, attempts: 1, finishedAt: at(2 * HOUR) },
        },
      ]);
      expect(second).toBe(true);
      journal = await es.loadJournal(runId);
      expect(journal.ended.has('triage')).toBe(true);
      expect(journal.steps.get('triage')).toMatchObject({ status: 'completed', result: { ok: true }, attempts: 1 });
      expect(journal.steps.get('triage')?.retries).toHaveLength(1);
    });

    it("keeps an agent end's call logs in `calls`, not on the folded step", async () => {
      const runId = fresh('run');
      const calls = {
        modelCalls: [modelCall(runId, fresh('model')), modelCall(runId, fresh('model'))],
        toolCalls: [toolCall(runId, fresh('tool'))],
      };
      await es.append([
        step(runId, 'triage', { kind: 'agent' }),
        step(runId, 'plain'),
        end(runId, 'triage', { calls, result: { verdict: 'refund' } }),
        end(runId, 'plain', { result: 1 }),
      ]);
      const journal = await es.loadJournal(runId);
      expect(journal.calls.get('triage')).toEqual(calls);
      expect(journal.calls.has('plain')).toBe(false);
      expect(journal.steps.get('triage')).toMatchObject({ status: 'completed', result: { verdict: 'refund' } });
      expect(journal.steps.get('triage')).not.toHaveProperty('calls');
    });

    it('keeps the agent version an ended agent step was run with, on the folded step and its end', async () => {
      const runId = fresh('run');
      await es.append([
        step(runId, 'analyst', { kind: 'agent' }),
        step(runId, 'retried', { kind: 'agent' }),
        end(runId, 'analyst', { result: { tone: 'calm' }, agentVersion: '3f2a9c0b1d2e' }),
        end(runId, 'retried', { status: 'failed', agentVersion: '9b1c0d4e5f6a' }),
      ]);
      const journal = await es.loadJournal(runId);
      expect(journal.steps.get('analyst')).toMatchObject({ status: 'completed', agentVersion: '3f2a9c0b1d2e' });
      expect(journal.steps.get('retried')).toMatchObject({ status: 'failed', agentVersion: '9b1c0d4e5f6a' });
      expect((await es.stepEnd(runId, 'analyst'))?.agentVersion).toBe('3f2a9c0b1d2e');
      expect((await es.loadJournals([runId])).get(runId)?.steps.get('analyst')?.agentVersion).toBe('3f2a9c0b1d2e');
    });

    it('reports the newest lease generation, released or not', async () => {
      const runId = fresh('run');
      await es.append([lease(runId, 1, 'p1', at(MINUTE)), release(runId, 1, 'running', ['fetch'])]);
      expect((await es.loadJournal(runId)).lastPass).toEqual({
        gen: 1,
        owner: 'p1',
        until: at(MINUTE),
        released: true,
        status: 'running',
        seenEnds: ['fetch'],
      });

      // The newer generation written first: generations, not write order, say which is newest.
      await es.append([
        lease(runId, 3, 'p3', at(3 * MINUTE)),
        lease(runId, 2, 'p2', at(2 * MINUTE)),
        release(runId, 2, 'waiting', ['fetch', 'decide']),
      ]);
      const held = (await es.loadJournal(runId)).lastPass;
      expect(held).toMatchObject({ gen: 3, owner: 'p3', until: at(3 * MINUTE), released: false });
      expect(held?.status).toBeUndefined();

      await es.append([release(runId, 3, 'completed', ['fetch', 'decide', 'reply'])]);
      expect((await es.loadJournal(runId)).lastPass).toMatchObject({
        gen: 3,
        owner: 'p3',
        released: true,
        status: 'completed',
        seenEnds: ['fetch', 'decide', 'reply'],
      });

      // From generation 10 on, ids and numbers sort apart: the newest is still the highest number.
      await es.append(Array.from({ length: 8 }, (_, i) => lease(runId, 4 + i)));
      expect((await es.loadJournal(runId)).lastPass).toMatchObject({ gen: 11, owner: 'pass-11', released: false });
    });

    it('journalClaimsHeld: which of many claims exist, across runs, in one request', async () => {
      const [a, b] = [fresh('run'), fresh('run')];
      expect(await es.journalClaimsHeld([])).toEqual(new Set());
      await es.append([claim(a, 'told:cp-1:created:email', null), claim(b, 'told:cp-2:created:slack', null)]);
      const held = await es.journalClaimsHeld([
        { runId: a, key: 'told:cp-1:created:email' },
        { runId: a, key: 'told:cp-1:created:slack' },
        { runId: b, key: 'told:cp-2:created:slack' },
        { runId: b, key: 'told:cp-1:created:email' },
      ]);
      expect(held).toEqual(new Set([`${a}/told:cp-1:created:email`, `${b}/told:cp-2:created:slack`]));
    });

    it("records a claim in a run's journal once, per run, apart from the steps", async () => {
      const [runId, other] = [fresh('run'), fresh('run')];
      expect(await es.journalClaim(runId, 'checkpoint-v2')).toBeNull();
      expect(
        await es.append([
          step(runId, 'review', { kind: 'checkpoint' }),
          claim(runId, 'checkpoint-v2', { version: 2 }, at(MINUTE)),
        ]),
      ).toEqual([true, true]);
      expect(await es.append([claim(runId, 'checkpoint-v2', { version: 'late' })])).toEqual([false]);
      expect(await es.journalClaim(runId, 'checkpoint-v2')).toEqual({ at: at(MINUTE), intent: { version: 2 } });
      expect(await es.journalClaim(other, 'checkpoint-v2')).toBeNull();
      expect(await es.append([claim(other, 'checkpoint-v2', { version: 2 })])).toEqual([true]);
      const journal = await es.loadJournal(runId);
      expect([...journal.steps.keys()]).toEqual(['review']);
      expect(journal.ended.size).toBe(0);
      expect(journal.lastPass).toBeNull();
    });

    it('takes a lease generation once, whichever way it is taken; renewLease moves its end', async () => {
      const runId = fresh('run');
      expect(await es.takeLease(runId, 1, 'worker-a', at(MINUTE))).toBe(true);
      expect((await es.loadJournal(runId)).lastPass).toMatchObject({
        gen: 1,
        owner: 'worker-a',
        until: at(MINUTE),
        released: false,
      });
      expect(await es.takeLease(runId, 1, 'worker-b', at(2 * MINUTE))).toBe(false);
      // takeLease and a pass's ordered write take the same generation: each refuses the other's.
      expect(await es.append([lease(runId, 1, 'pass-c')], { ordered: true })).toEqual([false]);
      expect(await es.append([lease(runId, 2, 'pass-d')], { ordered: true })).toEqual([true]);
      expect(await es.takeLease(runId, 2, 'worker-e', at(2 * MINUTE))).toBe(false);
      await es.renewLease(runId, 2, at(5 * MINUTE));
      expect((await es.loadJournal(runId)).lastPass).toMatchObject({
        gen: 2,
        owner: 'pass-d',
        until: at(5 * MINUTE),
      });
    });

    it('loads several runs’ journals at once, each with only its own records', async () => {
      const [a, b, empty] = [fresh('run'), fresh('run'), fresh('run')];
      await es.createRun(runDoc(a));
      await es.append([step(a, 'x'), step(b, 'y'), end(b, 'y'), lease(b, 1)]);
      const journals = await es.loadJournals([a, b, empty]);
      expect([...journals.keys()].sort()).toEqual([a, b, empty].sort());
      expect([...(journals.get(a)?.steps.keys() ?? [])]).toEqual(['x']);
      expect(journals.get(a)?.start).not.toBeNull();
      expect(journals.get(a)?.lastPass).toBeNull();
      expect([...(journals.get(b)?.steps.keys() ?? [])]).toEqual(['y']);
      expect([...(journals.get(b)?.ended ?? [])]).toEqual(['y']);
      expect(journals.get(b)?.lastPass?.gen).toBe(1);
      expect(journals.get(b)?.start).toBeNull();
      expect(journals.get(empty)?.steps.size).toBe(0);
    });
  });

  describe('append', () => {
    it('unordered: true per record written, false per record that existed, and the first one stays', async () => {
      const runId = fresh('run');
      expect(await es.append([])).toEqual([]);
      expect(await es.append([step(runId, 'a', { input: 'first' }), step(runId, 'b')])).toEqual([true, true]);
      expect(
        await es.append([
          step(runId, 'a', { input: 'second' }),
          step(runId, 'c'),
          end(runId, 'a', { result: 'one' }),
          step(runId, 'b'),
          end(runId, 'a', { result: 'two' }),
        ]),
      ).toEqual([false, true, true, false, false]);
      const journal = await es.loadJournal(runId);
      expect([...journal.steps.keys()].sort()).toEqual(['a', 'b', 'c']);
      expect(journal.steps.get('a')).toMatchObject({ input: 'first', result: 'one' });
    });

    it('ordered, the first record refused: nothing is written', async () => {
      const runId = fresh('run');
      await es.append([lease(runId, 1, 'holder')]);
      expect(await es.append([lease(runId, 1, 'late'), step(runId, 'x'), end(runId, 'x')], { ordered: true })).toEqual([
        false,
        false,
        false,
      ]);
      const journal = await es.loadJournal(runId);
      expect(journal.steps.has('x')).toBe(false);
      expect(journal.ended.size).toBe(0);
      expect(journal.lastPass?.owner).toBe('holder');
    });

    it('ordered, a later record refused: written up to it, nothing from it on', async () => {
      const runId = fresh('run');
      await es.append([step(runId, 'b', { input: 'first' })]);
      expect(
        await es.append([lease(runId, 1), step(runId, 'a'), step(runId, 'b', { input: 'again' }), step(runId, 'c')], {
          ordered: true,
        }),
      ).toEqual([true, true, false, false]);
      const journal = await es.loadJournal(runId);
      expect([...journal.steps.keys()].sort()).toEqual(['a', 'b']);
      expect(journal.steps.get('b')?.input).toBe('first');
      expect(journal.lastPass?.gen).toBe(1);
    });
  });
}
