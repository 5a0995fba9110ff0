import type { types } from '@slack/bolt';
import type { CheckpointDoc } from '../../src/store/models.js';
import { formBlocks } from './schema-form.js';
import { clip, escapeMrkdwn, LIMITS, mrkdwn, plain } from './text.js';

export const CALLBACKS = {
  edit: 'countersign.edit',
  intake: 'countersign.intake',
  messageShortcut: 'countersign.dispute_from_message',
} as const;

/** The comment field of the edit modal; not a schema field, so it never collides with one. */
export const COMMENT_BLOCK = 'countersign.comment';

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
export function editModal(cp: CheckpointDoc, meta: EditMetadata): types.ModalView {
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
