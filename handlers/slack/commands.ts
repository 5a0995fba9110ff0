import type { App } from '@slack/bolt';
import { z } from 'zod';
import { CARD_DISPUTE } from '../../agents/disputes/workflow.js';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import { CALLBACKS, intakeModal } from '../../templates/slack/modals.js';
import { messageShortcutSchema, slashCommandSchema } from './payloads.js';
import { plainSlackText } from './slack-text.js';
import { inputSchemaOf } from './workflow-forms.js';

const HELP = [
  '*Countersign*',
  '• `/countersign dispute` — open a form and start a card-dispute run',
  '• Message shortcut *Start a dispute* — turn a message into a dispute',
  '• Mention me with a dispute in plain words — I ask in the thread for anything missing',
  '• The *Home* tab lists what waits for you and what you decided lately',
].join('\n');

/** Words after `/countersign` that name a workflow. */
const WORKFLOW_WORDS: Record<string, string> = { dispute: CARD_DISPUTE, [CARD_DISPUTE]: CARD_DISPUTE };

const CHARGE_ID = /\b((?:ch|py)_[A-Za-z0-9]{1,64})\b/;
const EMAIL = /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/;

export function registerCommands(app: App, d: SlackHandlerDeps) {
  app.command('/countersign', async ({ ack, body }) => {
    const cmd = slashCommandSchema.safeParse(body);
    const word = cmd.success ? (cmd.data.text.trim().split(/\s+/)[0] ?? '').toLowerCase() : '';
    const workflow = WORKFLOW_WORDS[word];
    const schema = workflow ? inputSchemaOf(d.workflows, workflow) : undefined;
    if (!cmd.success || !workflow || !schema) {
      await ack({ response_type: 'ephemeral', text: HELP });
      return;
    }
    await ack();
    const view = intakeModal('New dispute', schema, { workflow });
    const res = await d.outbox.call('views.open', { trigger_id: cmd.data.trigger_id, view }, z.unknown());
    if (!res.ok) d.logger.warn({ error: res.error }, 'could not open the intake modal');
  });

  // A message becomes a dispute: the form opens prefilled with the message, a person completes and submits it.
  app.shortcut(CALLBACKS.messageShortcut, async ({ ack, body }) => {
    await ack();
    const sc = messageShortcutSchema.safeParse(body);
    const schema = inputSchemaOf(d.workflows, CARD_DISPUTE);
    if (!sc.success || !schema) return d.logger.warn('unreadable message shortcut ignored');
    const text = plainSlackText(sc.data.message.text);
    const values: Record<string, unknown> = { description: text };
    const charge = CHARGE_ID.exec(text)?.[1];
    if (charge) values.chargeId = charge;
    const email = EMAIL.exec(text)?.[0];
    if (email) values.customerEmail = email;
    const view = intakeModal(
      'New dispute',
      schema,
      { workflow: CARD_DISPUTE, channel: sc.data.channel.id, messageTs: sc.data.message.ts },
      values,
    );
    const res = await d.outbox.call('views.open', { trigger_id: sc.data.trigger_id, view }, z.unknown());
    if (!res.ok) d.logger.warn({ error: res.error }, 'could not open the intake modal');
  });
}
