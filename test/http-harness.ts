import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { z } from 'zod';
import { inbound } from '../compose.js';
import { type Config, parseEnv } from '../src/config.js';
import type { DelegationRequest, DelegationView } from '../src/engine/delegation.js';
import type { DecisionRequest, Engine, RunView, StartRunRequest } from '../src/engine/types.js';
import { AlreadyDecided, InvalidInput, issuesOf, NotAuthorized, NotFound } from '../src/errors.js';
import { createHttpApp } from '../src/http/server.js';
import { createMetrics, type Metrics } from '../src/metrics.js';
import { type CheckpointDoc, openStore, type Store } from '../src/store/models.js';
import { testConsoleServices } from './support/console-services.js';
import { mongodbUri, redisUrl, testMongoUri } from './support/env.js';

/**
 * HTTP tests run the real express app, a real Store (used tokens) and real Redis, against an Engine double
 * backed by maps: these tests are about HTTP, the engine has its own end-to-end tests.
 */
export const APP_SECRET = 'test-app-secret-0123456789abcdefghijklmnop';
export const API_TOKEN = 'test-api-token-0123456789';
export const WEBHOOK_SECRET = 'test-webhook-secret-0123';

const disputeInput = z.object({
  customerEmail: z.email(),
  chargeId: z.string().min(1),
  amount: z.number().positive(),
  currency: z.string().length(3),
  reason: z.string(),
  description: z.string(),
});

const disputeEditable = z.object({
  outcome: z.enum(['accept', 'reject']),
  reply: z.string().min(1, { message: 'The reply cannot be empty.' }).max(5000),
});

export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return parseEnv({
    MONGODB_URI: mongodbUri(),
    REDIS_URL: redisUrl(),
    APP_SECRET,
    COUNTERSIGN_API_TOKEN: API_TOKEN,
    WEBHOOK_SECRET,
    PUBLIC_URL: 'https://countersign.test',
    ...env,
  });
}

export class FakeEngine implements Engine {
  readonly runs = new Map<string, RunView>();
  readonly checkpoints = new Map<string, CheckpointDoc>();
  readonly keys = new Map<string, string>();
  readonly started: StartRunRequest[] = [];
  readonly decisions: DecisionRequest[] = [];
  private seq = 0;

  hasWorkflow(name: string): boolean {
    return name === 'card-dispute';
  }

  /** HTTP tests of /api/agreement use the real engine (test/agreement.test.ts); nothing is decided here. */
  async agreementStats() {
    return { workflows: [] };
  }

  /** Delegation rules are tested against the real engine (test/delegation.test.ts); this keeps what was set. */
  readonly delegations = new Map<string, DelegationView>();
  async setDelegation(req: DelegationRequest): Promise<DelegationView> {
    const view = {
      approver: req.approver,
      delegate: req.delegate,
      until: new Date(req.until),
      reason: req.reason ?? null,
      createdBy: req.createdBy,
      createdAt: new Date(),
      active: true,
    };
    this.delegations.set(req.approver.toLowerCase(), view);
    return view;
  }
  async clearDelegation(approver: string): Promise<{ cleared: number }> {
    return { cleared: this.delegations.delete(approver.toLowerCase()) ? 1 : 0 };
  }
  async listDelegations(): Promise<DelegationView[]> {
    return [...this.delegations.values()];
  }

  async startRun(req: StartRunRequest): Promise<{ runId: string; created: boolean }> {
    this.started.push(req);
    const parsed = disputeInput.safeParse(req.input);
    if (!parsed.success) throw new InvalidInput('invalid input', issuesOf(parsed.error));
    const existing = req.idempotencyKey ? this.keys.get(`${req.workflow}:${req.idempotencyKey}`) : undefined;
    if (existing) return { runId: existing, created: false };
    const runId = `run_${++this.seq}`;
    if (req.idempotencyKey) this.keys.set(`${req.workflow}:${req.idempotencyKey}`, runId);
    this.runs.set(runId, runView(runId, req.workflow, parsed.data));
    return { runId, created: true };
  }

  async decide(req: DecisionRequest): Promise<CheckpointDoc> {
    this.decisions.push(req);
    const c = this.checkpoints.get(req.checkpointId);
    if (!c) throw new NotFound('checkpoint not found');
    if (c.status !== 'pending') throw new AlreadyDecided(c.status, c.decision);
    if (req.channel !== 'api' && !(await this.mayDecide(c, req.actor))) throw new NotAuthorized('not an approver');
    const edits = req.edits ?? {};
    const checked = disputeEditable.partial().strict().safeParse(edits);
    if (!checked.success) throw new InvalidInput('invalid edits', issuesOf(checked.error));
    const decidedAt = new Date();
    const diff = Object.entries(edits).map(([field, after]) => ({ field, before: c.values[field], after }));
    const decided: CheckpointDoc = {
      ...c,
      status: req.decision === 'approve' ? 'approved' : 'rejected',
      version: c.version + 1,
      decision: {
        decision: req.decision,
        actor: req.actor,
        channel: req.channel,
        comment: req.comment,
        edits,
        diff,
        decidedAt,
      },
    };
    this.checkpoints.set(c._id, decided);
    return decided;
  }

