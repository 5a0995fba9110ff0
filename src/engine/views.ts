import type { AuditDoc, CheckpointDoc, RunDoc, RunStatus, StepDoc } from '../store/models.js';
import type { EngineDeps } from './deps.js';
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
    status: run.status,
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
  const run = await deps.store.runs.findById(runId).lean<RunDoc>();
  if (!run) return null;
  const [steps, checkpoints, audit] = await Promise.all([
    deps.store.steps.find({ runId }).lean<StepDoc[]>(),
    deps.store.checkpoints.find({ runId }).lean<CheckpointDoc[]>(),
    deps.store.audit.find({ runId }).sort({ at: 1 }).lean<AuditDoc[]>(),
  ]);
  return view(run, steps, checkpoints, audit);
}

export async function listRunViews(
  deps: EngineDeps,
  filter: { status?: RunStatus; workflow?: string; limit?: number },
): Promise<RunView[]> {
  const query: Record<string, string> = {};
  if (filter.status) query.status = filter.status;
  if (filter.workflow) query.workflow = filter.workflow;
  const runs = await deps.store.runs
    .find(query)
    .sort({ createdAt: -1 })
    .limit(Math.min(filter.limit ?? 50, 200))
    .lean<RunDoc[]>();
  const ids = runs.map((r) => r._id);
  const [steps, checkpoints, audit] = await Promise.all([
    deps.store.steps.find({ runId: { $in: ids } }).lean<StepDoc[]>(),
    deps.store.checkpoints.find({ runId: { $in: ids } }).lean<CheckpointDoc[]>(),
    deps.store.audit
      .find({ runId: { $in: ids } })
      .sort({ at: 1 })
      .lean<AuditDoc[]>(),
  ]);
  return runs.map((r) =>
    view(
      r,
      steps.filter((s) => s.runId === r._id),
      checkpoints.filter((c) => c.runId === r._id),
      audit.filter((a) => a.runId === r._id),
    ),
  );
}
