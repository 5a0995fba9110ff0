import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import { InvalidInput } from '../../src/errors.js';
import { CALLBACKS, COMMENT_BLOCK, messageModal, REASON_BLOCK, REASON_LENGTH } from '../../templates/slack/modals.js';
import { decidedNotice, progressNotice } from '../../templates/slack/notices.js';
import { formErrors, formValues } from '../../templates/slack/schema-form.js';
import { escapeMrkdwn } from '../../templates/slack/text.js';
import { within } from './actions.js';
import { answer } from './answer.js';
import { type DecisionInput, type DecisionOutcome, decideFromSlack } from './decide.js';
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

/** Why a reason cannot be recorded as it stands, in the words the modal shows under the field; undefined when fine. */
function reasonProblem(reason: string): string | undefined {
  if (reason.length < REASON_LENGTH.min) return `Say why you reject, in at least ${REASON_LENGTH.min} characters.`;
  if (reason.length > REASON_LENGTH.max) return `Keep the reason under ${REASON_LENGTH.max} characters.`;
  return undefined;
}

function outcomeText(out: Exclude<DecisionOutcome, { kind: 'invalid' }>): string {
  if (out.kind === 'decided') return decidedNotice(out.checkpoint);
  if (out.kind === 'partial') return progressNotice(out.checkpoint);
  return out.text;
}

type Invalid = Extract<DecisionOutcome, { kind: 'invalid' }>;

/**
 * Decides a modal submission through the one decide path and answers Slack: the outcome in place of the modal when
 * it comes within the budget; past it, the modal closes and the outcome arrives as a DM. `fieldErrors` places an
 * engine refusal on the modal's own fields (`response_action: errors`); an empty result shows the message instead.
 */
async function decideSubmission(
  d: SlackHandlerDeps,
  respond: ViewAck,
  input: DecisionInput,
  o: { fieldErrors: (out: Invalid) => Record<string, string>; refusedLate: string },
) {
  const work = decideFromSlack(d, input);
  const out = await within(SUBMIT_BUDGET_MS, work);
  if (!out) {
    await respond();
    const late = await work.catch((err: unknown) => {
      d.logger.error({ err: (err as Error).message, checkpointId: input.checkpointId }, 'slack modal decision failed');
      return undefined;
    });
    if (late && late.kind !== 'invalid') await answer(d, input.user, undefined, outcomeText(late));
    else if (late) await answer(d, input.user, undefined, `${o.refusedLate}: ${late.message}`);
    return;
  }
  if (out.kind === 'invalid') {
    const errors = o.fieldErrors(out);
    if (Object.keys(errors).length > 0) return respond({ response_action: 'errors', errors });
    return respond({ response_action: 'update', view: messageModal('Not recorded', escapeMrkdwn(out.message)) });
  }
  const title = out.kind === 'decided' || out.kind === 'partial' ? 'Recorded' : 'Not recorded';
  return respond({ response_action: 'update', view: messageModal(title, outcomeText(out)) });
}

/** The submission and the checkpoint it is about, or the closing view Slack should show instead. */
async function submittedCheckpoint(d: SlackHandlerDeps, body: unknown) {
  const parsed = viewSubmissionSchema.safeParse(body);
  const meta = parsed.success ? parseMetadata(editMetadataSchema, parsed.data.view.private_metadata) : undefined;
  if (!parsed.success || !meta)
    return {
      refusal: {
        response_action: 'update',
        view: messageModal('Not recorded', 'This form could not be read. Please use the card again.'),
      },
    } as const;
  const cp = await d.engine.getCheckpoint(meta.checkpointId);
  if (!cp)
    return {
      refusal: { response_action: 'update', view: messageModal('Not recorded', 'This checkpoint no longer exists.') },
    } as const;
  return { submission: parsed.data, meta, cp } as const;
}

export function registerViews(app: App, d: SlackHandlerDeps) {
  app.view(CALLBACKS.edit, async ({ ack, body }) => {
    const respond = ack as unknown as ViewAck;
    const read = await submittedCheckpoint(d, body);
    if (read.refusal) return respond(read.refusal);
    const { submission, cp } = read;
    const edits = formValues(cp.editableSchema, submission.view.state);
    const comment = submission.view.state.values[COMMENT_BLOCK]?.value?.value ?? undefined;
    return decideSubmission(
      d,
      respond,
      { checkpointId: cp._id, decision: 'approve', user: submission.user.id, edits, ...(comment ? { comment } : {}) },
      { fieldErrors: (out) => formErrors(cp.editableSchema, out.issues), refusedLate: 'Your edits were not accepted' },
    );
  });

  app.view(CALLBACKS.rejectReason, async ({ ack, body }) => {
    const respond = ack as unknown as ViewAck;
    const read = await submittedCheckpoint(d, body);
    if (read.refusal) return respond(read.refusal);
    const { submission, meta, cp } = read;
    // Slack enforces min_length in the client; a submission can still arrive without it (older clients, replays).
    const reason = (submission.view.state.values[REASON_BLOCK]?.value?.value ?? '').trim();
    const problem = reasonProblem(reason);
    if (problem) return respond({ response_action: 'errors', errors: { [REASON_BLOCK]: problem } });
    await decideSubmission(
      d,
      respond,
      { checkpointId: cp._id, decision: 'reject', user: submission.user.id, comment: reason },
      {
        // The engine names the comment when it refuses a reject for want of a reason: that is this modal's field.
        fieldErrors: (out): Record<string, string> => {
          const onReason = out.issues.find((i) => i.path === 'comment');
          return onReason ? { [REASON_BLOCK]: onReason.message } : {};
        },
        refusedLate: 'Your reject was not recorded',
      },
    );
    // Opened from App Home: the list there still shows the checkpoint as pending.
    if (!meta.channel) await d.enqueue({ kind: 'home', user: submission.user.id });
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
  for (const callback_id of [CALLBACKS.edit, CALLBACKS.rejectReason, CALLBACKS.intake]) {
    app.view({ callback_id, type: 'view_closed' }, async ({ ack, body }) => {
      await ack();
      const closed = viewClosedSchema.safeParse(body);
      if (closed.success) d.logger.debug({ user: closed.data.user.id, callback_id }, 'modal closed without submitting');
    });
  }
}
