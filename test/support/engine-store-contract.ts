import { afterAll, beforeAll, describe } from 'vitest';
import type { ContractContext, EngineStoreUnderTest } from './engine-store-contract/context.js';
import { journalCases } from './engine-store-contract/journal.js';
import { queryCases } from './engine-store-contract/queries.js';
import { raceCases } from './engine-store-contract/races.js';
import { upkeepCases } from './engine-store-contract/upkeep.js';

export type { EngineStoreUnderTest } from './engine-store-contract/context.js';

/**
 * What every EngineStore implementation must do (src/engine/store-port.ts), against a real store: the journal as a
 * pass folds it, what append answers, the reads the reconciler pages through, the sweeps, and the races (20 callers
 * at once, 5 rounds, exactly one winner each time, and the stored record is the winner's).
 *
 * `open` must give an empty store on each call: most cases share one (fresh ids keep them apart), and those that
 * read the whole store open their own.
 */
export function describeEngineStoreContract(name: string, open: () => Promise<EngineStoreUnderTest>): void {
  describe(`EngineStore contract: ${name}`, () => {
    let shared: EngineStoreUnderTest | undefined;
    beforeAll(async () => {
      shared = await open();
    });
    afterAll(async () => {
      await shared?.close();
    });
    const ctx: ContractContext = {
      shared() {
        if (!shared) throw new Error('the shared store is not open yet');
        return shared;
      },
      async alone(run) {
        const own = await open();
        try {
          await run(own);
        } finally {
          await own.close();
        }
      },
    };
    journalCases(ctx);
    raceCases(ctx);
    queryCases(ctx);
    upkeepCases(ctx);
  });
}
