import { type Store, totalUsage, type Usage } from '../../src/store/models.js';

/**
 * Runs written straight into the store, shaped as the engine writes them (the run, its journal's start, steps and
 * ends with call logs, its checkpoint): for the console's list and detail at sizes real runs would take too long to
 * reach. Deterministic: run `i` of the same options is always the same run.
 */

export interface SeedOptions {
  count: number;
  /** Run 0's creation time; run `i` is `i` hours later unless `spacingMs` says otherwise. */
  base: Date;
  spacingMs?: number;
  /** Insert this many runs per round (their journals and checkpoints go in the same round). */
  batch?: number;
  onProgress?: (done: number) => void;
}

export interface SeededRun {
  workflow: string;
  status: string;
  customer: string;
  createdAt: Date;
}

export interface SeededRuns {
  /** Ids ordered as the console lists them: newest first, id descending within one millisecond. */
  newestFirst: string[];
  byId: Map<string, SeededRun>;
  /** The approver who decided the checkpoints of `decidedBy`. */
  approver: string;
  decidedBy: string[];
  /** A failed run and its failed step. */
  failedRun: string;
  failedStep: string;
}

// No `running` or `queued`: the reconciler would pick such a seeded run up and play it again.
const STATUSES = ['completed', 'waiting', 'completed', 'failed', 'completed', 'cancelled', 'waiting'] as const;
const AGENTS = ['evidence-collector', 'account-risk', 'language-analyst'] as const;
const TOOLS: Record<string, string[]> = {
  'evidence-collector': ['get_charge', 'list_customer_charges', 'get_product_usage'],
  'account-risk': ['get_customer', 'get_dispute_history'],
  'language-analyst': ['get_reason_code'],
  'dispute-manager': ['get_refund_policy'],
};
const LEAD = 'lead@example.com';
const COST_PER_AGENT = 0.003075;

const at = (base: number, ms: number) => new Date(base + ms);

function runId(created: Date, i: number): string {
  return `run_${created.getTime().toString(32).padStart(9, '0')}seed${String(i).padStart(6, '0')}`;
}

/** Run `i`: who, what, when; five runs share one creation time, so paging must break ties by id. */
function describe(i: number, o: SeedOptions): SeededRun & { id: string } {
  const spacing = o.spacingMs ?? 3_600_000;
  const slot = i >= 68 && i <= 72 ? 70 : i;
  const createdAt = new Date(o.base.getTime() + slot * spacing);
  return {
    id: runId(createdAt, i),
    workflow: i % 4 === 3 ? 'refund-request' : 'card-dispute',
    status: STATUSES[i % STATUSES.length] as string,
    customer: `cust${i % 7}@example.com`,
    createdAt,
  };
}

type Doc = Record<string, unknown> & { _id: string };

function agentDocs(id: string, agent: string, seq: number, startMs: number, tookMs: number, base: number): Doc[] {
  const usage = { inputTokens: 1400 + seq * 10, outputTokens: 60 + seq, cachedTokens: 256, costUsd: COST_PER_AGENT };
  const started = at(base, startMs);
  const finished = at(base, startMs + tookMs);
  const modelCalls = [1, 2].map((turn) => ({
    _id: `${id}/${agent}/m${turn}`,
    runId: id,
    stepId: agent,
    agent,
    model: 'gpt-4o-mini',
    provider: 'default',
    outputMode: 'json_schema',
    turn,
    status: 'ok',
    inputTokens: usage.inputTokens / 2,
    outputTokens: usage.outputTokens / 2,
    cachedTokens: turn === 2 ? 256 : 0,
    costUsd: COST_PER_AGENT / 2,
    latencyMs: Math.round(tookMs / 3),
    at: at(base, startMs + (turn * tookMs) / 3),
  }));
  const toolCalls = (TOOLS[agent] ?? []).map((tool, k) => ({
    _id: `${id}/${agent}/t${k}`,
    runId: id,
    stepId: agent,
    agent,
    tool,
    arguments:
      tool === 'get_charge'
        ? { chargeId: `ch_${1000 + seq}`, cardNumber: '4242424242424242' }
        : { customerEmail: 'x@example.com' },
    outcome: 'ok',
    durationMs: 12,
    at: at(base, startMs + tookMs / 2),
  }));
  return [
    {
      _id: `${id}/${agent}`,
      v: 2,
      runId: id,
      stepId: agent,
      kind: 'agent',
      name: agent,
      status: 'queued',
      attempts: 0,
      usage: { inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: 0 },
      seq,
      input: { chargeId: 'ch_1001' },
      createdAt: at(base, startMs - 5),
      updatedAt: at(base, startMs - 5),
    },
    {
      _id: `${id}/${agent}#end`,
      runId: id,
      kind: 'end',
      stepId: agent,
      status: 'completed',
      result: { summary: `${agent} found what it looked for` },
      usage,
      attempts: 1,
      startedAt: started,
      finishedAt: finished,
      calls: { modelCalls, toolCalls },
      agentVersion: 'seed0000',
    },
  ];
}

