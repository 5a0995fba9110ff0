import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Agent } from '../agents/define.js';
import { NonRetryable } from '../errors.js';
import { recordAgreement } from '../store/agreements.js';
import { claim } from '../store/claims.js';
import {
  type CheckpointDoc,
  type RunDoc,
  SCHEMA_VERSION,
  type StepDoc,
  type StepKind,
  zeroUsage,
} from '../store/models.js';
import { runApproval } from './approval.js';
import {
  type AutonomySpec,
  type AutonomyVerdict,
  agreementOfCheckpoint,
  autonomyInForce,
  policyAgreement,
  takeVerdict,
  verdictOf,
} from './autonomy.js';
import { approvedBy, buildCheckpointDoc, checkpointResult } from './checkpoints.js';
import { withDelegates } from './delegation.js';
import type { EngineDeps } from './deps.js';
import { stepDocId } from './ids.js';
import { errorOf } from './stored-error.js';
import { scheduleTimer } from './timers.js';
import type {
  ApprovalResult,
  ApprovalSpec,
  CheckpointResult,
  CheckpointSpec,
  StepInfo,
  StepOptions,
  WorkflowContext,
} from './workflow.js';

/** Parks the caller: agents or retries in flight (BUSY), or only people and timers (IDLE). */
const BUSY = Symbol('busy');
const IDLE = Symbol('idle');
type Wait = typeof BUSY | typeof IDLE;

/** Thrown into the workflow when a step has failed for good; uncaught, it fails the run. */
class StepFailedError extends Error {
  constructor(
    readonly stepId: string,
    message: string,
    readonly code: string,
  ) {
    super(`step ${stepId} failed: ${message}`);
  }
}

/** Why a pass stopped without the workflow returning. */
export interface Suspension {
  /** Agents or retries are still in flight: the run is `running`. Otherwise it waits for people or timers. */
  busy: boolean;
}

/**
 * One replay of a workflow function against its journal. Journaled steps return their recorded result; new
 * steps are executed (inline steps) or dispatched (agents, checkpoints, timers), and their promises never
 * settle in this pass, so the function stops there. The pass ends when nothing inline is left running.
 */
export class PassContext implements WorkflowContext {
  readonly runId: string;
  private readonly used = new Set<string>();
  private readonly written = new Set<string>();
  /** Events taken by waits in this pass, on top of those the journal shows. */
  private readonly takenEvents = new Set<string>();
  private inflight = 0;
  private suspensions = 0;
  private busy = false;
  private nextSeq: number;
  private autoIds = { now: 0, id: 0 };
  private idle: (() => void) | undefined;
  private readonly quiet: Promise<Suspension>;

  constructor(
    private readonly deps: EngineDeps,
    private readonly run: RunDoc,
    private readonly journal: Map<string, StepDoc>,
    private readonly checkpoints: Map<string, CheckpointDoc>,
  ) {
    this.runId = run._id;
    this.nextSeq = Math.max(0, ...[...journal.values()].map((s) => s.seq)) + 1;
    this.quiet = new Promise((resolve) => {
      this.idle = () => resolve({ busy: this.busy });
    });
  }

  /** Resolves once every ctx call of this pass has either finished or suspended. */
  suspended(): Promise<Suspension> {
    return this.quiet;
  }

  async step<T>(id: string, fn: (info: StepInfo) => Promise<T>, options: StepOptions = {}): Promise<T> {
    this.claim(id);
    const rec = this.journal.get(id);
    if (rec?.status === 'completed') return rec.result as T;
    if (rec?.status === 'failed') throw this.failure(rec);
    if (rec?.status === 'waiting' && rec.wakeAt && rec.wakeAt > this.deps.clock.now()) return this.suspend(true);
    const attempts = options.attempts ?? 3;
    const attempt = (rec?.attempts ?? 0) + 1;
    return this.track(async () => {
      const now = this.deps.clock.now();
      await this.writeStep(id, 'step', id, { status: 'running', attempts: attempt, startedAt: rec?.startedAt ?? now });
      try {
        const result = await fn({ runId: this.runId, stepId: id, idempotencyKey: stepDocId(this.runId, id), attempt });
        this.deps.failpoints.hit(`after-step:${id}`);
        await this.writeStep(id, 'step', id, {
          status: 'completed',
          result: result ?? null,
          finishedAt: this.deps.clock.now(),
        });
        return result;
      } catch (err) {
        const error = errorOf(err, this.deps.clock.now());
        if (attempt >= attempts || err instanceof NonRetryable) {
          await this.writeStep(id, 'step', id, { status: 'failed', error, finishedAt: this.deps.clock.now() });
          throw new StepFailedError(id, error.message, error.code);
        }
        const delay = (options.backoffMs ?? 1_000) * 2 ** (attempt - 1);
        const wakeAt = new Date(this.deps.clock.now().getTime() + delay);
        await this.writeStep(id, 'step', id, { status: 'waiting', error, wakeAt });
        this.deps.logger.warn({ runId: this.runId, stepId: id, attempt, err: error.message }, 'step failed; retrying');
        await this.deps.queues.enqueuePass(this.runId, `retry-${id}-${attempt}`, delay);
        return BUSY;
      }
    });
  }

