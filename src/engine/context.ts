import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Agent } from '../agents/define.js';
import { activeGrants } from '../autonomy/grants.js';
import { NonRetryable } from '../errors.js';
import { isInfrastructureError } from '../infra-errors.js';
import { recordAgreement } from '../store/agreements.js';
import {
  type CheckpointDoc,
  type RunStatus,
  SCHEMA_VERSION,
  type StepDoc,
  type StepKind,
  totalUsage,
  type Usage,
  zeroUsage,
} from '../store/models.js';
import { dispatchOfStep } from './agent-job.js';
import { runApproval } from './approval.js';
import {
  type AutonomySpec,
  type AutonomyVerdict,
  agreementOfCheckpoint,
  autonomyInForce,
  boundaryForCase,
  ceilingOf,
  policyAgreement,
  sliceOfSpec,
  takeVerdict,
  type VerdictBoundary,
  verdictOf,
} from './autonomy.js';
import { approvedBy, buildCheckpointDoc, checkpointResult } from './checkpoints.js';
import { withDelegates } from './delegation.js';
import type { EngineDeps } from './deps.js';
import { stepDocId } from './ids.js';
import type { Journal, JournalRecord, StepEnd } from './store-port.js';
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
/** Another pass took the run's lease: park for good, the pass writes nothing and is retried. */
const LOST = Symbol('lost');
type Wait = typeof BUSY | typeof IDLE | typeof LOST;

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
  /** Events taken by waits in this pass, on top of those the journal shows. */
  private readonly takenEvents = new Set<string>();
  /** Records written together at the end of the pass, in one request (see flush). */
  private readonly pending: JournalRecord[] = [];
  /** Queue work that must follow the records it refers to (agent jobs, timers). */
  private readonly afterwards: (() => Promise<void>)[] = [];
  private readonly journal: Map<string, StepDoc>;
  private readonly checkpoints = new Map<string, CheckpointDoc>();
  private readonly createdAt: Date;
  private readonly workflowName: string;
  private inflight = 0;
  private suspensions = 0;
  private busy = false;
  private nextSeq: number;
  private autoIds = { now: 0, id: 0 };
  private idle: (() => void) | undefined;
  private readonly quiet: Promise<Suspension>;

  /** `none`: the pass works optimistically; `held`: it took the run's lease; `lost`: another pass took it. */
  private lease: 'none' | 'held' | 'lost' = 'none';
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: EngineDeps,
    private readonly run: Journal,
    private readonly gen: number,
    private readonly owner: string,
    carried: readonly CheckpointDoc[],
    leaseHeld = false,
  ) {
    this.runId = run.runId;
    if (leaseHeld) this.holdLease();
    this.journal = run.steps;
    this.createdAt = run.start?.createdAt ?? new Date(0);
    this.workflowName = run.start?.workflow ?? '';
    for (const cp of carried) this.checkpoints.set(cp._id, cp);
    this.nextSeq = Math.max(0, ...[...this.journal.values()].map((s) => s.seq)) + 1;
    this.quiet = new Promise((resolve) => {
      this.idle = () => resolve({ busy: this.busy });
    });
  }

  /** Reads what the replay will need beyond the journal, in one request: the checkpoints the run waits on (unless
   * the caller carried them). */
  async prepare(): Promise<void> {
    const wanted = [...this.journal.values()]
      .filter((s) => s.kind === 'checkpoint' && s.status === 'waiting' && s.checkpointId)
      .map((s) => s.checkpointId as string)
      .filter((id) => !this.checkpoints.has(id));
    if (wanted.length > 0) {
      for (const cp of await this.deps.engineStore.getCheckpoints(wanted)) this.checkpoints.set(cp._id, cp);
    }
  }

  /**
   * The run's lease, taken the first time the pass is about to do what must happen once: run an inline step (a side
   * effect) or update a step. Until then the pass works optimistically: everything it writes is a unique insert or
   * waits for its batched write, which carries the lease record first and so fails whole when another pass of the
   * same generation got there first. Most passes (agents dispatched, a checkpoint created, nothing new) never take it.
   */
  private async takeLease(step?: string): Promise<boolean> {
    if (this.lease === 'held') return true;
    if (this.lease === 'lost') return false;
    const until = new Date(this.deps.clock.now().getTime() + this.deps.settings.leaseMs);
    if (!(await this.deps.engineStore.takeLease(this.runId, this.gen, this.owner, until, step))) {
      this.lease = 'lost';
      return false;
    }
    this.holdLease();
    return true;
  }

  private holdLease() {
    this.lease = 'held';
    this.heartbeat = setInterval(
      () => {
        const renewed = new Date(this.deps.clock.now().getTime() + this.deps.settings.leaseMs);
        this.deps.engineStore.renewLease(this.runId, this.gen, renewed).catch(() => {});
      },
      Math.max(250, this.deps.settings.leaseMs / 3),
    );
  }

  /**
   * A pass that met an outage while holding the lease gives it back if the store will take the write (a connection
   * cut mid-request usually returns at once), so its step's try is not counted as a crash. If the store is still away
   * the lease lapses as a crashed pass's would.
   */
  async abandon(at: Date): Promise<void> {
    if (this.lease !== 'held') return;
    const last = this.run.lastPass;
    await this.deps.engineStore
      .append([
        {
          kind: 'release',
          runId: this.runId,
          gen: this.gen,
          status: last?.status ?? 'queued',
          at,
          seenEnds: last?.seenEnds ?? [],
        },
      ])
      .catch(() => {});
  }

  /** Stops renewing the lease: the pass is over, written or not (a pass that throws must not hold the run on). */
  stopHeartbeat(): void {
    clearInterval(this.heartbeat);
  }

  /**
   * Writes the pass's records in one request, with its lease record first unless it took the lease already, and the
   * release last (the run's status, and the ends whose call logs this pass copied). A pass with nothing to write and
   * no change of status writes nothing at all. Returns false when another pass of this generation won.
   */
  async flush(status: RunStatus, at: Date, statusChanged: boolean): Promise<boolean> {
    this.stopHeartbeat();
    if (this.lease === 'lost') return false;
    const seen = new Set(this.run.lastPass?.seenEnds ?? []);
    const fresh = [...this.run.ended].filter((id) => !seen.has(this.endKey(id)));
    const records = this.pending.splice(0, this.pending.length);
    if (records.length === 0 && !statusChanged && this.lease === 'none') return true;
    // Call logs wait in the journal until the run stops running (or many have gathered), then go in one write per
    // collection: the run's usage is on its steps already, so nobody waits for them.
    const copyLogs = (status !== 'running' && status !== 'queued') || fresh.length >= 20;
    const copied = copyLogs ? fresh : [];
    const release: JournalRecord = {
      kind: 'release',
      runId: this.runId,
      gen: this.gen,
      status,
      at,
      seenEnds: [...seen, ...copied.map((id) => this.endKey(id))],
    };
    if (this.lease === 'held') {
      const written = await this.deps.engineStore.append([...records, release]);
      if (written.slice(0, -1).some((ok) => !ok)) {
        this.deps.logger.warn({ runId: this.runId, gen: this.gen }, 'a pass found some of its records written already');
      }
      await this.copyCallLogs(copied);
      return true;
    }
    const lease: JournalRecord = {
      kind: 'lease',
      runId: this.runId,
      gen: this.gen,
      owner: this.owner,
      until: new Date(at.getTime() + this.deps.settings.leaseMs),
    };
    const written = await this.deps.engineStore.append([lease, ...records, release], { ordered: true });
    if (!written[0]) return false;
    if (written.some((ok) => !ok)) {
      // A record of an older pass that outlived its lease stopped the ordered write: the rest go in unordered.
      const rest = [...records, release].filter((_, i) => !written[i + 1]);
      await this.deps.engineStore.append(rest);
    }
    await this.copyCallLogs(copied);
    return true;
  }

  /** A step's end as `seenEnds` names it: a retried step's end of generation k is another end than its first. */
  private endKey(stepId: string): string {
    const retry = this.run.retries?.get(stepId) ?? 0;
    return retry ? `${stepId}#r${retry}` : stepId;
  }

  /** What the run has spent so far (its ends folded in, a retried step's replaced tries included), for its document. */
  usage(): Usage {
    return totalUsage([...this.run.steps.values(), ...(this.run.replaced ?? [])]);
  }

  /** Whether the pass has the unseen ends of agents to copy call logs from (a cancelled run writes only for them). */
  hasUnseenEnds(): boolean {
    const seen = new Set(this.run.lastPass?.seenEnds ?? []);
    return [...this.run.ended].some((id) => !seen.has(this.endKey(id)));
  }

  /**
   * Copies the call logs that new agent ends carry to model_calls and tool_calls: one request per collection for all
   * agents that ended since the last pass, by the pass that won its write (each log has its id: a repeat is a no-op).
   */
  private async copyCallLogs(ended: string[]) {
    const logs = ended.flatMap((id) => {
      const calls = this.run.calls.get(id);
      return calls ? [calls] : [];
    });
    if (logs.length === 0) return;
    await this.deps.engineStore.insertCallLogs({
      modelCalls: logs.flatMap((l) => l.modelCalls),
      toolCalls: logs.flatMap((l) => l.toolCalls),
    });
  }

  /** Enqueues what the written records call for. */
  async afterFlush(): Promise<void> {
    for (const work of this.afterwards.splice(0, this.afterwards.length)) await work();
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
    // Tries the journal lacks: passes that took the lease for this step and died in it.
    const attempt = rec ? rec.attempts + 1 : (this.run.crashes.get(id) ?? 0) + 1;
    return this.track(async () => {
      if (!(await this.takeLease(id))) return LOST;
      const startedAt = rec?.startedAt ?? this.deps.clock.now();
      // No "running" record before the work: a crash repeats the step, which its idempotency key makes safe.
      try {
        const result = await fn({ runId: this.runId, stepId: id, idempotencyKey: stepDocId(this.runId, id), attempt });
        this.deps.failpoints.hit(`after-step:${id}`);
        await this.record(rec, id, 'step', id, {
          status: 'completed',
          result: result ?? null,
          attempts: attempt,
          startedAt,
          finishedAt: this.deps.clock.now(),
        });
        return result;
      } catch (err) {
        // An outage is not the step's failure: the pass stops, writes nothing, and its job is tried again.
        if (isInfrastructureError(err)) throw err;
        const error = errorOf(err, this.deps.clock.now());
        if (attempt >= attempts || err instanceof NonRetryable) {
          await this.record(rec, id, 'step', id, {
            status: 'failed',
            error,
            attempts: attempt,
            startedAt,
            finishedAt: this.deps.clock.now(),
          });
          throw new StepFailedError(id, error.message, error.code);
        }
        const delay = (options.backoffMs ?? 1_000) * 2 ** (attempt - 1);
        const wakeAt = new Date(this.deps.clock.now().getTime() + delay);
        await this.wakeup(id, `retry-${id}-${attempt}`, wakeAt);
        await this.record(rec, id, 'step', id, { status: 'waiting', error, wakeAt, attempts: attempt, startedAt });
        this.deps.logger.warn({ runId: this.runId, stepId: id, attempt, err: error.message }, 'step failed; retrying');
        this.afterwards.push(() => this.deps.queues.enqueuePass(this.runId, `retry-${id}-${attempt}`, delay));
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
    if (rec && this.run.rerun?.has(id)) return this.dispatchAgain(rec);
    if (rec) return this.suspend(true);
    if (!this.deps.agents.has(agent.name)) throw new Error(`agent ${agent.name} is not registered with the engine`);
    const parsed = agent.input.safeParse(input);
    if (!parsed.success) throw new Error(`input for agent ${agent.name} is invalid: ${z.prettifyError(parsed.error)}`);
    return this.track<O>(async () => {
      const doc = this.newStep(id, 'agent', agent.name, { status: 'queued', input: parsed.data });
      this.pending.push({ kind: 'step', doc });
      this.afterwards.push(() =>
        this.deps.queues.enqueueAgent(this.runId, id, {
          attempts: this.deps.settings.agentAttempts,
          dispatch: { name: agent.name, input: parsed.data, seq: doc.seq, workflow: this.workflowName },
        }),
      );
      return BUSY;
    });
  }

  /**
   * A person retried this agent step: the pass holding the lease marks the step as dispatched in the new generation
   * (so later passes wait for it instead of dispatching it again), then queues a job of that generation, whose end
   * is recorded apart from the failed one's. Same input as first dispatched: the journal's, not a new replay's.
   */
  private dispatchAgain<O>(rec: StepDoc): Promise<O> {
    const retry = rec.retry ?? 0;
    return this.track<O>(async () => {
      if (!(await this.takeLease())) return LOST;
      await this.deps.engineStore.updateStep(this.runId, rec.stepId, {
        status: 'queued',
        attempts: 0,
        retry,
        error: null,
        result: null,
        startedAt: null,
        finishedAt: null,
      });
      this.afterwards.push(() =>
        this.deps.queues.enqueueAgent(this.runId, rec.stepId, {
          attempts: this.deps.settings.agentAttempts,
          dispatch: dispatchOfStep(rec, this.workflowName),
          retry,
        }),
      );
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
          this.checkpoints.get(rec.checkpointId) ?? (await this.deps.engineStore.getCheckpoint(rec.checkpointId));
        if (cp?.decision && (cp.status === 'approved' || cp.status === 'rejected')) {
          // Agreement is recorded here, on resume, not in decide(): this is the one path every decision takes
          // (person, timeout, any channel) that is also retried until it succeeds: the step is completed only after
          // the record exists, and the reconciler re-runs a pass for any decided checkpoint whose step still waits.
          // The insert is unique on the checkpoint id, so a replay after a crash here writes nothing twice.
          const agreement = agreementOfCheckpoint(cp, this.deps.clock.now(), this.journal.values());
          if (agreement) await recordAgreement(this.deps.store, agreement);
          this.deps.failpoints.hit(`after-agreement:${id}`);
          const result = {
            ...cp.decision,
            values: { ...cp.values, ...cp.decision.edits },
            approvals: approvedBy(cp),
          };
          this.pending.push({
            kind: 'end',
            runId: this.runId,
            stepId: id,
            end: { status: 'completed', result, finishedAt: this.deps.clock.now() },
          });
          return checkpointResult(spec, result);
        }
        if (cp?.status === 'cancelled') throw new StepFailedError(id, 'checkpoint was cancelled', 'cancelled');
        return IDLE;
      }
      const built = buildCheckpointDoc(
        this.header(),
        id,
        spec,
        this.deps.settings.approverEmails,
        this.deps.clock.now(),
      );
      // Active delegates of the approvers are told too; whether they may decide is checked when they do.
      const doc = await withDelegates(this.deps, built);
      await this.deps.engineStore.insertCheckpoint(doc);
      this.pending.push({
        kind: 'step',
        doc: this.newStep(id, 'checkpoint', id, { status: 'waiting', checkpointId: doc._id, startedAt: doc.createdAt }),
      });
      // Told at once, not after the pass's write: the checkpoint exists, and a notification for a step the journal
      // does not show yet only makes people look sooner.
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
        const boundary = await this.boundaryOf(spec);
        const level = boundary?.level ?? autonomyInForce(this.deps.settings, this.workflowName, spec.cap);
        const checkpoint = spec.checkpoint ?? id;
        const fresh = takeVerdict(level, spec, this.deps.clock.now(), {
          personAsked: this.journal.has(checkpoint),
          ...(boundary ? { boundary } : {}),
        });
        const records = fresh.auto && spec.agreement !== undefined;
        // A verdict that lets a proposal stand stays `running` until its agreement record exists (see below).
        const doc = this.newStep(id, 'autonomy', id, {
          status: records ? 'running' : 'completed',
          input: spec.facts,
          result: fresh,
          ...(records ? {} : { finishedAt: fresh.decidedAt }),
        });
        if (!records) {
          // Written with the pass's other records: a pass that loses its write loses its verdict with it.
          this.pending.push({ kind: 'step', doc });
          return fresh;
        }
        const [inserted] = await this.deps.engineStore.append([{ kind: 'step', doc }]);
        if (inserted) {
          verdict = fresh;
        } else {
          // Another pass recorded it first (only possible after a lease expiry); its verdict wins.
          const existing = (await this.deps.engineStore.loadJournal(this.runId)).steps.get(id);
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
          policyAgreement(
            this.header(),
            spec.checkpoint ?? id,
            spec.agreement,
            verdict,
            this.deps.clock.now(),
            this.journal.values(),
          ),
        );
      }
      this.pending.push({
        kind: 'end',
        runId: this.runId,
        stepId: id,
        end: { status: 'completed', result: verdict, finishedAt: this.deps.clock.now() },
      });
      return verdict;
    });
  }

  /**
   * The autonomy boundary's say on this case: its slice, and the level of the most specific override. The grants in
   * force are one indexed read, made only for a fresh verdict that names its proposal and only when the ceiling
   * (AUTONOMY, the run's cap) leaves room above `manual`: below that no grant could change the level.
   */
  private async boundaryOf<F>(spec: AutonomySpec<F>): Promise<VerdictBoundary | null> {
    const settings = this.deps.settings;
    const slice = sliceOfSpec(settings, spec as AutonomySpec<unknown>);
    if (!slice) return null;
    const roomAbove = ceilingOf(settings, spec.cap) !== 'manual';
    const grants = roomAbove ? await activeGrants(this.deps.store, this.workflowName) : null;
    return boundaryForCase(settings, this.workflowName, slice, grants, spec.cap);
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
          if (!(await this.takeLease())) return LOST;
          await this.deps.engineStore.updateStep(this.runId, id, {
            status: 'completed',
            result: null,
            finishedAt: now,
            wakeAt: null,
          });
          return;
        }
        return IDLE;
      }
      const wakeAt = new Date(now.getTime() + ms);
      await this.wakeup(id, `wake-${id}`, wakeAt);
      this.pending.push({
        kind: 'step',
        doc: this.newStep(id, 'sleep', id, { status: 'waiting', wakeAt, startedAt: now }),
      });
      this.afterwards.push(() => this.deps.queues.enqueuePass(this.runId, `wake-${id}`, ms));
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
      if (wakeAt) await this.wakeup(id, `wake-${id}`, wakeAt);
      // Written before looking for an early event, not with the pass's records: a sender either finds this wait or
      // stored its event before the look below.
      await this.deps.engineStore.append([
        {
          kind: 'step',
          doc: this.newStep(id, 'event', id, {
            status: 'waiting',
            event: { name: spec.name, key: spec.key },
            startedAt: now,
            ...(wakeAt ? { wakeAt } : {}),
          }),
        },
      ]);
      // An event sent before this wait began still counts, unless an earlier wait of this run took it.
      const taken = [...this.journal.values()]
        .map((s) => (s.kind === 'event' ? (s.result as { eventId?: string } | null)?.eventId : undefined))
        .filter((e): e is string => Boolean(e))
        .concat([...this.takenEvents]);
      const early = await this.deps.engineStore.firstEvent(spec.name, spec.key, this.createdAt, taken);
      if (early) {
        const done = await this.completeWait(id, { eventId: early._id, payload: early.payload });
        return (done?.payload ?? null) as T | null;
      }
      if (spec.timeoutMs !== undefined) {
        const timeoutMs = spec.timeoutMs;
        this.afterwards.push(() => this.deps.queues.enqueuePass(this.runId, `wake-${id}`, timeoutMs));
      }
      return IDLE;
    });
  }

  /** Completes a wait once (its end is a unique insert); if sendEvent completed it first, its payload wins. */
  private async completeWait(stepId: string, result: { eventId: string; payload: unknown } | null) {
    const now = this.deps.clock.now();
    const end: StepEnd = { status: 'completed', result, finishedAt: now };
    const [mine] = await this.deps.engineStore.append([{ kind: 'end', runId: this.runId, stepId, end }]);
    const taken = (mine ? result : (await this.deps.engineStore.stepEnd(this.runId, stepId))?.result) as {
      eventId: string;
      payload: unknown;
    } | null;
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
      // At once, not with the pass's records: the value may reach the outside world before the pass ends.
      const doc = this.newStep(stepId, kind, stepId, { status: 'completed', result: value });
      const [inserted] = await this.deps.engineStore.append([{ kind: 'step', doc }]);
      if (inserted) return value;
      // Another pass recorded it first (only possible after a lease expiry); its value wins.
      return (await this.deps.engineStore.loadJournal(this.runId)).steps.get(stepId)?.result as string;
    });
  }

  private claim(id: string) {
    if (!/^[A-Za-z0-9_.:-]{1,120}$/.test(id)) throw new Error(`step id "${id}" must be 1-120 of A-Z a-z 0-9 _ . : -`);
    if (this.used.has(id)) throw new Error(`step id "${id}" is used twice in workflow ${this.workflowName}`);
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
    if (result === BUSY || result === LOST) return this.suspend<T>(true);
    if (result === IDLE) return this.suspend<T>(false);
    return result as T;
  }

  /** setImmediate runs after the microtask queue drains, so every ctx call the workflow could make has been made. */
  private checkIdle() {
    setImmediate(() => {
      if (this.inflight === 0 && this.suspensions > 0) this.idle?.();
    });
  }

  /**
   * A step timer, recorded before the step that sets it: should the delayed job be lost with Redis, the reconciler
   * finds it here. A pass that loses its write leaves one for a step that does not wait; the reconciler drops those.
   */
  private wakeup(stepId: string, tag: string, wakeAt: Date) {
    return this.deps.engineStore.setWakeup({ runId: this.runId, stepId, tag, wakeAt });
  }

  private header() {
    return { _id: this.runId, workflow: this.workflowName };
  }

  private newStep(stepId: string, kind: StepKind, name: string, fields: Partial<StepDoc>): StepDoc {
    const now = this.deps.clock.now();
    return {
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
  }

  /**
   * Records an inline step's outcome: a new step joins the pass's batched write; a step already in the journal
   * (a retry) is updated by this pass, which holds the run's lease, clearing its wake-up time.
   */
  private async record(
    rec: StepDoc | undefined,
    stepId: string,
    kind: StepKind,
    name: string,
    fields: Partial<StepDoc>,
  ) {
    if (!rec) {
      this.pending.push({ kind: 'step', doc: this.newStep(stepId, kind, name, fields) });
      return;
    }
    // A retried step's first outcome in its new generation replaces what the failed run left on the step.
    const anew = this.run.rerun?.has(stepId)
      ? { error: null, result: null, finishedAt: null, retry: rec.retry ?? 0 }
      : {};
    await this.deps.engineStore.updateStep(this.runId, stepId, { wakeAt: null, ...anew, ...fields });
  }
}
