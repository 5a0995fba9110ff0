import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import { InvalidInput } from '../../src/errors.js';
import { CALLBACKS, COMMENT_BLOCK, messageModal } from '../../templates/slack/modals.js';
import { decidedNotice, progressNotice } from '../../templates/slack/notices.js';
import { formErrors, formValues } from '../../templates/slack/schema-form.js';
import { escapeMrkdwn } from '../../templates/slack/text.js';
import { within } from './actions.js';
import { answer } from './answer.js';
import { type DecisionOutcome, decideFromSlack } from './decide.js';
import {
  editMetadataSchema,
  intakeMetadataSchema,
  parseMetadata,
  viewClosedSchema,
  viewSubmissionSchema,
} from './payloads.js';
import { inputIssues, inputSchemaOf } from './workflow-forms.js';

/** Slack closes the request after 3 seconds; past this, the modal closes and the outcome arrives as a DM. */
const SUBMIT_BUDGET_MS = 2_300;

type ViewAck = (response?: Record<string, unknown>) => Promise<void>;

function outcomeText(out: Exclude<DecisionOutcome, { kind: 'invalid' }>): string {
  if (out.kind === 'decided') return decidedNotice(out.checkpoint);
  if (out.kind === 'partial') return progressNotice(out.checkpoint);
  return out.text;
}

export function registerViews(app: App, d: SlackHandlerDeps) {
  app.view(CALLBACKS.edit, async ({ ack, body }) => {
    const respond = ack as unknown as ViewAck;
    const parsed = viewSubmissionSchema.safeParse(body);
    const meta = parsed.success ? parseMetadata(editMetadataSchema, parsed.data.view.private_metadata) : undefined;
    if (!parsed.success || !meta)
      return respond({
        response_action: 'update',
        view: messageModal('Not recorded', 'This form could not be read. Please use the card again.'),
      });
    const cp = await d.engine.getCheckpoint(meta.checkpointId);
    if (!cp)
      return respond({
        response_action: 'update',
        view: messageModal('Not recorded', 'This checkpoint no longer exists.'),
      });
    const user = parsed.data.user.id;
    const edits = formValues(cp.editableSchema, parsed.data.view.state);
    const comment = parsed.data.view.state.values[COMMENT_BLOCK]?.value?.value ?? undefined;
    const work = decideFromSlack(d, {
      checkpointId: cp._id,
      decision: 'approve',
      user,
      edits,
      ...(comment ? { comment } : {}),
    });
    const out = await within(SUBMIT_BUDGET_MS, work);
    if (!out) {
      await respond();
      const late = await work.catch((err: unknown) => {
        d.logger.error({ err: (err as Error).message, checkpointId: cp._id }, 'slack edit failed');
        return undefined;
      });
      if (late && late.kind !== 'invalid') await answer(d, user, undefined, outcomeText(late));
      else if (late) await answer(d, user, undefined, `Your edits were not accepted: ${late.message}`);
      return;
    }
    if (out.kind === 'invalid') {
      const errors = formErrors(cp.editableSchema, out.issues);
      if (Object.keys(errors).length > 0) return respond({ response_action: 'errors', errors });
      return respond({ response_action: 'update', view: messageModal('Not recorded', escapeMrkdwn(out.message)) });
    }
    const title = out.kind === 'decided' || out.kind === 'partial' ? 'Recorded' : 'Not recorded';
    return respond({ response_action: 'update', view: messageModal(title, outcomeText(out)) });
  });

  app.view(CALLBACKS.intake, async ({ ack, body }) => {
    const respond = ack as unknown as ViewAck;
    const parsed = viewSubmissionSchema.safeParse(body);
    const meta = parsed.success ? parseMetadata(intakeMetadataSchema, parsed.data.view.private_metadata) : undefined;
    const schema = meta ? inputSchemaOf(d.workflows, meta.workflow) : undefined;
    if (!parsed.success || !meta || !schema)
      return respond({
        response_action: 'update',
        view: messageModal('Not started', 'This form could not be read. Please try again.'),
      });
    const input = formValues(schema, parsed.data.view.state);
    const problems = formErrors(schema, inputIssues(d.workflows, meta.workflow, input));
    if (Object.keys(problems).length > 0) return respond({ response_action: 'errors', errors: problems });
    try {
      const { runId } = await d.engine.startRun({
        workflow: meta.workflow,
        input,
        idempotencyKey: `slack-view:${parsed.data.view.id}`,
        source: { channel: 'slack', key: parsed.data.view.id },
      });
      const where = d.approvalsChannel ? ` The checkpoint will appear in <#${d.approvalsChannel}>.` : '';
      await respond({
        response_action: 'update',
        view: messageModal('Started', `Started. <${d.runUrl(runId)}|Follow the run>.${where}`),
      });
      if (meta.channel && meta.messageTs) {
        const text = `<@${parsed.data.user.id}> started a dispute from this message: <${d.runUrl(runId)}|run ${runId}>`;
        await d.outbox.call(
          'chat.postMessage',
          { channel: meta.channel, thread_ts: meta.messageTs, text },
          z.unknown(),
          meta.channel,
        );
      }
    } catch (err) {
      if (!(err instanceof InvalidInput)) throw err;
      const errors = formErrors(schema, err.issues);
      return respond(
        Object.keys(errors).length > 0
          ? { response_action: 'errors', errors }
          : { response_action: 'update', view: messageModal('Not started', escapeMrkdwn(err.message)) },
      );
    }
  });

  // Closing a modal decides nothing; acknowledged so Slack does not retry or warn the user.
  for (const callback_id of [CALLBACKS.edit, CALLBACKS.intake]) {
    app.view({ callback_id, type: 'view_closed' }, async ({ ack, body }) => {
      await ack();
      const closed = viewClosedSchema.safeParse(body);
      if (closed.success) d.logger.debug({ user: closed.data.user.id, callback_id }, 'modal closed without submitting');
    });
  }
}
