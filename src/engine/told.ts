import type { CheckpointDoc } from '../store/models.js';
import type { EngineDeps } from './deps.js';

/** The events whose delivery the reconciler makes sure of: people learn that a checkpoint waits, and how it ended. */
export type ToldEvent = 'created' | 'decided';

/** The journal claim that says a channel told people about an event of a checkpoint. */
export const toldKey = (checkpointId: string, event: ToldEvent, channel: string) =>
  `told:${checkpointId}:${event}:${channel}`;

/**
 * Written after a channel delivered, so the reconciler can tell a notification that was lost (Redis restarted
 * before its job ran, or its job gave up) from one that was sent, without trusting Redis. Channels deliver once per
 * key on their own (Slack message claims, the mail outbox), so a record lost after the delivery only repeats a
 * delivery that then changes nothing.
 */
export async function recordTold(deps: EngineDeps, cp: CheckpointDoc, event: ToldEvent, channel: string) {
  await deps.engineStore.append([
    { kind: 'claim', runId: cp.runId, key: toldKey(cp._id, event, channel), at: deps.clock.now(), intent: null },
  ]);
}
