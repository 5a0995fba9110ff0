import { z } from 'zod';
import {
  type AuditDoc,
  type CheckpointDoc,
  type RunDoc,
  type RunStatus,
  type StepDoc,
  totalUsage,
} from '../store/models.js';
import type { EngineDeps } from './deps.js';
import { agentJobId } from './ids.js';
import type { CallLogs, ReplacedEnd } from './store-port.js';
import type { ModelCallView, RunDetailView, RunView, ToolCallView } from './types.js';

function view(
  run: RunDoc,
  steps: StepDoc[],
  checkpoints: CheckpointDoc[],
  audit: AuditDoc[],
  replaced: readonly ReplacedEnd[] = [],
): RunView {
  const visible = steps.filter((s) => s.kind !== 'now' && s.kind !== 'id').sort((a, b) => a.seq - b.seq);
  // What retried steps' replaced tries spent counts: it was spent.
  const usage = totalUsage([...steps, ...replaced]);
  return {
    id: run._id,
    workflow: run.workflow,
    // A run's first pass leaves the document `queued` while its agents work (one write saved): its journal says more.
    status: run.status === 'queued' && steps.length > 0 ? 'running' : run.status,
    input: run.input,
    output: run.output ?? null,
    error: run.error?.message ? { message: run.error.message, code: run.error.code } : null,
    steps: visible.map((s) => ({
      id: s.stepId,
      name: s.name,
      kind: s.kind,
      status: s.status,
      attempts: s.attempts,
      startedAt: s.startedAt ?? null,
      finishedAt: s.finishedAt ?? null,
      usage: s.usage,
      error: s.error?.message ? { message: s.error.message, code: s.error.code } : null,
      ...(s.kind === 'agent' && s.agentVersion ? { agentVersion: s.agentVersion } : {}),
      // Filled by the journal's fold from retry claims (engine-actions helper, run-actions.ts).
      ...(s.retries?.length ? { retries: s.retries } : {}),
    })),
    checkpoints: checkpoints.map((c) => ({
      id: c._id,
      name: c.name,
      status: c.status,
      decision: c.decision ?? null,
      approvals: c.approvals ?? [],
      audit: [
        ...(c.audit ?? []),
        ...audit
          .filter((a) => a.checkpointId === c._id)
          .map((a) => ({
            at: a.at,
            actor: a.actor,
            channel: a.channel,
            outcome: a.outcome,
            ...(a.detail ? { detail: a.detail } : {}),
          })),
      ],
    })),
    usage,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
  };
}

export async function getRunView(deps: EngineDeps, runId: string): Promise<RunView | null> {
  const read = await readRun(deps, runId);
  return read && view(read.run, read.steps, read.checkpoints, read.audit, read.journal?.replaced);
}

/** One run's documents in one round of reads: the run, then its journal, checkpoints and audit together. */
async function readRun(deps: EngineDeps, runId: string, withCancel = false) {
  const run = await deps.engineStore.getRun(runId);
  if (!run) return null;
  const [journals, checkpoints, audit] = await Promise.all([
    deps.engineStore.loadJournals([runId]),
    deps.engineStore.checkpointsOf([runId]),
    deps.engineStore.auditOf([runId]),
  ]);
  const journal = journals.get(runId);
  const steps = await withAgentsAtWork(deps, [...(journal?.steps.values() ?? [])]);
  // The journal's fold carries the cancellation; asked apart only where a fold lacks it (and only of a cancelled run).
  const cancel =
    journal?.cancelled ?? (withCancel && run.status === 'cancelled' ? await claimedCancellation(deps, runId) : null);
  return { run, journal, steps, checkpoints, audit, cancel };
}

const cancelIntent = z.object({ actor: z.string(), reason: z.string().optional() });

async function claimedCancellation(deps: EngineDeps, runId: string) {
  const claim = await deps.engineStore.journalClaim(runId, 'cancel');
  const intent = cancelIntent.safeParse(claim?.intent);
  return claim && intent.success ? { ...intent.data, at: claim.at } : null;
}

/**
 * An agent step's journal says `queued` until it ends (the worker writes nothing before then, to save a request);
 * whether it is at work right now is BullMQ's to say, so a single run's view asks.
 */
async function withAgentsAtWork(deps: EngineDeps, steps: StepDoc[]): Promise<StepDoc[]> {
  return Promise.all(
    steps.map(async (s) => {
      if (s.kind !== 'agent' || s.status !== 'queued') return s;
      const job = await deps.queues.agents.getJob(agentJobId(s.runId, s.stepId, s.retry));
      if (!job || (await job.getState()) !== 'active') return s;
      return { ...s, status: 'running' as const, attempts: Math.max(s.attempts, job.attemptsMade + 1) };
    }),
  );
}

