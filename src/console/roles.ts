import type { Config } from '../config.js';
import { groupMembers } from '../settings.js';

/**
 * Who may use the console and what they may do. `viewer` reads runs, insights and evals; `approver` also decides
 * what is theirs to decide (the engine still checks each checkpoint's own approvers); `admin` also cancels runs,
 * retries steps, applies autonomy grants and mints public form links.
 */
const CONSOLE_ROLES = ['viewer', 'approver', 'admin'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

const RANK: Record<ConsoleRole, number> = { viewer: 0, approver: 1, admin: 2 };

export function atLeast(role: ConsoleRole, needed: ConsoleRole): boolean {
  return RANK[role] >= RANK[needed];
}

function higher(a: ConsoleRole | undefined, b: ConsoleRole): ConsoleRole {
  return a === undefined || RANK[b] > RANK[a] ? b : a;
}

/**
 * Every email address (and Slack user id) the configuration lets into the console, with its role: `console.admins`, `console.users`
 * (viewers unless they name a role), and approvers anywhere (APPROVER_EMAILS, ESCALATE_TO, groups, stages,
 * escalation). A delegate named through the API is not added: they need a `console.users` entry to sign in.
 * Slack user ids have no address to send a link to; they sign in with Slack, which tells us their email.
 */
export function consoleRoster(config: Config): Map<string, ConsoleRole> {
  const roster = new Map<string, ConsoleRole>();
  const grant = (id: string, role: ConsoleRole) => {
    const key = id.includes('@') ? id.trim().toLowerCase() : id.trim();
    roster.set(key, higher(roster.get(key), role));
  };
  const settings = config.settings;
  for (const email of config.approverEmails) grant(email, 'approver');
  // ESCALATE_TO: whoever a timed-out checkpoint is handed to must be able to find it in an inbox.
  for (const id of [...config.review.escalateTo.emails, ...config.review.escalateTo.slackUsers]) grant(id, 'approver');
  // Slack user ids count too: their owners sign in with Slack, which names them.
  const approvers = (m: { emails: string[]; slackUsers: string[] }) => {
    for (const id of [...m.emails, ...m.slackUsers]) grant(id, 'approver');
  };
  for (const name of Object.keys(settings.groups)) approvers(groupMembers(settings, name));
  for (const wf of Object.values(settings.workflows)) {
    for (const stage of wf.stages ?? []) approvers(groupMembers(settings, stage.approvers));
    if (wf.timeout?.escalateTo) approvers(groupMembers(settings, wf.timeout.escalateTo));
  }
  for (const user of settings.console.users) {
    if (typeof user === 'string') grant(user, 'viewer');
    else grant(user.email, user.role);
  }
  for (const email of [...settings.console.admins, ...config.consoleAdmins]) grant(email, 'admin');
  return roster;
}
