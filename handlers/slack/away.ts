import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import { InvalidInput } from '../../src/errors.js';

export const AWAY_HELP = [
  '• `/countersign away @someone until YYYY-MM-DD [reason]` — while you are away, they decide your checkpoints',
  '  (through the end of that day, UTC), recorded as on your behalf',
  '• `/countersign back` — end it early',
].join('\n');

/** `<@U024BE7LH>` or `<@U024BE7LH|ana>` (Slack escapes mentions in slash commands), `<mailto:a@b|a@b>` or an email. */
const DELEGATE = /^(?:<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|<mailto:([^|>\s]+@[^|>\s]+)(?:\|[^>]*)?>|([^\s<>@]+@[^\s<>@]+))$/i;
const AWAY = /^away\s+(\S+)\s+until\s+(\S+)(?:\s+([\s\S]*))?$/i;

export interface SlashCommand {
  text: string;
  user_id: string;
}

type AwayDeps = Pick<SlackHandlerDeps, 'engine' | 'people' | 'logger'>;

/** The reply for a malformed `away`: what was wrong and how it is written. */
const usage = (problem: string) => `${problem}\n${AWAY_HELP}`;

function delegateOf(token: string): string | undefined {
  const m = DELEGATE.exec(token);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/**
 * `/countersign away …` and `/countersign back`. Returns the ephemeral reply for the person who ran it, or
 * undefined when the command is something else. The approver is the person running the command, identified
 * from Slack's signed payload (never from the text), so nobody can declare someone else away.
 */
export async function handleAwayCommand(d: AwayDeps, command: SlashCommand): Promise<{ text: string } | undefined> {
  const text = command.text.trim();
  const word = (text.split(/\s+/)[0] ?? '').toLowerCase();
  if (word !== 'away' && word !== 'back') return undefined;
  const me = await d.people.resolve(command.user_id);

  if (word === 'back') {
    const { cleared } = await d.engine.clearDelegation(me.actor);
    return {
      text:
        cleared > 0
          ? 'Welcome back: your checkpoints are yours alone again.'
          : 'You had no delegation set; nothing changed.',
    };
  }

  const parts = AWAY.exec(text);
  if (!parts) return { text: usage('Tell me who decides for you and until when.') };
  const [, who = '', until = '', reason] = parts;
  const delegate = delegateOf(who);
  if (!delegate) {
    return {
      text: usage(`I could not read "${who}" as a person: mention them (@name) or give their email address.`),
    };
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(until)) return { text: usage(`"${until}" is not a date like 2026-12-31.`) };
  try {
    const set = await d.engine.setDelegation({
      approver: me.actor,
      delegate,
      until,
      ...(reason?.trim() ? { reason: reason.trim() } : {}),
      createdBy: command.user_id,
    });
    const named = delegate.includes('@') ? delegate : `<@${delegate}>`;
    const last = new Date(set.until.getTime() - 1).toISOString().slice(0, 10);
    return {
      text: `Until the end of ${last} (UTC), ${named} may decide your checkpoints; their decisions are recorded as on your behalf. \`/countersign back\` ends it early.`,
    };
  } catch (err) {
    if (err instanceof InvalidInput) {
      const why = err.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
      return { text: usage(`That did not work: ${why || err.message}.`) };
    }
    d.logger.error({ err: (err as Error).message, user: command.user_id }, 'could not set a delegation');
    throw err;
  }
}
