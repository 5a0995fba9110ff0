import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import { intakeModal } from '../../templates/slack/modals.js';
import { answer } from './answer.js';
import { AWAY_HELP, handleAwayCommand } from './away.js';
import { messageShortcutSchema, slashCommandSchema } from './payloads.js';
import { plainSlackText } from './slack-text.js';
import { inputSchemaOf } from './workflow-forms.js';

/** `/countersign` alone or with an unknown word: every module's words, shortcuts and the mention, in order. */
function helpText(d: SlackHandlerDeps): string {
  const { commands, shortcuts, mention } = d.intake;
  return [
    '*Countersign*',
    ...commands.map((c) => `• \`/countersign ${c.word}\` — ${c.description}`),
    ...shortcuts.map((s) => `• Message shortcut *${s.description}* — turn a message into a ${s.workflow} form`),
    ...(mention
      ? [`• Mention me in a thread in plain words (${mention.workflow}) — I ask in the thread for anything missing`]
      : []),
    '• The *Home* tab lists what waits for you and what you decided lately',
    AWAY_HELP,
  ].join('\n');
}

export function registerCommands(app: App, d: SlackHandlerDeps) {
  app.command('/countersign', async ({ ack, body }) => {
    const cmd = slashCommandSchema.safeParse(body);
    // Acknowledged first: setting a delegation asks Slack who the person is (users.info), which may be slow.
    if (cmd.success && /^(away|back)\b/i.test(cmd.data.text.trim())) {
      await ack();
      const reply = await handleAwayCommand(d, cmd.data);
      if (reply) await answer(d, cmd.data.user_id, cmd.data.channel_id, reply.text);
      return;
    }
    const word = cmd.success ? (cmd.data.text.trim().split(/\s+/)[0] ?? '').toLowerCase() : '';
    // The workflow's own name works as well as its word (`/countersign card-dispute`).
    const command = d.intake.commands.find((c) => c.word === word || c.workflow === word);
    const schema = command ? inputSchemaOf(d.workflows, command.workflow) : undefined;
    if (!cmd.success || !command || !schema) {
      await ack({ response_type: 'ephemeral', text: helpText(d) });
      return;
    }
    await ack();
    const view = intakeModal(command.formTitle ?? `New ${command.word}`, schema, { workflow: command.workflow });
    const res = await d.outbox.call('views.open', { trigger_id: cmd.data.trigger_id, view }, z.unknown());
    if (!res.ok) d.logger.warn({ error: res.error }, 'could not open the intake modal');
  });

  // A message becomes a workflow's form, prefilled by the module from the message; a person completes and submits it.
  for (const shortcut of d.intake.shortcuts) {
    app.shortcut(shortcut.callbackId, async ({ ack, body }) => {
      await ack();
      const sc = messageShortcutSchema.safeParse(body);
      const schema = inputSchemaOf(d.workflows, shortcut.workflow);
      if (!sc.success || !schema) return d.logger.warn('unreadable message shortcut ignored');
      const text = plainSlackText(sc.data.message.text);
      const view = intakeModal(
        shortcut.formTitle ?? `New ${shortcut.workflow}`,
        schema,
        { workflow: shortcut.workflow, channel: sc.data.channel.id, messageTs: sc.data.message.ts },
        shortcut.prefill?.(text) ?? {},
      );
      const res = await d.outbox.call('views.open', { trigger_id: sc.data.trigger_id, view }, z.unknown());
      if (!res.ok) d.logger.warn({ error: res.error }, 'could not open the intake modal');
    });
  }
}
