import type { z } from 'zod';
import type { Agent } from '../agents/define.js';
import type { Approvers, CheckpointDoc, Decision, TimeoutAction } from '../store/models.js';

export interface StepInfo {
  runId: string;
  stepId: string;
  /** Stable across retries of this step: give it to anything outside that deduplicates (SMTP Message-ID, payment APIs). */
  idempotencyKey: string;
  attempt: number;
}

export interface StepOptions {
  /** Attempts before the step fails the run (default 3). */
  attempts?: number;
  /** First retry delay; doubles each attempt (default 1 s). */
  backoffMs?: number;
}

export interface CheckpointSpec<E extends Record<string, unknown>> {
  title: string;
  summary: string;
  evidence: CheckpointDoc['evidence'];
  proposal: CheckpointDoc['proposal'];
  /** The part a person may change; drives API validation, the approval page's form, Slack modals. */
  editable: z.ZodType<E>;
  values: E;
  /** Who may decide. Default: APPROVER_EMAILS (and, with Slack, members of SLACK_APPROVALS_CHANNEL). */
  approvers?: Partial<Approvers>;
  /** How many approvals it takes (default `any`: the first). Any authorised reject decides at once. */
  quorum?: { mode: 'any' } | { mode: 'all' } | { mode: 'count'; required: number };
  /** Nudges to approvers while nobody decides. */
  reminders?: { everyMs: number; max: number };
  /** What happens when nobody decides in time; taken exactly once. */
  timeout?: { afterMs: number; action: TimeoutAction; escalateTo?: Partial<Approvers> };
}

export interface CheckpointResult<E> {
  decision: 'approve' | 'reject';
  /** The values after edits (the proposal when nothing was edited). */
  values: E;
  edits: Partial<E>;
  diff: Decision['diff'];
  actor: string;
  channel: Decision['channel'];
  comment?: string;
  decidedAt: Date;
}

/** What a workflow function may do. Every call is a journaled step with an explicit, stable id. */
export interface WorkflowContext {
  readonly runId: string;
  /**
   * Runs `fn` once and journals its result; on replay returns the journaled result without running it.
   * Failures retry with backoff; when attempts run out the error is thrown into the workflow.
   *
   * @example
   * await ctx.step('send-reply', ({ idempotencyKey }) => mailer.send({ ...mail, idempotencyKey }));
   */
  step<T>(id: string, fn: (info: StepInfo) => Promise<T>, options?: StepOptions): Promise<T>;
  /**
   * Runs an agent as its own job on the `agents` queue, so several agents of one run work in parallel
   * (`Promise.all`) on any worker. The step id defaults to the agent's name.
   *
   * @example
   * const [a, b] = await Promise.all([ctx.agent(evidence, input), ctx.agent(risk, input)]);
   */
  agent<I, O>(agent: Agent<I, O>, input: I, options?: { id?: string }): Promise<O>;
  /**
   * Pauses the run until a person decides. The run holds no memory while it waits: the pass ends and the
   * decision enqueues the next one.
   *
   * @example
   * const review = await ctx.checkpoint('review', { title, summary, evidence, proposal, editable, values });
   */
  checkpoint<E extends Record<string, unknown>>(id: string, spec: CheckpointSpec<E>): Promise<CheckpointResult<E>>;
  /** Durable timer: a delayed job, restored by the reconciler if Redis loses it. */
  sleep(id: string, ms: number): Promise<void>;
  /**
   * Waits for an event sent with `engine.sendEvent({ name, key, payload })` (a customer's reply in a thread, a
   * callback). Resolves with the payload, or null after `timeoutMs`. An event sent before the wait began counts.
   */
  waitForEvent<T = unknown>(id: string, spec: { name: string; key: string; timeoutMs?: number }): Promise<T | null>;
  /** The time, recorded on first execution so replays see the same value. */
  now(id?: string): Promise<Date>;
  /** A random id, recorded like `now`. */
  id(id?: string): Promise<string>;
}

export interface Workflow<I = unknown, O = unknown> {
  readonly name: string;
  readonly input: z.ZodType<I>;
  run(ctx: WorkflowContext, input: I): Promise<O>;
}

/**
 * A durable workflow. The function is replayed from its journal on every pass: keep it deterministic and put all
 * I/O inside `ctx.step`.
 *
 * @example
 * export const hello = defineWorkflow({
 *   name: 'hello',
 *   input: z.object({ name: z.string() }),
 *   async run(ctx, { name }) {
 *     const ok = await ctx.checkpoint('greet', { ... });
 *     return ctx.step('greet', async () => `hello ${name}`);
 *   },
 * });
 */
export function defineWorkflow<I, O>(workflow: {
  name: string;
  input: z.ZodType<I>;
  run(ctx: WorkflowContext, input: I): Promise<O>;
}): Workflow<I, O> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(workflow.name))
    throw new Error(`workflow name "${workflow.name}" must be kebab-case`);
  return workflow;
}

export type WorkflowRegistry = ReadonlyMap<string, Workflow<unknown, unknown>>;

export function workflowRegistry(...workflows: Workflow<unknown, unknown>[]): WorkflowRegistry {
  const map = new Map<string, Workflow<unknown, unknown>>();
  for (const w of workflows) {
    if (map.has(w.name)) throw new Error(`workflow ${w.name} registered twice`);
    map.set(w.name, w);
  }
  return map;
}
