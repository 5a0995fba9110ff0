import type { CheckpointDoc } from '../../src/store/models.js';
import { escapeHtml } from './escape.js';

/**
 * The email an approver gets for a checkpoint: the evidence, the proposal, one button that opens the
 * confirmation page. Opening the link decides nothing, so mail scanners that follow links are harmless.
 */
export function checkpointEmail(cp: CheckpointDoc, link: string): { subject: string; text: string; html: string } {
  const subject = `Decision needed: ${cp.title}`;
  const confidence =
    cp.proposal.confidence === undefined ? '' : ` (confidence ${Math.round(cp.proposal.confidence * 100)}%)`;
  const sections = cp.evidence
    .map((s) => `${s.title}\n${s.items.map((i) => `  - ${i.label}: ${i.value}`).join('\n')}`)
    .join('\n\n');
  const text = [
    cp.summary,
    '',
    `Proposed outcome: ${cp.proposal.outcome}${confidence}`,
    cp.proposal.rationale ? `Why: ${cp.proposal.rationale}` : '',
    '',
    sections,
    '',
    `Review, edit and decide: ${link}`,
    '',
    'Opening the link does not decide anything; you confirm on the page.',
  ]
    .filter((l, i, all) => l !== '' || all[i - 1] !== '')
    .join('\n');
  const html = `<!doctype html><html><body style="font-family:Arial,Helvetica,sans-serif;color:#1f2328;max-width:640px">
<h2 style="font-size:18px">${escapeHtml(cp.title)}</h2>
<p>${escapeHtml(cp.summary)}</p>
<p><strong>Proposed outcome:</strong> ${escapeHtml(cp.proposal.outcome)}${escapeHtml(confidence)}</p>
${cp.proposal.rationale ? `<p>${escapeHtml(cp.proposal.rationale)}</p>` : ''}
${cp.evidence
  .map(
    (s) =>
      `<h3 style="font-size:15px">${escapeHtml(s.title)}</h3><table cellpadding="4" style="border-collapse:collapse">${s.items
        .map((i) => `<tr><td style="color:#57606a">${escapeHtml(i.label)}</td><td>${escapeHtml(i.value)}</td></tr>`)
        .join('')}</table>`,
  )
  .join('\n')}
<p><a href="${escapeHtml(link)}" style="display:inline-block;background:#1f6feb;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">Review and decide</a></p>
<p style="color:#57606a;font-size:12px">Opening the link does not decide anything; you confirm on the page.</p>
</body></html>`;
  return { subject, text, html };
}