  async agent<I, O>(agent: Agent<I, O>, input: I, options: { id?: string } = {}): Promise<O> {
    const id = options.id ?? agent.name;
    this.claim(id);
    const rec = this.journal.get(id);
    if (rec?.status === 'completed') return rec.result as O;
    if (rec?.status === 'failed') throw this.failure(rec);
    if (rec) return this.suspend(true);
    if (!this.deps.agents.has(agent.name)) throw new Error(`agent ${agent.name} is not registered with the engine`);
    const parsed = agent.input.safeParse(input);
    if (!parsed.success) throw new Error(`input for agent ${agent.name} is invalid: ${z.prettifyError(parsed.error)}`);
    return this.track<O>(async () => {
      const inserted = await this.insertStep(id, 'agent', agent.name, { status: 'queued', input: parsed.data });
      if (inserted) await this.deps.queues.enqueueAgent(this.runId, id, { attempts: this.deps.settings.agentAttempts });
      return BUSY;
    });
  }

  async checkpoint<E extends Record<string, unknown>>(
    id: string,
    spec: CheckpointSpec<E>,
  ): Promise<CheckpointResult<E>> {
    this.claim(id);
    const rec = this.journal.get(id);
    if (rec?.status === 'completed') return checkpointResult(spec, rec.result);
    if (rec?.status === 'failed') throw this.failure(rec);
    return this.track(async () => {
      if (rec?.checkpointId) {
        const cp =
          this.checkpoints.get(rec.checkpointId) ??
          (await this.deps.store.checkpoints.findById(rec.checkpointId).lean());
        if (cp?.decision && (cp.status === 'approved' || cp.status === 'rejected')) {
          // Agreement is recorded here, on resume, not in decide(): this is the one path every decision takes
          // (person, timeout, any channel) that is also retried until it succeeds: the step is completed only after
          // the record exists, and the reconciler re-runs a pass for any decided checkpoint whose step still waits.
          // The insert is unique on the checkpoint id, so a replay after a crash here writes nothing twice.
          const agreement = agreementOfCheckpoint(cp, this.deps.clock.now());
          if (agreement) await recordAgreement(this.deps.store, agreement);
          this.deps.failpoints.hit(`after-agreement:${id}`);
          const result = {
            ...cp.decision,
            values: { ...cp.values, ...cp.decision.edits },
            approvals: approvedBy(cp),
          };
          await this.writeStep(id, 'checkpoint', id, {
            status: 'completed',
            result,
            finishedAt: this.deps.clock.now(),
          });
          return checkpointResult(spec, result);
        }
        if (cp?.status === 'cancelled') throw new StepFailedError(id, 'checkpoint was cancelled', 'cancelled');
        return IDLE;
      }
      const built = buildCheckpointDoc(this.run, id, spec, this.deps.settings.approverEmails, this.deps.clock.now());
      // Active delegates of the approvers are told too; whether they may decide is checked when they do.
      const doc = await withDelegates(this.deps, built);
      await this.deps.store.checkpoints.create(doc).catch(ignoreDuplicate);
      await this.insertStep(id, 'checkpoint', id, {
        status: 'waiting',
        checkpointId: doc._id,
        startedAt: doc.createdAt,
      });
      await this.deps.queues.enqueueNotify(doc._id, 'created');
      await scheduleTimer(this.deps, doc);
      return IDLE;
    });
  }

