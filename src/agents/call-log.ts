import { Types } from 'mongoose';
import type { ModelCallDoc, Store, ToolCallDoc } from '../store/models.js';

/**
 * Where an agent run journals its model and tool calls. The runtime writes through this port so a caller (the engine's
 * agent job) can keep the documents and insert them once per step instead of one write per call.
 */
export interface CallLog {
  /** Journals one model call attempt and returns its id, so a later `outputIssues` can find it. */
  modelCall(doc: ModelCallDoc): Promise<string>;
  /** Marks a journaled model call whose answer failed the agent's output schema. */
  outputIssues(id: string, issues: string): Promise<void>;
  toolCall(doc: ToolCallDoc): Promise<void>;
}

/** Writes each document as it happens. */
export function storeCallLog(store: Pick<Store, 'modelCalls' | 'toolCalls'>): CallLog {
  return {
    modelCall: async (doc) => String((await store.modelCalls.create(doc))._id),
    outputIssues: async (id, issues) => {
      await store.modelCalls.updateOne({ _id: id }, { $set: { outputIssues: issues } });
    },
    toolCall: async (doc) => {
      await store.toolCalls.create(doc);
    },
  };
}

export type BufferedModelCall = ModelCallDoc & { _id: Types.ObjectId };

export interface BufferedCallLog extends CallLog {
  /** The model calls in the order they were made, each with the `_id` to insert it under. */
  modelCalls(): BufferedModelCall[];
  /** The tool calls in the order their journal entries were made. */
  toolCalls(): ToolCallDoc[];
}

/**
 * Keeps the documents in memory for one insert per collection. Model calls get their ObjectId here, as the store would
 * give them: ids stay unique before the insert, and sorting by `_id` still gives the order the calls were made.
 */
export function bufferedCallLog(): BufferedCallLog {
  const models: BufferedModelCall[] = [];
  const tools: ToolCallDoc[] = [];
  return {
    modelCall: async (doc) => {
      const _id = new Types.ObjectId();
      models.push({ _id, ...doc });
      return _id.toHexString();
    },
    outputIssues: async (id, issues) => {
      const doc = models.find((m) => m._id.toHexString() === id);
      if (!doc) throw new Error(`no buffered model call ${id}`);
      doc.outputIssues = issues;
    },
    toolCall: async (doc) => {
      tools.push(doc);
    },
    modelCalls: () => [...models],
    toolCalls: () => [...tools],
  };
}
