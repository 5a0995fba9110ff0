import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import type { EngineStore } from '../src/engine/store-port.js';
import { defineWorkflow } from '../src/engine/workflow.js';
import { infrastructureFault } from '../src/infra-errors.js';
import { outageDelayMs } from '../src/outage-retry.js';
import { APPROVER, hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { type EngineHarness, startEngineHarness, waitFor } from './support/engine-harness.js';
import { hostOf, startTcpGate, type TcpGate } from './support/tcp-gate.js';

/** What the MongoDB driver throws when the server went away mid-request (the class name is what counts). */
function storeOutage(): Error {
  const err = new Error('connection 3 to 127.0.0.1:27017 closed');
  err.name = 'MongoNetworkError';
  return err;
}

describe('what counts as an outage', () => {
  it('recognises the drivers’ errors, also when wrapped, and nothing else', () => {
    expect(infrastructureFault(storeOutage())?.dependency).toBe('mongo');
    const selection = Object.assign(new Error('Server selection timed out after 5000 ms'), {
      name: 'MongoServerSelectionError',
    });
    expect(infrastructureFault(new Error('pass failed', { cause: selection }))?.dependency).toBe('mongo');
    const steppedDown = Object.assign(new Error('not primary'), { name: 'MongoServerError', code: 10107 });
    expect(infrastructureFault(steppedDown)?.dependency).toBe('mongo');
    expect(infrastructureFault(new Error('Connection is closed.'))?.dependency).toBe('redis');
    const buffering = Object.assign(new Error('Operation `runs.findOne()` buffering timed out after 10000ms'), {
      name: 'MongooseError',
    });
    expect(infrastructureFault(buffering)?.dependency).toBe('mongo');
    // A duplicate key, a validation error, a model server refusing: the step's own failures.
    expect(
      infrastructureFault(Object.assign(new Error('E11000 duplicate key'), { name: 'MongoServerError', code: 11000 })),
    ).toBeUndefined();
    expect(
      infrastructureFault(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBeUndefined();
    expect(infrastructureFault('Connection is closed.')).toBeUndefined();
    // A socket's own error counts when a driver's frame threw it, not when the model server or SMTP did.
    const reset = (frame: string) =>
      Object.assign(new Error('read ECONNRESET'), {
        code: 'ECONNRESET',
        stack: `Error: read ECONNRESET\n    at ${frame}:1:1`,
      });
    expect(infrastructureFault(reset('/app/node_modules/ioredis/built/Redis.js'))?.dependency).toBe('redis');
    expect(infrastructureFault(reset('/app/node_modules/mongodb/lib/cmap/connection.js'))?.dependency).toBe('mongo');
    expect(infrastructureFault(reset('/app/node_modules/nodemailer/lib/smtp-connection/index.js'))).toBeUndefined();
  });

  it('backs off from half a second up to thirty, with jitter', () => {
    expect(outageDelayMs(0, () => 1)).toBe(500);
    expect(outageDelayMs(3, () => 1)).toBe(4_000);
    expect(outageDelayMs(20, () => 1)).toBe(30_000);
    expect(outageDelayMs(20, () => 0)).toBe(15_000);
  });
});

describe('an outage inside an inline step', () => {
  let h: EngineHarness;
  let outagesLeft = 0;
  let calls = 0;
  const charge = defineWorkflow({
    name: 'outage-charge',
    input: z.object({ amount: z.number() }),
    async run(ctx, input) {
      return ctx.step(
        'charge',
        async () => {
          calls++;
          if (outagesLeft > 0) {
            outagesLeft--;
            throw storeOutage();
          }
          return { charged: input.amount };
        },
        { attempts: 2 },
      );
    },
  });

  beforeAll(async () => {
    h = await startEngineHarness('outage-step', [charge]);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is tried again until the store answers, without using up the step’s attempts or failing the run', async () => {
    outagesLeft = 3; // more outages than the step has attempts
    const { runId } = await h.engine.startRun({
      workflow: 'outage-charge',
      input: { amount: 5 },
      source: { channel: 'api' },
    });
    const run = await h.waitForRun(runId, (r) => r.status === 'completed' || r.status === 'failed', 90_000);
    expect(run.status).toBe('completed');
    expect(run.output).toEqual({ charged: 5 });
    expect(calls).toBe(4);
    // The outages were given back (their lease released), so the one try that counted is the one that worked.
    expect(run.steps.find((s) => s.id === 'charge')?.attempts).toBe(1);
  });
});

describe('outages around agents and notifications (the real app)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ label: 'outage-agents', settings: { reconcileGraceMs: 0 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** As a sender would: the outages the tests fake make the app answer 503 until its next probe finds the store. */
  async function startDispute(customerEmail: string): Promise<string> {
    return waitFor('the webhook accepted', async () => {
      const res = await t.webhook(
        'card-dispute',
        { ...SAMPLE_DISPUTES.needsReview, customerEmail },
        { key: customerEmail },
      );
      if (res.status === 503) return null;
      expect(res.status).toBe(202);
      return ((await res.json()) as { runId: string }).runId;
    });
  }

  it('an agent whose end could not be written runs again and ends once, its attempts untouched', async () => {
    const store = t.app.deps.engineStore as EngineStore;
    const append = store.append.bind(store);
    let failedEnds = 0;
    store.append = async (records, opts) => {
      // The first two ends of agent steps meet a store that went away.
      if (failedEnds < 2 && records.some((r) => r.kind === 'end' && r.end.status === 'completed' && r.end.calls)) {
        failedEnds++;
        throw storeOutage();
      }
      return append(records, opts);
    };
    try {
      const runId = await startDispute('outage-agent@example.com');
      const run = await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r), 120_000);
      expect(run.status).toBe('waiting');
      expect(failedEnds).toBe(2);
      for (const step of run.steps.filter((s) => s.kind === 'agent')) {
        expect(step.status).toBe('completed');
        expect(step.attempts).toBe(1);
      }
    } finally {
      store.append = append;
    }
  });

  it('a checkpoint whose notification was lost is announced by the reconciler, once', async () => {
    const queues = t.app.deps.queues;
    const enqueueNotify = queues.enqueueNotify.bind(queues);
    // Redis "loses" the job that would tell people: it is never queued.
    queues.enqueueNotify = async (checkpointId, event, tag, delay) => {
      if (event === 'created') return;
      return enqueueNotify(checkpointId, event, tag, delay);
    };
    let runId: string;
    try {
      runId = await startDispute('outage-told@example.com');
      await t.waitForRun(runId, hasPendingCheckpoint, 120_000);
    } finally {
      queues.enqueueNotify = enqueueNotify;
    }
    const checkpointId = (await t.app.engine.getRun(runId))?.checkpoints[0]?.id ?? '';
    // The mailer's Message-ID is derived from the delivery's key: this counts this checkpoint's email only.
    const hash = createHash('sha256').update(`checkpoint/${checkpointId}/${APPROVER}`).digest('hex').slice(0, 32);
    const toApprover = () => t.smtp.messages.filter((m) => m.messageId?.startsWith(`<${hash}@`)).length;
    await t.workers?.reconcileNow();
    await waitFor('the approver’s email', async () => toApprover() === 1, 60_000);
    // Told now: further rounds put nothing back.
    await waitFor('the delivery recorded', async () => {
      const held = await t.app.deps.engineStore.journalClaimsHeld([
        { runId, key: `told:${checkpointId}:created:email` },
      ]);
      return held.size === 1;
    });
    await t.workers?.reconcileNow();
    await t.workers?.reconcileNow();
    expect(toApprover()).toBe(1);
  });
});