  async autonomy<F>(id: string, spec: AutonomySpec<F>): Promise<AutonomyVerdict> {
    this.claim(id);
    const rec = this.journal.get(id);
    if (rec?.status === 'completed') return verdictOf(rec.result);
    return this.track(async () => {
      // The first insert fixes the verdict for the life of the run: replays read it back and never ask the
      // configuration again, so a run waiting at its checkpoint cannot be skipped past it by a later AUTONOMY.
      let verdict: AutonomyVerdict;
      if (rec) {
        verdict = verdictOf(rec.result);
      } else {
        const level = autonomyInForce(this.deps.settings, this.run.workflow, spec.cap);
        const checkpoint = spec.checkpoint ?? id;
        const fresh = takeVerdict(level, spec, this.deps.clock.now(), { personAsked: this.journal.has(checkpoint) });
        const records = fresh.auto && spec.agreement !== undefined;
        // A verdict that lets a proposal stand stays `running` until its agreement record exists (see below).
        const inserted = await this.insertStep(id, 'autonomy', id, {
          status: records ? 'running' : 'completed',
          input: spec.facts,
          result: fresh,
          ...(records ? {} : { finishedAt: fresh.decidedAt }),
        });
        this.written.add(id);
        if (inserted) {
          verdict = fresh;
          if (!records) return verdict;
        } else {
          // Another pass recorded it first (only possible after a lease expiry); its verdict wins.
          const existing = await this.deps.store.steps.findById(stepDocId(this.runId, id)).lean();
          verdict = verdictOf(existing?.result);
          if (existing?.status === 'completed') return verdict;
        }
      }
      if (verdict.auto && spec.agreement) {
        this.deps.failpoints.hit(`after-verdict:${id}`);
        // Unique on the checkpoint id the verdict stands in for: a pass that dies before completing the step
        // replays to here and the insert changes nothing the second time.
        await recordAgreement(
          this.deps.store,
          policyAgreement(this.run, spec.checkpoint ?? id, spec.agreement, verdict, this.deps.clock.now()),
        );
      }
      await this.writeStep(id, 'autonomy', id, { status: 'completed', finishedAt: this.deps.clock.now() });
      return verdict;
    });
  }

  approval<E extends Record<string, unknown>>(id: string, spec: ApprovalSpec<E>): Promise<ApprovalResult<E>> {
    return runApproval(this, id, spec);
  }

  async sleep(id: string, ms: number): Promise<void> {
    this.claim(id);
    const rec = this.journal.get(id);
    if (rec?.status === 'completed') return;
    return this.track(async () => {
      const now = this.deps.clock.now();
      if (rec?.wakeAt) {
        if (rec.wakeAt <= now) {
          await this.writeStep(id, 'sleep', id, { status: 'completed', result: null, finishedAt: now });
          return;
        }
        return IDLE;
      }
      const wakeAt = new Date(now.getTime() + ms);
      await this.insertStep(id, 'sleep', id, { status: 'waiting', wakeAt, startedAt: now });
      await this.deps.queues.enqueuePass(this.runId, `wake-${id}`, ms);
      return IDLE;
    });
  }

  async waitForEvent<T = unknown>(
    id: string,
    spec: { name: string; key: string; timeoutMs?: number },
  ): Promise<T | null> {
    this.claim(id);
    const rec = this.journal.get(id);
    if (rec?.status === 'completed') return ((rec.result as { payload?: T } | null)?.payload ?? null) as T | null;
    return this.track<T | null>(async () => {
      const now = this.deps.clock.now();
      if (rec?.status === 'waiting') {
        if (rec.wakeAt && rec.wakeAt <= now) {
          const done = await this.completeWait(id, null);
          return (done?.payload ?? null) as T | null;
        }
        return IDLE;
      }
      const wakeAt = spec.timeoutMs === undefined ? undefined : new Date(now.getTime() + spec.timeoutMs);
      await this.insertStep(id, 'event', id, {
        status: 'waiting',
        event: { name: spec.name, key: spec.key },
        startedAt: now,
        ...(wakeAt ? { wakeAt } : {}),
      });
      // An event sent before this wait began still counts, unless an earlier wait of this run took it.
      const taken = [...this.journal.values()]
        .map((s) => (s.kind === 'event' ? (s.result as { eventId?: string } | null)?.eventId : undefined))
        .filter((e): e is string => Boolean(e))
        .concat([...this.takenEvents]);
      const early = await this.deps.store.events
        .findOne({ name: spec.name, key: spec.key, createdAt: { $gte: this.run.createdAt }, _id: { $nin: taken } })
        .sort({ createdAt: 1 })
        .lean();
      if (early) {
        const done = await this.completeWait(id, { eventId: early._id, payload: early.payload });
        return (done?.payload ?? null) as T | null;
      }
      if (spec.timeoutMs !== undefined) await this.deps.queues.enqueuePass(this.runId, `wake-${id}`, spec.timeoutMs);
      return IDLE;
    });
  }