function stepDoc(id: string, stepId: string, kind: string, seq: number, fields: Record<string, unknown>): Doc {
  return {
    _id: `${id}/${stepId}`,
    v: 2,
    runId: id,
    stepId,
    kind,
    name: stepId,
    attempts: 1,
    usage: { inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: 0 },
    seq,
    createdAt: fields.startedAt ?? fields.finishedAt,
    updatedAt: fields.finishedAt ?? fields.startedAt,
    ...fields,
  };
}

/** The documents of run `i`: the run, its journal and its checkpoint. */
function runDocs(i: number, o: SeedOptions) {
  const r = describe(i, o);
  const id = r.id;
  const base = r.createdAt.getTime();
  const decided = r.status === 'completed' || r.status === 'failed';
  const waitMs = 60_000 * (5 + (i % 50));
  const journal: Doc[] = [
    { _id: `${id}/#start`, runId: id, kind: 'start', workflow: r.workflow, input: {}, createdAt: r.createdAt },
    ...AGENTS.flatMap((a, k) => agentDocs(id, a, k + 1, 40 + k * 5, 2_000 + ((i * 37 + k * 911) % 4_000), base)),
    ...agentDocs(id, 'dispute-manager', 4, 6_200, 1_500, base),
  ];
  const cpId = `cp_seed${String(i).padStart(6, '0')}`;
  const cpStart = at(base, 7_800);
  const decidedAt = at(base, 7_800 + waitMs);
  const approver = i % 10 === 0 ? LEAD : 'approver@example.com';
  const running = r.status === 'running';
  if (!running) {
    journal.push(
      stepDoc(id, 'review', 'checkpoint', 5, {
        status: decided ? 'completed' : 'waiting',
        checkpointId: cpId,
        startedAt: cpStart,
        attempts: 0,
      }),
    );
    if (decided)
      journal.push({
        _id: `${id}/review#end`,
        runId: id,
        kind: 'end',
        stepId: 'review',
        status: 'completed',
        result: { decision: 'approve', actor: approver },
        finishedAt: decidedAt,
      });
  }
  if (r.status === 'cancelled')
    journal.push({
      _id: `${id}/#claim-cancel`,
      runId: id,
      kind: 'claim',
      at: at(base, 9_000),
      intent: { actor: 'admin@example.com', reason: 'seeded: the customer withdrew' },
    });
  if (decided) {
    const failed = r.status === 'failed';
    journal.push(
      stepDoc(id, 'send-reply', 'step', 6, {
        status: failed ? 'failed' : 'completed',
        attempts: failed ? 3 : 1,
        startedAt: at(base, 7_900 + waitMs),
        finishedAt: at(base, 8_300 + waitMs),
        ...(failed
          ? { error: { message: 'SMTP 451: try again later', code: 'retryable', at: at(base, 8_300 + waitMs) } }
          : { result: { messageId: `<${id}@countersign.local>` } }),
      }),
    );
  }
  const updatedAt = decided ? at(base, 8_400 + waitMs) : running ? at(base, 6_000) : cpStart;
  const run: Doc = {
    _id: id,
    v: 2,
    workflow: r.workflow,
    status: r.status,
    input: {
      customerEmail: r.customer,
      customerName: `Customer ${i % 7}`,
      chargeId: `ch_${1000 + (i % 40)}`,
      amount: 20 + (i % 180),
      currency: 'EUR',
      reason: 'duplicate',
      description: 'I was charged twice for one order.',
    },
    // What the engine's last status write leaves: the usage of the journal's ends.
    usage: totalUsage(journal.filter((d) => d.kind === 'end') as { usage?: Partial<Usage> }[]),
    source: { channel: 'webhook' },
    createdAt: r.createdAt,
    updatedAt,
    // Finished long ago: already compacted, so the engine's housekeeping leaves them be.
    ...(r.status === 'waiting' ? {} : { compactedAt: updatedAt }),
    ...(r.status === 'failed'
      ? { error: { message: 'step send-reply failed', code: 'retryable', at: updatedAt } }
      : {}),
  };
  const checkpoint: Doc | undefined = running
    ? undefined
    : {
        _id: cpId,
        v: 2,
        runId: id,
        stepId: 'review',
        workflow: r.workflow,
        name: 'review',
        status: decided ? 'approved' : r.status === 'cancelled' ? 'cancelled' : 'pending',
        version: decided ? 1 : 0,
        title: 'Review the dispute',
        summary: 'Seeded',
        evidence: [],
        proposal: { outcome: 'accept', confidence: 0.8 },
        editableSchema: {},
        values: { outcome: 'accept' },
        approvers: { emails: ['approver@example.com', LEAD], slackUsers: [], slackGroups: [], slackChannels: [] },
        quorum: { mode: 'any', required: 1 },
        approvals: [],
        originalValues: { outcome: 'accept' },
        timers: { remindersSent: 0, timeoutFired: false, dueAt: null },
        audit: [],
        createdAt: cpStart,
        updatedAt: decided ? decidedAt : cpStart,
        ...(decided
          ? {
              decision: {
                decision: 'approve',
                actor: approver,
                channel: 'slack',
                edits: {},
                diff: [],
                decidedAt,
              },
            }
          : {}),
      };
  return { r, run, journal, checkpoint, approver: decided ? approver : undefined };
}

