import { checkpointEmail } from '../../templates/email/checkpoint.js';
import type { CheckpointChannel } from '../engine/workers.js';
import type { CheckpointDoc } from '../store/models.js';
import type { Mailer } from './mailer.js';

/** Emails each approver of a new checkpoint a link bound to them. */
export function emailCheckpointChannel(deps: {
  mailer: Mailer;
  linkFor(checkpoint: CheckpointDoc, recipient: string): string;
}): CheckpointChannel {
  return {
    name: 'email',
    async onCreated(cp) {
      for (const recipient of cp.approvers.emails) {
        const mail = checkpointEmail(cp, deps.linkFor(cp, recipient));
        await deps.mailer.send({ to: [recipient], ...mail }, `checkpoint/${cp._id}/${recipient}`, 'checkpoint');
      }
    },
    // Email links show the decision when opened (the page reads the checkpoint), so nothing to update here.
    async onDecided() {},
  };
}
