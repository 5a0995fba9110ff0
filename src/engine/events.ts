import { randomUUID } from 'node:crypto';
import { claim } from '../store/claims.js';
import type { StepDoc } from '../store/models.js';
import type { EngineDeps } from './deps.js';

async function tookThisEvent(deps: EngineDeps, stepDocId: string, eventId: string): Promise<boolean> {
  // The claimer writes the result right after claiming; give it a moment before reading.
  for (let i = 0; i < 20; i++) {
    const step = await deps.store.steps.findById(stepDocId).lean<StepDoc>();
    if (step?.status === 'completed') return (step.result as { eventId?: string } | null)?.eventId === eventId;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/**
 * Stores the event first, then completes every waiting step for it. A wait that starts in between finds the
 * stored event itself (context.ts), and both sides complete a step only while it is `waiting`, so each wait
 * resolves once (both claim the step's end first).
 */
export async function sendEvent(
  deps: EngineDeps,
  event: { name: string; key: string; payload: unknown },
): Promise<{ delivered: number }> {
  // `delivered` counts the waits that received this event, whichever side completed them.
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
    } else if (await tookThisEvent(deps, step._id, eventId)) {
      delivered++; // the waiting pass found the stored event first and took it itself
    }
  }
  deps.logger.info({ event: event.name, delivered }, 'event sent');
  return { delivered };
}
