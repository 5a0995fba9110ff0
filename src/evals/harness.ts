import { randomUUID } from 'node:crypto';
import { type BufferedModelCall, bufferedCallLog } from '../agents/call-log.js';
import type { Agent, AgentRunner } from '../agents/define.js';
import { agentVersion } from '../agents/version.js';
import type { AutonomySpec, AutonomyVerdict } from '../engine/autonomy.js';
import type { CheckpointSpec, Workflow, WorkflowContext } from '../engine/workflow.js';
import { Retryable } from '../errors.js';
import type { AgentCallSummary, ProposalCapture } from './types.js';

/**
 * Why a case ended before or at its decision point. `decision` is the normal end: the workflow reached the
 * checkpoint where a person would decide. The others are refusals: the workflow wanted to do something an eval
 * never does (a step with a side effect, a wait).
 */
class EvalStop extends Error {
  constructor(
    readonly reason: 'decision' | 'side-effect' | 'wait',
    message: string,
    readonly capture?: ProposalCapture,
  ) {
    super(message);
    this.name = 'EvalStop';
  }
}

export interface HarnessDeps {
  runner: AgentRunner;
  now(): Date;
}

/** What running one case's workflow up to its decision point produced. */
export interface HarnessOutcome {
  capture: ProposalCapture | null;
  error: string | null;
  agents: AgentCallSummary[];
  /** Agent steps' outputs by step id: what the decision point was built from. */
  evidence: Record<string, unknown>;
  /** Set when the error may pass if tried again later (a model server's 429 or 5xx after the runtime's retries). */
  retryAfterMs?: number;
}

/** The agreement spec as the engine reads it, with the slice facts the autonomy boundary adds. */
type AgreementLike = { field?: string; proposed?: unknown; confidence?: number | null; amount?: number | null };

const finite = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/**
 * Runs a workflow function as the engine would, up to the point where a person would decide, and catches the
 * proposal there. Agents run for real (the model the eval names, with tools that only read); `ctx.autonomy` is taken
 * at `shadow`, so nothing stands alone; a step that is not `pure`, a sleep or a wait ends the case before it, so an
 * eval never sends an email, pays a refund or posts to Slack. Nothing is written to the store: model and tool calls
 * are kept in memory for the case's cost and latency.
 */
export async function proposeFor(
  deps: HarnessDeps,
  workflow: Workflow<unknown, unknown>,
  caseId: string,
  rawInput: unknown,
): Promise<HarnessOutcome> {
  const runId = `eval:${caseId}:${randomUUID().slice(0, 8)}`;
  const agents: AgentCallSummary[] = [];
  const evidence: Record<string, unknown> = {};
  let autonomy: { wouldAutoDecide: boolean; agreement?: AgreementLike } | null = null;
  const inflight: Promise<unknown>[] = [];

  const parsed = workflow.input.safeParse(rawInput);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
    return { capture: null, error: `the workflow refuses this input: ${issues}`, agents, evidence };
  }

  const capture = <E extends Record<string, unknown>>(id: string, spec: CheckpointSpec<E>): ProposalCapture => {
    const agreement: AgreementLike | undefined = spec.agreement;
    const field = agreement?.field ?? null;
    const values = spec.values as Record<string, unknown>;
    const prefilled = field === null ? values : values[field];
    const proposed = agreement && 'proposed' in agreement ? agreement.proposed : prefilled;
    return {
      outcome: typeof spec.proposal.outcome === 'string' ? spec.proposal.outcome : null,
      proposed: proposed ?? null,
      field,
      values,
      confidence: finite(agreement?.confidence) ?? finite(spec.proposal.confidence),
      amount: finite(agreement?.amount) ?? finite(autonomy?.agreement?.amount),
      rationale: spec.proposal.rationale ?? null,
      wouldAutoDecide: autonomy?.wouldAutoDecide ?? null,
      checkpoint: id,
    };
  };

  const ctx: WorkflowContext = {
    runId,
    async step(id, fn, options) {
      if (!options?.pure)
        throw new EvalStop('side-effect', `the workflow reached step "${id}" (not pure) before its decision point`);
      return fn({ runId, stepId: id, idempotencyKey: `${runId}:${id}`, attempt: 1 });
    },
    async agent<I, O>(agent: Agent<I, O>, input: I, options?: { id?: string }): Promise<O> {
      const stepId = options?.id ?? agent.name;
      const log = bufferedCallLog();
      const call = deps.runner.run(agent, input, { runId, stepId, workflow: workflow.name, log }).finally(() => {
        agents.push(summarize(agent as Agent<unknown, unknown>, log.modelCalls()));
      });
      inflight.push(call);
      const { output } = await call;
      evidence[stepId] = output;
      return output;
    },
    async checkpoint(id, spec) {
      throw new EvalStop('decision', 'decision point', capture(id, spec));
    },
    async approval(id, spec) {
      throw new EvalStop('decision', 'decision point', capture(id, spec));
    },
    async autonomy<F>(_id: string, spec: AutonomySpec<F>): Promise<AutonomyVerdict> {
      // `shadow`: the rule says what it would allow (kept for the boundary), and nothing stands.
      const ruling = spec.rule(spec.facts, 'shadow');
      autonomy = {
        wouldAutoDecide: ruling.wouldAutoDecide,
        ...(spec.agreement ? { agreement: spec.agreement as AgreementLike } : {}),
      };
      return {
        level: 'shadow',
        auto: false,
        wouldAutoDecide: ruling.wouldAutoDecide,
        reason: ruling.reason,
        decidedAt: deps.now(),
      };
    },
    async sleep(id) {
      throw new EvalStop('wait', `the workflow sleeps ("${id}") before its decision point`);
    },
    async waitForEvent(id) {
      throw new EvalStop('wait', `the workflow waits for an event ("${id}") before its decision point`);
    },
    async now() {
      return deps.now();
    },
    async id() {
      return randomUUID();
    },
  };

  try {
    await workflow.run(ctx, parsed.data);
    return { capture: null, error: 'the workflow ended without reaching a decision point', agents, evidence };
  } catch (err) {
    // A specialist that failed leaves its siblings running: the case ends when they do, so their cost is counted and
    // a retry of the case never overlaps them.
    await Promise.allSettled(inflight);
    if (err instanceof EvalStop && err.capture) return { capture: err.capture, error: null, agents, evidence };
    const error = err instanceof Error ? err.message : String(err);
    if (err instanceof Retryable)
      return { capture: null, error, agents, evidence, retryAfterMs: err.retryAfterMs ?? 0 };
    return { capture: null, error, agents, evidence };
  }
}

/** One agent's model calls on one case, summed. */
export function summarize(agent: Agent<unknown, unknown>, calls: readonly BufferedModelCall[]): AgentCallSummary {
  const first = calls[0];
  return {
    agent: agent.name,
    version: agentVersion(agent, first?.model),
    model: first?.model ?? agent.model ?? '',
    provider: first?.provider ?? 'default',
    calls: calls.length,
    inputTokens: calls.reduce((s, c) => s + c.inputTokens, 0),
    outputTokens: calls.reduce((s, c) => s + c.outputTokens, 0),
    cachedTokens: calls.reduce((s, c) => s + c.cachedTokens, 0),
    costUsd: calls.reduce((s, c) => s + c.costUsd, 0),
    latencyMs: calls.reduce((s, c) => s + c.latencyMs, 0),
  };
}
