import { randomUUID } from 'node:crypto';
import { claim } from '../store/claims.js';
import type { StepDoc } from '../store/models.js';
import type { EngineDeps } from './deps.js';

/**
 * Stores the event first, then completes every waiting step for it. A wait that starts in between finds the
 * stored event itself (context.ts), and both sides complete a step only while it is `waiting`, so each wait
 * resolves once (both claim the step's end first).
 */
export async function sendEvent(
  deps: EngineDeps,
  event: { name: string; key: string; payload: unknown },
): Promise<{ delivered: number }> {
  const now = deps.clock.now();
  const eventId = `evt_${randomUUID()}`;
  await deps.store.events.create({
    _id: eventId,
    name: event.name,
    key: event.key,
    payload: event.payload,
    createdAt: now,
  });
  const waiting = await deps.store.steps
    .find({ kind: 'event', status: 'waiting', 'event.name': event.name, 'event.key': event.key })
    .lean<StepDoc[]>();
  let delivered = 0;
  for (const step of waiting) {
    if (await claim(deps.store, `step-end:${step._id}`, undefined, now)) {
      await deps.store.steps.updateOne(
        { _id: step._id },
        { $set: { status: 'completed', result: { eventId, payload: event.payload }, finishedAt: now, updatedAt: now } },
      );
      delivered++;
      await deps.queues.enqueuePass(step.runId, `event-${step.stepId}`);
    }
  }
  deps.logger.info({ event: event.name, delivered }, 'event sent');
  return { delivered };
}