export async function listRunViews(
  deps: EngineDeps,
  filter: { status?: RunStatus; workflow?: string; limit?: number },
): Promise<RunView[]> {
  // `running` includes runs whose document still says `queued` (see view); the views then say which they are.
  const statuses: RunStatus[] | undefined =
    filter.status === 'running' ? ['queued', 'running'] : filter.status ? [filter.status] : undefined;
  const runs = await deps.engineStore.findRuns({
    ...(statuses ? { statuses } : {}),
    ...(filter.workflow ? { workflow: filter.workflow } : {}),
    limit: Math.min(filter.limit ?? 50, 200),
  });
  const ids = runs.map((r) => r._id);
  const [journals, checkpoints, audit] = await Promise.all([
    deps.engineStore.loadJournals(ids),
    deps.engineStore.checkpointsOf(ids),
    deps.engineStore.auditOf(ids),
  ]);
  const views = runs.map((r) =>
    view(
      r,
      [...(journals.get(r._id)?.steps.values() ?? [])],
      checkpoints.filter((c) => c.runId === r._id),
      audit.filter((a) => a.runId === r._id),
      journals.get(r._id)?.replaced,
    ),
  );
  return filter.status ? views.filter((v) => v.status === filter.status) : views;
}

/**
 * `getRunView` plus what a person auditing the run reads (the console's run detail), from the same reads: the call
 * logs ride on the journal's step ends (Journal.calls), results on its steps, the source on the run document, and
 * who cancelled on the run's `cancel` journal claim (src/engine/run-actions.ts).
 */
export async function getRunDetail(deps: EngineDeps, runId: string): Promise<RunDetailView | null> {
  const read = await readRun(deps, runId, true);
  if (!read) return null;
  const base = view(read.run, read.steps, read.checkpoints, read.audit, read.journal?.replaced);
  const modelCalls: ModelCallView[] = [];
  const toolCalls: ToolCallView[] = [];
  const logged: { stepId: string; logs: CallLogs; replacedTry?: number }[] = [
    ...[...(read.journal?.calls ?? [])].map(([stepId, logs]) => ({ stepId, logs })),
    ...(read.journal?.replaced ?? []).flatMap((r) =>
      r.calls ? [{ stepId: r.stepId, logs: r.calls, replacedTry: r.retry }] : [],
    ),
  ];
  for (const { stepId, logs, replacedTry } of logged) {
    const replaced = replacedTry === undefined ? {} : { replacedTry };
    for (const m of logs.modelCalls ?? [])
      modelCalls.push({
        stepId,
        agent: m.agent,
        model: m.model,
        ...(m.provider ? { provider: m.provider } : {}),
        turn: m.turn,
        status: m.status,
        ...(m.error ? { error: m.error } : {}),
        inputTokens: m.inputTokens ?? 0,
        outputTokens: m.outputTokens ?? 0,
        cachedTokens: m.cachedTokens ?? 0,
        costUsd: m.costUsd ?? 0,
        latencyMs: m.latencyMs ?? 0,
        at: new Date(m.at),
        ...replaced,
      });
    for (const c of logs.toolCalls ?? [])
      toolCalls.push({
        stepId,
        agent: c.agent,
        tool: c.tool,
        arguments: c.arguments,
        outcome: c.outcome,
        ...(c.detail ? { detail: c.detail } : {}),
        durationMs: c.durationMs ?? 0,
        at: new Date(c.at),
        ...replaced,
      });
  }
  const byTime = (a: { at: Date }, b: { at: Date }) => a.at.getTime() - b.at.getTime();
  const results: Record<string, unknown> = {};
  for (const s of read.steps) {
    if (s.kind !== 'now' && s.kind !== 'id' && s.result !== undefined) results[s.stepId] = s.result;
  }
  return {
    ...base,
    source: read.run.source?.channel
      ? { channel: read.run.source.channel, ...(read.run.source.key ? { key: read.run.source.key } : {}) }
      : null,
    modelCalls: modelCalls.sort(byTime),
    toolCalls: toolCalls.sort(byTime),
    results,
    cancelled: read.cancel
      ? { actor: read.cancel.actor, at: read.cancel.at, ...(read.cancel.reason ? { reason: read.cancel.reason } : {}) }
      : null,
  };
}