describe('a worker started while the store is away', () => {
  let t: TestApp;
  let gate: TcpGate;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    // HTTP only in this process: the runs can go on only in the worker started below.
    t = await startTestApp({ label: 'outage-boot', workers: false });
    gate = await startTcpGate(hostOf(t.env.MONGODB_URI ?? ''));
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await gate?.stop();
    await t?.close();
  });

  it('waits for the store instead of exiting, then does the work', async () => {
    gate.shut();
    child = spawn(process.execPath, ['--import', 'tsx', 'main.ts', 'worker'], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, ...t.env, MONGODB_URI: gate.in(t.env.MONGODB_URI ?? ''), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = once(child, 'exit');
    await waitFor(
      'the worker to wait for the store',
      async () => out.includes('waiting for the store to answer'),
      60_000,
    );
    expect(child.exitCode).toBeNull();
    gate.open();
    const runId = await waitFor('the webhook accepted', async () => {
      const res = await t.webhook('card-dispute', {
        ...SAMPLE_DISPUTES.needsReview,
        customerEmail: 'boot@example.com',
      });
      return res.status === 202 ? ((await res.json()) as { runId: string }).runId : null;
    });
    expect((await t.waitForRun(runId, hasPendingCheckpoint, 120_000)).status).toBe('waiting');
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    await exited;
  });
});