/** Writes `count` runs in batches; returns what the tests compare pages with. */
export async function seedRuns(store: Store, o: SeedOptions): Promise<SeededRuns> {
  const db = store.connection.db;
  if (!db) throw new Error('the store is not connected');
  const byId = new Map<string, SeededRun>();
  const decidedBy: string[] = [];
  let failedRun = '';
  const batch = o.batch ?? 500;
  for (let from = 0; from < o.count; from += batch) {
    const made = Array.from({ length: Math.min(batch, o.count - from) }, (_, k) => runDocs(from + k, o));
    for (const m of made) {
      byId.set(m.r.id, {
        workflow: m.r.workflow,
        status: m.r.status,
        customer: m.r.customer,
        createdAt: m.r.createdAt,
      });
      if (m.approver === LEAD) decidedBy.push(m.r.id);
      if (!failedRun && m.r.status === 'failed') failedRun = m.r.id;
    }
    await db.collection<Doc>('runs').insertMany(
      made.map((m) => m.run),
      { ordered: false },
    );
    await db.collection<Doc>('steps').insertMany(
      made.flatMap((m) => m.journal),
      { ordered: false },
    );
    const cps = made.flatMap((m) => (m.checkpoint ? [m.checkpoint] : []));
    if (cps.length > 0) await db.collection<Doc>('checkpoints').insertMany(cps, { ordered: false });
    o.onProgress?.(from + made.length);
  }
  const newestFirst = [...byId]
    .sort(([a, ra], [b, rb]) => rb.createdAt.getTime() - ra.createdAt.getTime() || (a < b ? 1 : a > b ? -1 : 0))
    .map(([id]) => id);
  return { newestFirst, byId, approver: LEAD, decidedBy, failedRun, failedStep: 'send-reply' };
}
