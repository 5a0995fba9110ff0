import type { z } from 'zod';
import type { Agent } from '../agents/define.js';
import type { Approvers, CheckpointDoc, Decision, TimeoutAction } from '../store/models.js';
import type { AutonomySpec, AutonomyVerdict } from './autonomy.js';

export type { AutonomyRule, AutonomyRuling, AutonomySpec, AutonomyVerdict } from './autonomy.js';

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
  /**
   * The step only computes or reads; it changes nothing outside the run. Evals run pure steps on their way to the
   * decision point and stop a case at any other step, so an eval never sends, pays or posts anything.
   */
  pure?: boolean;
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
  /** A reject must carry a comment saying why; refused with InvalidInput on every channel otherwise. */
  requireRejectReason?: boolean;
  /**
   * How the engine measures agreement when this checkpoint is decided (every decided checkpoint gets one record in
   * `agreements`). `field` names the editable field that carries the outcome (`outcome`, `decision`); without it,
   * agreement means approved without edits. `agents` are those whose outputs formed the proposal. `proposed` is the
   * AI's own answer when the prefilled value is only a leaning; null means the AI proposed nothing (not compared).
   * `confidence` (0..1) and `amount` (major units), with the proposal, name the kind of case the autonomy boundary
   * counts the decision under (`countersign autonomy`).
   *
   * @example
   * agreement: { field: 'outcome', agents: ['dispute-manager'], confidence: 0.93, amount: 49 }
   */
  agreement?: {
    field?: string;
    agents?: string[];
    proposed?: unknown;
    confidence?: number | null;
    amount?: number | null;
  };
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
  /** The approver a delegate decided for. */
  onBehalfOf?: string;
  /** Everyone who approved toward the quorum, the final decider included (a rejecter is not listed). */
  approvals?: { actor: string; onBehalfOf?: string; channel: Decision['channel']; at: Date }[];
}

/** One approval stage after policy resolution: who decides and how many of them (src/engine/approval.ts). */
export interface ResolvedStage {
  /** Shown to people ("team lead") and part of the checkpoint id (`expense-team-lead`). */
  name: string;
  approvers: Partial<Approvers>;
  quorum: NonNullable<CheckpointSpec<Record<string, unknown>>['quorum']>;
}

export type ApprovalSpec<E extends Record<string, unknown>> = CheckpointSpec<E> & {
  /** In order; none resolved (no policy, or no stage applies) means one checkpoint with the spec's own approvers. */
  stages: ResolvedStage[];
  requireRejectReason?: boolean;
};

export interface ApprovalResult<E> {
  /** `approve` only when every stage approved. */
  decision: 'approve' | 'reject';
  /** The values after the last stage that decided (edits carry forward from stage to stage). */
  values: E;
  stages: (CheckpointResult<E> & { stage: string })[];
  /** The stage that rejected, which ended the approval. */
  rejectedAt?: string;
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
  /**
   * An approval policy: the stages in order, each a checkpoint (`id` alone for one stage, else `id-<stage>`) that
   * starts from the previous stage's values and shows earlier stages' decisions in its evidence. A reject ends it.
   * The stages are journaled (step `<id>.policy`) when the approval begins: a configuration change later does not
   * alter a run that is already waiting.
   *
   * @example
   * const stages = resolveStages(policy.stages, settings.groups, { amount: 250 });
   * const approval = await ctx.approval('approve', { ...spec, stages, requireRejectReason: true });
   */
  approval<E extends Record<string, unknown>>(id: string, spec: ApprovalSpec<E>): Promise<ApprovalResult<E>>;
  /**
   * The autonomy verdict on a proposal, journaled: the level in force is the lowest of the workflow's own level
   * (settings `workflows.<name>.autonomy`), the deployment-wide ceiling (AUTONOMY) and `cap`; the workflow's `rule`
   * (a pure function of facts and level) decides whether the proposal stands. The verdict is recorded on first
   * execution, so a run that waits at a checkpoint keeps waiting when the configuration changes later. Below
   * `assisted` nothing stands, whatever the rule says. When it stands and `agreement` is given, the engine records
   * the decision in `agreements` as decided by `policy`. With `agreement` (its `proposed`, `confidence`, `amount`)
   * the case has a slice: a level set for that slice (the file's `workflows.<name>.slices` or a grant a person applied
   * with `countersign autonomy`) replaces the workflow's own, still under AUTONOMY and `cap`; the verdict's `boundary`
   * says which.
   *
   * @example
   * const verdict = await ctx.autonomy('review-policy', {
   *   facts: { amount: input.amount, confidence: proposal.confidence },
   *   rule: (f, level) => expenseLimits(f, level),
   *   checkpoint: 'review',
   *   agreement: { field: 'decision', agents: ['expense-advisor'], proposed: proposal.decision,
   *     confidence: proposal.confidence, amount: input.amount },
   * });
   * if (!verdict.auto) await ctx.checkpoint('review', { ...view, agreement: { field: 'decision' } });
   */
  autonomy<F>(id: string, spec: AutonomySpec<F>): Promise<AutonomyVerdict>;
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
