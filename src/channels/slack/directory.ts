import { z } from 'zod';
import type { ApproverDirectory } from '../../engine/deps.js';
import type { CheckpointDoc } from '../../store/models.js';
import type { Outbox } from './outbox.js';

/**
 * The Slack side of "who may decide": members of user groups (usergroups.users.list) and of channels
 * (conversations.members), cached briefly because a burst of clicks would otherwise page through a large channel
 * each time. A checkpoint that names no approvers falls back to the members of SLACK_APPROVALS_CHANNEL
 * (CONTRACT.md), alongside APPROVER_EMAILS which the engine checks itself.
 */

const groupUsers = z.object({ users: z.array(z.string()) });
const channelMembers = z.object({
  members: z.array(z.string()),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});

const SLACK_ID = /^[UW][A-Z0-9]{2,}$/;

export interface DirectoryOptions {
  outbox: Outbox;
  approvalsChannel: string | undefined;
  /** APPROVER_EMAILS: a checkpoint whose emails are exactly these and names nobody in Slack uses the defaults. */
  defaultEmails: string[];
  ttlMs?: number;
  now?: () => number;
}

function usesDefaultApprovers(cp: CheckpointDoc, defaultEmails: string[]): boolean {
  if (cp.defaultApprovers !== undefined) return cp.defaultApprovers;
  // Checkpoints stored before the flag existed: defaults are what they look like.
  const a = cp.approvers;
  if (a.slackUsers.length || a.slackGroups?.length || a.slackChannels?.length) return false;
  const mine = new Set(a.emails.map((e) => e.toLowerCase()));
  const defaults = new Set(defaultEmails.map((e) => e.toLowerCase()));
  return mine.size === defaults.size && [...mine].every((e) => defaults.has(e));
}

export function createSlackDirectory(
  o: DirectoryOptions,
): ApproverDirectory & { channelsOf(cp: CheckpointDoc): string[] } {
  const ttl = o.ttlMs ?? 60_000;
  const now = o.now ?? Date.now;
  const cache = new Map<string, { members: Set<string>; until: number }>();

  async function cached(key: string, load: () => Promise<string[] | null>): Promise<Set<string>> {
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.members;
    const members = await load();
    if (members === null) return new Set(); // Slack did not answer: refuse now rather than guess; not cached
    const set = new Set(members.map((m) => m.toUpperCase()));
    cache.set(key, { members: set, until: now() + ttl });
    return set;
  }

  const ofGroup = (group: string) =>
    cached(`group:${group}`, async () => {
      const res = await o.outbox.call('usergroups.users.list', { usergroup: group }, groupUsers);
      return res.ok ? res.value.users : null;
    });

  const ofChannel = (channel: string) =>
    cached(`channel:${channel}`, async () => {
      const all: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 50; page++) {
        const res = await o.outbox.call(
          'conversations.members',
          { channel, limit: 1000, ...(cursor ? { cursor } : {}) },
          channelMembers,
        );
        if (!res.ok) return null;
        all.push(...res.value.members);
        cursor = res.value.response_metadata?.next_cursor || undefined;
        if (!cursor) break;
      }
      return all;
    });

  function channelsOf(cp: CheckpointDoc): string[] {
    const named = cp.approvers.slackChannels ?? [];
    if (usesDefaultApprovers(cp, o.defaultEmails) && o.approvalsChannel) return [o.approvalsChannel];
    return named;
  }

  return {
    channelsOf,
    async isMember(cp, identities) {
      const ids = identities.map((i) => i.toUpperCase()).filter((i) => SLACK_ID.test(i));
      if (ids.length === 0) return false;
      for (const group of cp.approvers.slackGroups ?? []) {
        const members = await ofGroup(group);
        if (ids.some((id) => members.has(id))) return true;
      }
      for (const channel of channelsOf(cp)) {
        const members = await ofChannel(channel);
        if (ids.some((id) => members.has(id))) return true;
      }
      return false;
    },
  };
}
