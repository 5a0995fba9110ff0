import type { CheckpointView, DecisionView } from '../src/views/checkpoint.js';
import { editableFields, type FieldIssue, renderEditFields } from './edit-form.js';
import { formatWhen, html, layout, messagePage, type SafeHtml } from './layout.js';

/** What the approver sees behind an emailed link: the evidence, the AI's proposal, and a form to countersign. */

const CHANNEL_NAMES: Record<DecisionView['channel'], string> = {
  api: 'the API',
  link: 'an approval link',
  slack: 'Slack',
  email: 'email',
  console: 'the console',
  policy: 'the autonomy policy',
  timeout: 'timeout',
};

/** How a channel reads in a sentence ("via Slack", "via the console"). */
export function channelName(channel: string): string {
  return Object.hasOwn(CHANNEL_NAMES, channel) ? CHANNEL_NAMES[channel as DecisionView['channel']] : channel;
}

function verb(decision: DecisionView['decision']): string {
  return decision === 'approve' ? 'Approved' : 'Rejected';
}

/** "Approved by ana@example.com via Slack on 2025-01-02 10:00 UTC." */
function decisionSentence(d: DecisionView): string {
  return `${verb(d.decision)} by ${d.actor}${d.onBehalfOf ? ` on behalf of ${d.onBehalfOf}` : ''} via ${CHANNEL_NAMES[d.channel] ?? d.channel} on ${formatWhen(new Date(d.decidedAt))}.`;
}

function outcomeOf(checkpoint: CheckpointView | null): string {
  if (!checkpoint) return 'The request it was for no longer exists.';
  if (checkpoint.decision) return decisionSentence(checkpoint.decision);
  if (checkpoint.status === 'cancelled') return 'The request was cancelled.';
  return `The request is ${checkpoint.status}.`;
}

export function decisionDetails(d: DecisionView): SafeHtml {
  const edits = Object.entries(d.edits ?? {});
  return html`<div class="card"><p><strong>${decisionSentence(d)}</strong></p>${d.comment && html`<p>Comment: ${d.comment}</p>`}${
    edits.length > 0 &&
    html`<dl>${edits.map(([k, v]) => html`<dt>${k} (edited)</dt><dd>${typeof v === 'string' ? v : JSON.stringify(v)}</dd>`)}</dl>`
  }</div>`;
}

export function evidenceSection(checkpoint: CheckpointView): SafeHtml {
  return html`${(checkpoint.evidence ?? []).map(
    (section) =>
      html`<h2>${section.title}</h2><div class="card"><dl>${section.items.map(
        (item) => html`<dt>${item.label}</dt><dd>${item.value}</dd>`,
      )}</dl></div>`,
  )}`;
}

export function proposalSection(p: CheckpointView['proposal']): SafeHtml {
  const confidence = typeof p.confidence === 'number' ? `${Math.round(p.confidence * 100)}%` : undefined;
  return html`<h2>What the AI proposes</h2><div class="card"><dl><dt>Outcome</dt><dd><strong>${p.outcome}</strong></dd>${
    confidence && html`<dt>Confidence</dt><dd>${confidence}</dd>`
  }${p.rationale && html`<dt>Rationale</dt><dd>${p.rationale}</dd>`}</dl></div>`;
}

export function header(checkpoint: CheckpointView): SafeHtml {
  return html`<p class="muted">Countersign · ${checkpoint.workflow} · checkpoint ${checkpoint.name}</p><h1>${checkpoint.title}</h1><p>${checkpoint.summary}</p>`;
}

export interface ApprovalFormState {
  /** What the form shows: the proposal, or what the person typed before an error. */
  values?: Record<string, unknown>;
  comment?: string;
  issues?: FieldIssue[];
}

/**
 * "Your decision": the editable fields, the comment and approve/reject, the same on the approval page and in the
 * console's inbox; `form` opens the <form> element (its action and hidden fields differ).
 */