  /** Completes a wait once; if sendEvent completed it first, its payload wins. */
  private async completeWait(stepId: string, result: { eventId: string; payload: unknown } | null) {
    const now = this.deps.clock.now();
    const _id = stepDocId(this.runId, stepId);
    if (await claim(this.deps.store, `step-end:${_id}`, undefined, now)) {
      await this.deps.store.steps.updateOne(
        { _id },
        { $set: { status: 'completed', result, finishedAt: now, updatedAt: now } },
      );
    }
    const doc = await this.deps.store.steps.findById(_id).lean();
    const taken = doc?.result as { eventId: string; payload: unknown } | null;
    if (taken?.eventId) this.takenEvents.add(taken.eventId);
    return taken;
  }

  async now(id?: string): Promise<Date> {
    const stepId = id ?? `now-${++this.autoIds.now}`;
    return new Date(await this.recorded(stepId, 'now', () => this.deps.clock.now().toISOString()));
  }

  async id(id?: string): Promise<string> {
    return this.recorded(id ?? `id-${++this.autoIds.id}`, 'id', () => randomUUID());
  }

  private async recorded(stepId: string, kind: StepKind, make: () => string): Promise<string> {
    this.claim(stepId);
    const rec = this.journal.get(stepId);
    if (rec?.status === 'completed') return rec.result as string;
    return this.track(async () => {
      const value = make();
      const inserted = await this.insertStep(stepId, kind, stepId, { status: 'completed', result: value });
      if (inserted) return value;
      // Another pass recorded it first (only possible after a lease expiry); its value wins.
      const existing = await this.deps.store.steps.findById(stepDocId(this.runId, stepId)).lean();
      return existing?.result as string;
    });
  }

  private claim(id: string) {
    if (!/^[A-Za-z0-9_.:-]{1,120}$/.test(id)) throw new Error(`step id "${id}" must be 1-120 of A-Z a-z 0-9 _ . : -`);
    if (this.used.has(id)) throw new Error(`step id "${id}" is used twice in workflow ${this.run.workflow}`);
    this.used.add(id);
  }

  private failure(rec: StepDoc) {
    return new StepFailedError(rec.stepId, rec.error?.message ?? 'failed', rec.error?.code ?? 'failed');
  }

  private suspend<T>(busy: boolean): Promise<T> {
    this.suspensions++;
    if (busy) this.busy = true;
    this.checkIdle();
    return new Promise<T>(() => {});
  }

  /**
   * Counts inline work so the pass knows when it is quiet. Work that must wait returns BUSY or IDLE instead of
   * a never-settling promise, so the count drops before the caller is parked.
   */
  private async track<T>(work: () => Promise<T | Wait>): Promise<T> {
    this.inflight++;
    let result: T | Wait;
    try {
      result = await work();
    } finally {
      this.inflight--;
      this.checkIdle();
    }
    if (result === BUSY) return this.suspend<T>(true);
    if (result === IDLE) return this.suspend<T>(false);
    return result as T;
  }

  /** setImmediate runs after the microtask queue drains, so every ctx call the workflow could make has been made. */
  private checkIdle() {
    setImmediate(() => {
      if (this.inflight === 0 && this.suspensions > 0) this.idle?.();
    });
  }

  private async insertStep(stepId: string, kind: StepKind, name: string, fields: Partial<StepDoc>): Promise<boolean> {
    const now = this.deps.clock.now();
    const doc: StepDoc = {
      _id: stepDocId(this.runId, stepId),
      v: SCHEMA_VERSION,
      runId: this.runId,
      stepId,
      kind,
      name,
      status: 'queued',
      attempts: 0,
      usage: zeroUsage(),
      seq: this.nextSeq++,
      createdAt: now,
      updatedAt: now,
      ...fields,
    };
    try {
      await this.deps.store.steps.create(doc);
      return true;
    } catch (err) {
      ignoreDuplicate(err);
      return false;
    }
  }

  private async writeStep(stepId: string, kind: StepKind, name: string, fields: Partial<StepDoc>): Promise<void> {
    const now = this.deps.clock.now();
    const known = this.journal.has(stepId) || this.written.has(stepId);
    this.written.add(stepId);
    if (!known && (await this.insertStep(stepId, kind, name, fields))) return;
    await this.deps.store.steps.updateOne(
      { _id: stepDocId(this.runId, stepId) },
      { $set: { ...fields, updatedAt: now } },
    );
  }
}

export function ignoreDuplicate(err: unknown): void {
  if ((err as { code?: unknown })?.code !== 11000) throw err;
}
