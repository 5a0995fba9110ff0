import type { EngineStore } from '../../../src/engine/store-port.js';
import type { RunDoc } from '../../../src/store/models.js';

/** An implementation under test: the port, the few writes beneath it the contract starts from, and a way out. */
export interface EngineStoreUnderTest {
  engineStore: EngineStore;
  /** What the port does not do by design, done beneath it, for the cases that start from it. */
  below: {
    /** A run document alone, as a crash between writing the run and its start record leaves it. */
    insertRunOnly(run: RunDoc): Promise<void>;
    /** How many model and tool call logs of this run are stored. */
    callLogCount(runId: string): Promise<{ modelCalls: number; toolCalls: number }>;
  };
  close(): Promise<void>;
}

export interface ContractContext {
  /** The store the cases share (fresh ids keep them apart), open from the first case on. */
  shared(): EngineStoreUnderTest;
  /** Due timers, pages and sweeps read the whole store: they run on an empty one of their own. */
  alone(run: (store: EngineStoreUnderTest) => Promise<void>): Promise<void>;
}

/** `n` callers at once; the races count the winners among their answers. */
export function together<T>(n: number, call: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => call(i)));
}

/** Indexes of the callers whose answer says they won. */
export const winnersOf = <T>(answers: T[], won: (answer: T) => boolean): number[] =>
  answers.flatMap((a, i) => (won(a) ? [i] : []));

/** Ids sorted, for comparing sets of documents whatever order a query returns them in. */
export const ids = (docs: { _id: string }[]): string[] => docs.map((d) => d._id).sort();
