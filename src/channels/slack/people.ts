import { z } from 'zod';
import type { Identities } from '../../identity.js';
import type { Outbox } from './outbox.js';

/**
 * Who clicked, established on the server: the Slack user id comes from Slack's signed payload, the email from
 * users.info (never from anything the button carries). The pair is linked in the identity store, so a person
 * deciding in Slack and by email link is one actor.
 */

interface Person {
  /** The email when Slack tells us one, else the Slack user id. */
  actor: string;
  /** Other identifiers of the same person: their Slack user id when `actor` is an email. */
  aliases: string[];
  slackUserId: string;
  name?: string;
}

const usersInfo = z.object({
  user: z.object({
    id: z.string(),
    name: z.string().optional(),
    real_name: z.string().optional(),
    profile: z.object({ email: z.string().optional(), real_name: z.string().optional() }).loose().optional(),
  }),
});

export interface People {
  resolve(slackUserId: string): Promise<Person>;
}

export function createPeople(deps: {
  outbox: Outbox;
  identities: Identities;
  ttlMs?: number;
  now?: () => number;
}): People {
  const ttl = deps.ttlMs ?? 10 * 60_000;
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { person: Person; until: number }>();
  return {
    async resolve(slackUserId) {
      const hit = cache.get(slackUserId);
      if (hit && hit.until > now()) return hit.person;
      const res = await deps.outbox.call('users.info', { user: slackUserId }, usersInfo);
      let person: Person;
      if (res.ok) {
        const email = res.value.user.profile?.email?.trim().toLowerCase();
        const name = res.value.user.real_name ?? res.value.user.profile?.real_name ?? res.value.user.name;
        person = email
          ? { actor: email, aliases: [slackUserId], slackUserId, ...(name ? { name } : {}) }
          : { actor: slackUserId, aliases: [], slackUserId, ...(name ? { name } : {}) };
        if (email) await deps.identities.link({ email, slackUserId, ...(name ? { name } : {}) });
        cache.set(slackUserId, { person, until: now() + ttl });
        return person;
      }
      // Slack did not answer: an earlier link still tells who this is. Not cached, so the next click asks again.
      const known = (await deps.identities.expand([slackUserId])).find((id) => id.includes('@'));
      return known
        ? { actor: known, aliases: [slackUserId], slackUserId }
        : { actor: slackUserId, aliases: [], slackUserId };
    },
  };
}
