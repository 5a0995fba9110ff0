import type { Store } from './store/models.js';

const isEmail = (s: string) => s.includes('@');

/**
 * One person across channels. Slack clicks are resolved to the clicker's email (users.info) and linked here, so
 * a person approving by Slack and by email link is one actor, and an approver listed by email may click in Slack.
 */
export function createIdentities(store: Pick<Store, 'identities'>) {
  return {
    async link(person: { email: string; slackUserId?: string; name?: string }): Promise<void> {
      await store.identities.updateOne(
        { _id: person.email.toLowerCase() },
        {
          $set: {
            ...(person.slackUserId ? { slackUserId: person.slackUserId } : {}),
            ...(person.name ? { name: person.name } : {}),
            updatedAt: new Date(),
          },
        },
        { upsert: true },
      );
    },
    /** Every identifier of the people behind `ids`, the ids included, lower-cased. */
    async expand(ids: string[]): Promise<string[]> {
      const out = new Set(ids.map((i) => i.trim().toLowerCase()).filter(Boolean));
      const emails = [...out].filter(isEmail);
      const slackIds = ids.filter((i) => !isEmail(i)).map((i) => i.trim());
      const docs = await store.identities
        .find({ $or: [{ _id: { $in: emails } }, { slackUserId: { $in: slackIds } }] })
        .lean();
      for (const d of docs) {
        out.add(d._id);
        if (d.slackUserId) out.add(d.slackUserId.toLowerCase());
      }
      return [...out];
    },
  };
}

export type Identities = ReturnType<typeof createIdentities>;
