import { z } from 'zod';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import type { CheckpointView } from '../../src/views/checkpoint.js';
import { homeView } from '../../templates/slack/home.js';

const RECENT_MS = 30 * 24 * 3600_000;

/** App Home: what waits for this person (checked like a click would be) and what they decided lately. */
export async function handleHomeJob(d: SlackHandlerDeps, user: string) {
  const person = await d.people.resolve(user);
  const mine = new Set([person.actor, ...person.aliases].map((i) => i.toLowerCase()));
  const pendingAll = await d.engine.listCheckpoints({ status: 'pending', limit: 100 });
  const notYetApproved = pendingAll.filter((cp) => !(cp.approvals ?? []).some((a) => mine.has(a.actor.toLowerCase())));
  const pending: CheckpointView[] = await d.engine.decidableBy(notYetApproved, person.actor, person.aliases);
  const since = new Date(d.now().getTime() - RECENT_MS);
  const decided = (await d.engine.listCheckpoints({ decidedSince: since, limit: 200 }))
    .filter((cp) => cp.status !== 'pending' && cp.decision && mine.has(cp.decision.actor.toLowerCase()))
    .sort((a, b) => new Date(b.decision?.decidedAt ?? 0).getTime() - new Date(a.decision?.decidedAt ?? 0).getTime());
  const view = homeView(pending, decided, (cp) => d.runUrl(cp.runId));
  const res = await d.outbox.call('views.publish', { user_id: user, view }, z.unknown());
  if (!res.ok && res.retryable) throw new Error(`views.publish failed: ${res.error}`);
  if (!res.ok) d.logger.warn({ user, error: res.error }, 'could not publish App Home');
}
