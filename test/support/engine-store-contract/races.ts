import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineStore } from '../../../src/engine/store-port.js';
import { at, checkpointDoc, claim, end, fresh, lease, MINUTE, runDoc, step, T0 } from '../engine-store-docs.js';
import { type ContractContext, together, winnersOf } from './context.js';

const N = 20;
const ROUNDS = 5;

/** "Exactly one of us": N callers at once, every round exactly one wins, and what is stored is the winner's. */
export function raceCases(ctx: ContractContext): void {
  let es: EngineStore;
  beforeAll(() => {
    es = ctx.shared().engineStore;
  });

  describe(`exactly one winner among ${N} concurrent callers, ${ROUNDS} rounds`, () => {
    it('createRun of one run', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const id = fresh('run');
        const created = await together(N, (i) => es.createRun(runDoc(id, { input: { writer: i } })));
        const winners = winnersOf(created, (ok) => ok);
        expect(winners).toHaveLength(1);
        expect((await es.loadJournal(id)).start?.input).toEqual({ writer: winners[0] });
      }
    });

    it('takeLease of one generation, generation after generation', async () => {
      const runId = fresh('run');
      for (let gen = 1; gen <= ROUNDS; gen++) {
        const took = await together(N, (i) => es.takeLease(runId, gen, `worker-${gen}-${i}`, at(gen * MINUTE)));
        const winners = winnersOf(took, (ok) => ok);
        expect(winners).toHaveLength(1);
        expect((await es.loadJournal(runId)).lastPass).toMatchObject({
          gen,
          owner: `worker-${gen}-${winners[0]}`,
          released: false,
        });
      }
    });

    it("append of one step's end", async () => {
      const runId = fresh('run');
      for (let round = 0; round < ROUNDS; round++) {
        const stepId = `step-${round}`;
        await es.append([step(runId, stepId)]);
        const written = await together(N, (i) => es.append([end(runId, stepId, { result: { writer: i } })]));
        const winners = winnersOf(written, ([ok]) => ok === true);
        expect(winners).toHaveLength(1);
        expect((await es.stepEnd(runId, stepId))?.result).toEqual({ writer: winners[0] });
      }
    });

    it('claim of one key', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const key = fresh('claim');
        const claimed = await together(N, (i) => es.claim(key, T0, { writer: i }));
        const winners = winnersOf(claimed, (ok) => ok);
        expect(winners).toHaveLength(1);
        expect(await es.claim(key, at(MINUTE), { writer: 'late' })).toBe(false);
      }
    });

    it("append of one claim in a run's journal", async () => {
      const runId = fresh('run');
      for (let round = 0; round < ROUNDS; round++) {
        const key = `checkpoint-v${round + 2}`;
        const written = await together(N, (i) => es.append([claim(runId, key, { writer: i })]));
        const winners = winnersOf(written, ([ok]) => ok === true);
        expect(winners).toHaveLength(1);
        expect(await es.journalClaim(runId, key)).toEqual({ at: T0, intent: { writer: winners[0] } });
      }
    });

    it("a pass's ordered write [lease, steps]: only the lease holder's records exist", async () => {
      const runId = fresh('run');
      for (let gen = 1; gen <= ROUNDS; gen++) {
        const replayed = `replayed-${gen}`;
        const written = await together(N, (i) =>
          es.append(
            [
              lease(runId, gen, `pass-${gen}-${i}`),
              // Every pass of a generation replays the same journal, so dispatches the same step...
              step(runId, replayed, { input: { writer: i } }),
              // ...and, were it to differ, its own would show.
              step(runId, `own-${gen}-${i}`),
            ],
            { ordered: true },
          ),
        );
        const winners = winnersOf(written, ([ok]) => ok === true);
        expect(winners).toHaveLength(1);
        const w = winners[0] ?? -1;
        for (const [i, answer] of written.entries())
          expect(answer).toEqual(i === w ? [true, true, true] : [false, false, false]);
        const journal = await es.loadJournal(runId);
        expect(journal.lastPass).toMatchObject({ gen, owner: `pass-${gen}-${w}` });
        expect(journal.steps.get(replayed)?.input).toEqual({ writer: w });
        expect([...journal.steps.keys()].filter((id) => id.startsWith(`own-${gen}-`))).toEqual([`own-${gen}-${w}`]);
      }
    });

    it('claimIdempotencyKey of one key by different runs: all learn the same owner', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const key = fresh('idem');
        const runIds = Array.from({ length: N }, () => fresh('run'));
        const owners = await together(N, (i) => es.claimIdempotencyKey(key, runIds[i] ?? '', T0));
        expect(new Set(owners).size).toBe(1);
        expect(runIds).toContain(owners[0]);
      }
    });

    it('insertCheckpoint of one checkpoint', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const id = fresh('cp');
        const inserted = await together(N, (i) => es.insertCheckpoint(checkpointDoc(id, 'run', { title: `by ${i}` })));
        const winners = winnersOf(inserted, (ok) => ok);
        expect(winners).toHaveLength(1);
        expect((await es.getCheckpoint(id))?.title).toBe(`by ${winners[0]}`);
      }
    });
  });
}
