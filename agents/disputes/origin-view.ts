import type { CheckpointDoc } from '../../src/store/models.js';
import type { DisputeInput } from './input.js';

/**
 * Where an email dispute came from and what our receiving server verified, as a checkpoint section every channel
 * renders (Slack, the approval page, the email): approvers must see "DMARC fail" before trusting the claim.
 */
export function originEvidence(d: DisputeInput): CheckpointDoc['evidence'] {
  const items: { label: string; value: string }[] = [];
  if (d.origin) {
    const a = d.origin.authentication;
    items.push({ label: 'Received by', value: `${d.origin.channel} from ${d.origin.from}` });
    if (a) {
      const verdict =
        a.verdict === 'pass' ? 'verified (DMARC pass)' : a.verdict === 'fail' ? 'FAILED verification' : 'not verified';
      items.push({ label: 'Sender check', value: verdict });
      items.push({
        label: 'SPF / DKIM / DMARC',
        value: `${a.spf ?? 'none'} / ${a.dkim ?? 'none'} / ${a.dmarc ?? 'none'}`,
      });
      if (a.ignored > 0) items.push({ label: 'Ignored headers', value: `${a.ignored} not added by our mail server` });
    }
  }
  for (const f of d.attachments ?? []) {
    items.push({ label: `Attachment ${f.filename}`, value: `${f.contentType}, ${f.size} bytes, sha256 ${f.sha256}` });
  }
  return items.length ? [{ title: 'Origin and attachments', items }] : [];
}
