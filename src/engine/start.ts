import { z } from 'zod';
import { InvalidInput, issuesOf, NotFound } from '../errors.js';
import { type RunDoc, SCHEMA_VERSION, zeroUsage } from '../store/models.js';
import type { EngineDeps } from './deps.js';
import { newRunId } from './ids.js';
import type { StartRunRequest } from './types.js';

/**
 * Creates a run and enqueues its first pass. With an idempotency key the key is claimed first (a unique `_id`),
 * so concurrent deliveries of one event make one run. A crash after the claim leaves a key whose run is created
 * by the next delivery; a crash after the insert leaves a `queued` run that the reconciler enqueues.
 */
export async function startRun(deps: EngineDeps, req: StartRunRequest): Promise<{ runId: string; created: boolean }> {
  const workflow = deps.workflows.get(req.workflow);
  if (!workflow) throw new NotFound(`no workflow named ${req.workflow}`);
  const parsed = workflow.input.safeParse(req.input);
  if (!parsed.success)
    throw new InvalidInput(
      `input for ${req.workflow} is invalid: ${z.prettifyError(parsed.error)}`,
      issuesOf(parsed.error),
    );
  const now = deps.clock.now();
  let runId = newRunId(now);
  if (req.idempotencyKey !== undefined) {
    runId = await deps.engineStore.claimIdempotencyKey(`${req.workflow}:${req.idempotencyKey}`, runId, now);
  }
  const run: RunDoc = {
    _id: runId,
    v: SCHEMA_VERSION,
    workflow: req.workflow,
    status: 'queued',
    input: parsed.data,
    usage: zeroUsage(),
    source: { channel: req.source.channel, ...(req.source.key ? { key: req.source.key } : {}) },
    createdAt: now,
    updatedAt: now,
  };
  // A key claimed by a delivery that died before creating its run gets the run now, from this delivery's input.
  const created = await deps.engineStore.createRun(run);
  // Also for a run that existed: its first pass may be what was lost. The job id makes this one pass.
  await deps.queues.enqueuePass(runId, 'start');
  if (!created) return { runId, created: false };
  deps.metrics.runsStarted.inc({ workflow: req.workflow, channel: req.source.channel });
  deps.logger.info({ runId, workflow: req.workflow, channel: req.source.channel }, 'run started');
  return { runId, created };
}