export function decisionForm(
  checkpoint: CheckpointView,
  state: ApprovalFormState | undefined,
  form: SafeHtml,
): SafeHtml {
  const fields = editableFields(checkpoint.editableSchema ?? {});
  const issues = state?.issues ?? [];
  const known = new Set(fields.map((f) => f.name));
  // Issues not tied to a visible field (decision, whole-object rules) go above the form; the comment's go beside it.
  const commentIssues = issues.filter((i) => i.path === 'comment');
  const general = issues.filter((i) => i.path !== 'comment' && !known.has(i.path.split('.')[0] ?? ''));
  // The engine refuses a reject without a comment here; the browser asks first. Approve skips the browser's check
  // (`formnovalidate`), since approving needs no comment; the server still checks every field either way.
  const reasonRequired = checkpoint.requireRejectReason === true;
  return html`<h2>Your decision</h2>
${general.length > 0 && html`<div class="card errors" role="alert">${general.map((i) => html`<p class="error">${i.path === '(root)' ? '' : `${i.path}: `}${i.message}</p>`)}</div>`}
${form}
${fields.length > 0 && html`<p class="muted">Change anything below before approving; unchanged fields keep the proposal.</p>`}
${renderEditFields(fields, state?.values ?? checkpoint.values ?? {}, issues)}
<label for="comment">${reasonRequired ? 'Comment (required to reject: say why)' : 'Comment (optional)'}</label>${commentIssues[0] && html`<div class="error" id="comment-error" role="alert">${commentIssues[0].message}</div>`}<textarea id="comment" name="comment" rows="3" maxlength="2000"${reasonRequired && html` required`}${commentIssues.length > 0 && html` aria-invalid="true" aria-describedby="comment-error"`}>
${state?.comment ?? ''}</textarea>
<div class="actions"><button class="approve" type="submit" name="decision" value="approve"${reasonRequired && html` formnovalidate`}>Approve</button><button class="reject" type="submit" name="decision" value="reject">Reject</button></div>
</form>`;
}

export function approvalFormPage(opts: {
  checkpoint: CheckpointView;
  recipient: string;
  expiresAt: Date;
  state?: ApprovalFormState;
}): string {
  const { checkpoint } = opts;
  return layout({
    title: checkpoint.title,
    body: html`${header(checkpoint)}${evidenceSection(checkpoint)}${proposalSection(checkpoint.proposal)}
${decisionForm(checkpoint, opts.state, html`<form method="post">`)}
<p class="muted">Deciding as ${opts.recipient}. This link works once and expires ${formatWhen(opts.expiresAt)}.</p>`,
  });
}

/** The checkpoint was decided (by anyone, on any channel) before this person acted. */
export function alreadyDecidedPage(checkpoint: CheckpointView): string {
  return layout({
    title: 'Already decided',
    body: html`${header(checkpoint)}<h2>This request has already been decided</h2>${
      checkpoint.decision ? decisionDetails(checkpoint.decision) : html`<p>${outcomeOf(checkpoint)}</p>`
    }<p class="muted">Nothing more is needed from you.</p>`,
  });
}

export function decisionRecordedPage(checkpoint: CheckpointView): string {
  return layout({
    title: 'Decision recorded',
    body: html`<h1>Decision recorded</h1><p>${checkpoint.title}</p>${checkpoint.decision && decisionDetails(checkpoint.decision)}<p class="muted">Thank you. You can close this page.</p>`,
  });
}

export function usedLinkPage(checkpoint: CheckpointView | null): string {
  return messagePage({
    title: 'This link has already been used',
    lines: ['Each approval link decides once.', outcomeOf(checkpoint)],
  });
}

export function expiredLinkPage(checkpoint: CheckpointView | null): string {
  const decided = checkpoint && checkpoint.status !== 'pending';
  return messagePage({
    title: 'This link has expired',
    lines: decided
      ? [outcomeOf(checkpoint)]
      : [
          'Approval links are valid for a limited time.',
          'Ask for a new link (an operator can mint one with POST /api/checkpoints/:id/links), or decide in Slack if your team uses it.',
        ],
  });
}

export function invalidLinkPage(): string {
  return messagePage({
    title: 'This link is not valid',
    lines: [
      'It may have been copied incompletely, changed, or issued by a different Countersign installation.',
      'Open the link from the original message again, or ask for a new one.',
    ],
  });
}

export function notAllowedPage(recipient: string): string {
  return messagePage({
    title: 'You can no longer decide this request',
    lines: [`${recipient} is not among the people allowed to decide it. Ask whoever sent the link.`],
  });
}
