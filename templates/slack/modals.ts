import type { types } from '@slack/bolt';
import type { CheckpointView } from '../../src/views/checkpoint.js';
import { formBlocks } from './schema-form.js';
import { clip, escapeMrkdwn, LIMITS, mrkdwn, plain } from './text.js';

export const CALLBACKS = {
  edit: 'countersign.edit',
  intake: 'countersign.intake',
  rejectReason: 'countersign.reject_reason',
} as const;

/** The comment field of the edit modal; not a schema field, so it never collides with one. */
export const COMMENT_BLOCK = 'countersign.comment';

/** The reason field of the reject modal; its `block_id` is where `response_action: errors` points. */
export const REASON_BLOCK = 'countersign.reason';
/** Slack checks these itself (`min_length`, `max_length`); the handler checks them again on submit. */
export const REASON_LENGTH = { min: 3, max: 2_000 } as const;

export interface EditMetadata {
  checkpointId: string;
  /** The card the modal was opened from, for the ephemeral answer; absent when opened from App Home. */
  channel?: string;
}

export interface IntakeMetadata {
  workflow: string;
  channel?: string;
  messageTs?: string;
}

const metadata = (m: object) => clip(JSON.stringify(m), LIMITS.privateMetadata);

/** The edit form: the checkpoint's editable fields prefilled with the proposal; submitting approves with the edits. */
export function editModal(cp: CheckpointView, meta: EditMetadata): types.ModalView {
  return {
    type: 'modal',
    callback_id: CALLBACKS.edit,
    private_metadata: metadata(meta),
    title: plain('Edit and approve', LIMITS.modalTitle),
    submit: plain('Approve', LIMITS.modalTitle),
    close: plain('Cancel', LIMITS.modalTitle),
    blocks: [
      { type: 'section', text: mrkdwn(`*${escapeMrkdwn(cp.title)}*\n${escapeMrkdwn(clip(cp.summary, 2_000))}`) },
      ...formBlocks(cp.editableSchema, cp.values),
      {
        type: 'input',
        block_id: COMMENT_BLOCK,
        optional: true,
        label: plain('Comment for the record'),
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 1_000 },
      },
    ].slice(0, LIMITS.viewBlocks) as types.KnownBlock[],
  };
}

/**
 * Asks why before rejecting a checkpoint that requires a reason (`requireRejectReason`); submitting rejects with the
 * reason as the decision's comment. It replaces the card's confirm dialog: nothing is decided until it is submitted.
 */
export function rejectReasonModal(cp: CheckpointView, meta: EditMetadata): types.ModalView {
  return {
    type: 'modal',
    callback_id: CALLBACKS.rejectReason,
    private_metadata: metadata(meta),
    title: plain('Reject', LIMITS.modalTitle),
    submit: plain('Reject', LIMITS.modalTitle),
    close: plain('Cancel', LIMITS.modalTitle),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(
          `*${escapeMrkdwn(clip(cp.title, 500))}*\nRejecting needs a reason. The workflow takes its reject path and the reason is recorded with the decision.`,
        ),
      },
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: plain('Reason'),
        hint: plain('Shown on the card and kept in the run record.', LIMITS.inputHint),
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          multiline: true,
          min_length: REASON_LENGTH.min,
          max_length: REASON_LENGTH.max,
          placeholder: plain('Why this proposal should not go ahead'),
        },
      },
    ],
  };
}

/** A form with the workflow's input fields, prefilled where the message shortcut or intake agent found values. */
export function intakeModal(
  title: string,
  inputSchema: Record<string, unknown>,
  meta: IntakeMetadata,
  values: Record<string, unknown> = {},
): types.ModalView {
  return {
    type: 'modal',
    callback_id: CALLBACKS.intake,
    private_metadata: metadata(meta),
    title: plain(title, LIMITS.modalTitle),
    submit: plain('Start', LIMITS.modalTitle),
    close: plain('Cancel', LIMITS.modalTitle),
    blocks: formBlocks(inputSchema, values).slice(0, LIMITS.viewBlocks),
  };
}

/** A closing view shown in place of a submitted modal (`response_action: update`). */
export function messageModal(title: string, text: string): types.ModalView {
  return {
    type: 'modal',
    title: plain(title, LIMITS.modalTitle),
    close: plain('Close', LIMITS.modalTitle),
    blocks: [{ type: 'section', text: mrkdwn(text) }],
  };
}
