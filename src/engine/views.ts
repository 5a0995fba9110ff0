import type { AuditDoc, CheckpointDoc, RunDoc, RunStatus, StepDoc } from '../store/models.js';
import type { EngineDeps } from './deps.js';
import { jobId } from './ids.js';
import type { RunView } from './types.js';

function view(run: RunDoc, steps: StepDoc[], checkpoints: CheckpointDoc[], audit: AuditDoc[]): RunView {
  const visible = steps.filter((s) => s.kind !== 'now' && s.kind !== 'id').sort((a, b) => a.seq - b.seq);
  const usage = { inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: 0 };
  for (const s of steps) {
    usage.inputTokens += s.usage?.inputTokens ?? 0;
    usage.outputTokens += s.usage?.outputTokens ?? 0;
    usage.cachedTokens += s.usage?.cachedTokens ?? 0;
    usage.costUsd += s.usage?.costUsd ?? 0;
  }
  usage.costUsd = Math.round(usage.costUsd * 1e6) / 1e6;
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
  const run = await deps.engineStore.getRun(runId);
  if (!run) return null;
  const [journals, checkpoints, audit] = await Promise.all([
    deps.engineStore.loadJournals([runId]),
    deps.engineStore.checkpointsOf([runId]),
    deps.engineStore.auditOf([runId]),
  ]);
  return view(run, await withAgentsAtWork(deps, [...(journals.get(runId)?.steps.values() ?? [])]), checkpoints, audit);
}

/**
 * An agent step's journal says `queued` until it ends (the worker writes nothing before then, to save a request);
 * whether it is at work right now is BullMQ's to say, so a single run's view asks.
 */
async function withAgentsAtWork(deps: EngineDeps, steps: StepDoc[]): Promise<StepDoc[]> {
  return Promise.all(
    steps.map(async (s) => {
      if (s.kind !== 'agent' || s.status !== 'queued') return s;
      const job = await deps.queues.agents.getJob(jobId(s.runId, s.stepId));
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
    ),
  );
  return filter.status ? views.filter((v) => v.status === filter.status) : views;
}
