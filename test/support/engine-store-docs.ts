import { randomBytes } from 'node:crypto';
import type { JournalRecord, StepEnd } from '../../src/engine/store-port.js';
import {
  type CheckpointDoc,
  type EventDoc,
  type ModelCallDoc,
  type RunDoc,
  type RunStatus,
  type StepDoc,
  type ToolCallDoc,
  zeroUsage,
} from '../../src/store/models.js';

/** Documents and journal records for the EngineStore contract (engine-store-contract.ts), each with fresh ids. */

export const T0 = new Date('2026-11-30T10:00:00.000Z');
export const at = (ms: number) => new Date(T0.getTime() + ms);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** A fresh id, so tests sharing one store never meet each other's documents. */
export const fresh = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;

export function runDoc(id: string, fields: Partial<RunDoc> = {}): RunDoc {
  return {
    _id: id,
    v: 2,
    workflow: 'contract',
    status: 'running',
    input: { order: id, amount: 42 },
    usage: zeroUsage(),
    createdAt: T0,
    updatedAt: T0,
    ...fields,
  };
}

function stepDoc(runId: string, stepId: string, fields: Partial<StepDoc> = {}): StepDoc {
  return {
    _id: `${runId}/${stepId}`,
    v: 2,
    runId,
    stepId,
    kind: 'step',
    name: stepId,
    status: 'running',
    attempts: 0,
    usage: zeroUsage(),
    seq: 0,
    createdAt: T0,
    updatedAt: T0,
    ...fields,
  };
}

export const step = (runId: string, stepId: string, fields: Partial<StepDoc> = {}): JournalRecord => ({
  kind: 'step',
  doc: stepDoc(runId, stepId, fields),
});

export const end = (runId: string, stepId: string, fields: Partial<StepEnd> = {}): JournalRecord => ({
  kind: 'end',
  runId,
  stepId,
  end: { status: 'completed', finishedAt: at(MINUTE), ...fields },
});

export const lease = (runId: string, gen: number, owner = `pass-${gen}`, until = at(gen * MINUTE)): JournalRecord => ({
  kind: 'lease',
  runId,
  gen,
  owner,
  until,
});

export const release = (
  runId: string,
  gen: number,
  status: RunStatus = 'waiting',
  seenEnds: string[] = [],
): JournalRecord => ({ kind: 'release', runId, gen, status, at: at(gen * MINUTE), seenEnds });

/** A claim in a run's journal: "exactly one of us" for something of the run, with what the winner will write. */
export const claim = (runId: string, key: string, intent: unknown, when = T0): JournalRecord => ({
  kind: 'claim',
  runId,
  key,
  at: when,
  intent,
});

export const attempt = (runId: string, stepId: string, n: number): Extract<JournalRecord, { kind: 'attempt' }> => ({
  kind: 'attempt',
  runId,
  stepId,
  attempt: n,
  error: { message: `attempt ${n} timed out`, code: 'timeout', at: at(n * 1000) },
});

export function checkpointDoc(id: string, runId: string, fields: Partial<CheckpointDoc> = {}): CheckpointDoc {
  return {
    _id: id,
    v: 2,
    runId,
    stepId: 'review',
    workflow: 'contract',
    name: 'review',
    status: 'pending',
    version: 1,
    title: `Refund for ${runId}`,
    summary: 'The customer asks for a refund.',
    evidence: [],
    proposal: { outcome: 'refund' },
    editableSchema: {},
    values: { amount: 42 },
    approvers: { emails: ['ada@example.com'], slackUsers: [], slackGroups: [], slackChannels: [] },
    quorum: { mode: 'any', required: 1 },
    approvals: [],
    originalValues: { amount: 42 },
    timers: { remindersSent: 0, timeoutFired: false },
    audit: [],
    createdAt: T0,
    updatedAt: T0,
    ...fields,
  };
}

/** A checkpoint decided at `decidedAt` (approved unless `status` says otherwise). */
export function decided(
  id: string,
  runId: string,
  decidedAt: Date,
  status: 'approved' | 'rejected' = 'approved',
): CheckpointDoc {
  return checkpointDoc(id, runId, {
    status,
    version: 2,
    decision: {
      decision: status === 'approved' ? 'approve' : 'reject',
      actor: 'ada@example.com',
      channel: 'api',
      edits: {},
      diff: [],
      decidedAt,
    },
  });
}

export function eventDoc(id: string, name: string, key: string, createdAt: Date): EventDoc {
  return { _id: id, name, key, payload: { id }, createdAt };
}

export type LoggedModelCall = ModelCallDoc & { _id: string };
export type LoggedToolCall = ToolCallDoc & { _id: string };

export function modelCall(runId: string, id: string): LoggedModelCall {
  return {
    _id: id,
    runId,
    stepId: 'triage',
    agent: 'triage',
    model: 'offline',
    turn: 1,
    status: 'ok',
    inputTokens: 10,
    outputTokens: 5,
    cachedTokens: 0,
    costUsd: 0,
    latencyMs: 3,
    at: T0,
  };
}

export function toolCall(runId: string, id: string): LoggedToolCall {
  return {
    _id: id,
    runId,
    stepId: 'triage',
    agent: 'triage',
    tool: 'lookupOrder',
    arguments: { order: runId },
    outcome: 'ok',
    durationMs: 2,
    at: T0,
  };
}
