import { z } from 'zod';
import { InvalidInput, issuesOf, NotFound } from '../errors.js';
import { type RunDoc, SCHEMA_VERSION, zeroUsage } from '../store/models.js';
import { ignoreDuplicate } from './context.js';
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
  let created = true;
  if (req.idempotencyKey !== undefined) {
    const key = `${req.workflow}:${req.idempotencyKey}`;
    try {
      await deps.store.idempotency.create({ _id: key, runId, createdAt: now });
    } catch (err) {
      ignoreDuplicate(err);
      const existing = await deps.store.idempotency.findById(key).lean();
      if (!existing) throw new Error(`idempotency key ${key} vanished`);
      runId = existing.runId;
      created = false;
    }
  }
  const run: RunDoc = {
    _id: runId,
    v: SCHEMA_VERSION,
    workflow: req.workflow,
    status: 'queued',
    input: parsed.data,
    usage: zeroUsage(),
    passes: 0,
    lease: null,
    source: { channel: req.source.channel, ...(req.source.key ? { key: req.source.key } : {}) },
    createdAt: now,
    updatedAt: now,
  };
  try {
    await deps.store.runs.create(run);
  } catch (err) {
    ignoreDuplicate(err);
    return { runId, created: false };
  }
  await deps.queues.enqueuePass(runId, 'start');
  deps.metrics.runsStarted.inc({ workflow: req.workflow, channel: req.source.channel });
  deps.logger.info({ runId, workflow: req.workflow, channel: req.source.channel }, 'run started');
  return { runId, created };
}