  async getRun(runId: string): Promise<RunView | null> {
    return this.runs.get(runId) ?? null;
  }

  async listRuns(filter: { status?: RunView['status']; workflow?: string; limit?: number }): Promise<RunView[]> {
    return [...this.runs.values()]
      .filter(
        (r) => (!filter.status || r.status === filter.status) && (!filter.workflow || r.workflow === filter.workflow),
      )
      .slice(0, filter.limit ?? 50);
  }

  async getCheckpoint(id: string): Promise<CheckpointDoc | null> {
    return this.checkpoints.get(id) ?? null;
  }

  async mayDecide(checkpoint: CheckpointDoc, actor: string): Promise<boolean> {
    return checkpoint.approvers.emails.includes(actor.toLowerCase()) || checkpoint.approvers.slackUsers.includes(actor);
  }

  async decidableBy(checkpoints: readonly CheckpointDoc[], actor: string): Promise<CheckpointDoc[]> {
    const mine: CheckpointDoc[] = [];
    for (const cp of checkpoints) if (await this.mayDecide(cp, actor)) mine.push(cp);
    return mine;
  }

  async getRunDetail(runId: string) {
    const run = this.runs.get(runId);
    return run ? { ...run, source: null, modelCalls: [], toolCalls: [], results: {}, cancelled: null } : null;
  }

  async cancelRun(): Promise<{ cancelled: boolean; status: RunView['status'] }> {
    throw new Error('not used by the HTTP tests');
  }

  async retryStep(): Promise<{ retried: boolean; status: RunView['status'] }> {
    throw new Error('not used by the HTTP tests');
  }

  async listCheckpoints(): Promise<CheckpointDoc[]> {
    return [...this.checkpoints.values()];
  }

  async sendEvent(): Promise<{ delivered: number }> {
    return { delivered: 0 };
  }

  addCheckpoint(overrides: Partial<CheckpointDoc> = {}): CheckpointDoc {
    const id = `cp_${++this.seq}`;
    const now = new Date('2026-01-01T10:00:00Z');
    const doc: CheckpointDoc = {
      _id: id,
      v: 1,
      runId: 'run_x',
      stepId: 'review',
      workflow: 'card-dispute',
      name: 'review',
      status: 'pending',
      version: 1,
      title: 'Dispute of $42.00 on ch_123',
      summary: 'Customer says the charge was never authorised.',
      evidence: [{ title: 'Charge', items: [{ label: 'Amount', value: '42.00 USD' }] }],
      proposal: { outcome: 'accept', confidence: 0.82, rationale: 'No delivery confirmation.' },
      editableSchema: z.toJSONSchema(disputeEditable) as Record<string, unknown>,
      values: { outcome: 'accept', reply: 'Dear customer,\nwe refunded you.' },
      approvers: {
        emails: ['ana@example.com', 'bo@example.com'],
        slackUsers: ['U123'],
        slackGroups: [],
        slackChannels: [],
      },
      quorum: { mode: 'any', required: 1 },
      approvals: [],
      originalValues: { outcome: 'accept', reply: 'Dear customer,\nwe refunded you.' },
      timers: { remindersSent: 0, timeoutFired: false },
      audit: [],
      createdAt: now,
      updatedAt: now,
      ...overrides,
    };
    this.checkpoints.set(id, doc);
    return doc;
  }
}

export function runView(id: string, workflow: string, input: unknown): RunView {
  const at = new Date('2026-01-01T10:00:00Z');
  return {
    id,
    workflow,
    status: 'waiting',
    input,
    output: null,
    error: null,
    steps: [],
    checkpoints: [],
    usage: { inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: 0 },
    createdAt: at,
    updatedAt: at,
  };
}

export interface Harness {
  url: string;
  engine: FakeEngine;
  store: Store;
  redis: Redis;
  metrics: Metrics;
  config: Config;
  close(): Promise<void>;
}

/** Starts the app on a random port, with a fresh database named after `label`. */
export async function startHarness(
  label: string,
  opts: { config?: Config; redis?: Redis; engine?: FakeEngine; now?: () => Date } = {},
): Promise<Harness> {
  const store = await openStore(testMongoUri(label));
  const redis = opts.redis ?? new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  const engine = opts.engine ?? new FakeEngine();
  const metrics = createMetrics();
  const config = opts.config ?? testConfig();
  const app = createHttpApp(
    {
      config,
      engine,
      store,
      redis,
      metrics,
      logger: pino({ level: 'silent' }),
      now: opts.now,
      console: testConsoleServices(store, redis, config.appSecret, `test-${label}`),
      // The engine double's workflows stand in for the modules' `intake.webhooks`.
      workflows: { startsByWebhook: (name) => engine.hasWorkflow(name), listing: () => [], inputProblems: () => [] },
    },
    inbound.http,
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    engine,
    store,
    redis,
    metrics,
    config,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
      await store.connection.dropDatabase();
      await store.close();
    },
  };
}
