import { randomUUID } from 'node:crypto';
import type { EngineDeps } from './deps.js';

/**
 * Stores the event first, then ends every wait for it. A wait that starts in between finds the stored event itself
 * (context.ts), and both sides end a wait by inserting its end record, so each wait resolves once, with whichever
 * event got there first.
 */
export async function sendEvent(
  deps: EngineDeps,
  event: { name: string; key: string; payload: unknown },
): Promise<{ delivered: number }> {
  // `delivered` counts the waits that received this event, whichever side completed them.
  const now = deps.clock.now();
  const eventId = `evt_${randomUUID()}`;
  await deps.engineStore.insertEvent({
    _id: eventId,
    name: event.name,
    key: event.key,
    payload: event.payload,
    createdAt: now,
  });
  const waits = await deps.engineStore.eventWaits(event.name, event.key);
  let delivered = 0;
  for (const step of waits) {
    const result = { eventId, payload: event.payload };
    const [mine] = await deps.engineStore.append([
      { kind: 'end', runId: step.runId, stepId: step.stepId, end: { status: 'completed', result, finishedAt: now } },
    ]);
    if (mine) {
      delivered++;
      await deps.queues.enqueuePass(step.runId, `event-${step.stepId}`);
    } else if (
      ((await deps.engineStore.stepEnd(step.runId, step.stepId))?.result as { eventId?: string } | null)?.eventId ===
      eventId
    ) {
      delivered++; // the waiting pass found the stored event first and took it itself
    }
  }
  deps.logger.info({ event: event.name, delivered }, 'event sent');
  return { delivered };
}
