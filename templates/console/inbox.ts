import type { BulkOutcome } from '../../src/console/bulk.js';
import type { InboxRow } from '../../src/console/inbox.js';
import type { CheckpointView } from '../../src/views/checkpoint.js';
import {
  type ApprovalFormState,
  channelName,
  decisionDetails,
  decisionForm,
  evidenceSection,
  header,
  proposalSection,
} from '../approval-page.js';
import { formatWhen, html, type SafeHtml } from '../layout.js';
import { consoleMessagePage, consolePage, csrfField, liveRegion, type PageViewer } from './layout.js';

export interface BulkGroupView {
  key: string;
  items: InboxRow[];
}

const MINUTE = 60_000;

/** "20 min", "3 h", "2 d": a duration people read at a glance. */
function spanText(ms: number): string {
  const m = Math.max(1, Math.round(Math.abs(ms) / MINUTE));
  if (m < 60) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} d`;
}

/** The SLA clock in words (never colour alone): overdue, due within the hour, due later, or none. */
export function slaOf(dueAt: Date | undefined, now: Date): { text: string; cls?: string } {
  if (!dueAt) return { text: 'no deadline' };
  const left = dueAt.getTime() - now.getTime();
  if (left <= 0) return { text: `overdue by ${spanText(left)}`, cls: 'sla-late' };
  return left < 60 * MINUTE
    ? { text: `due in ${spanText(left)}`, cls: 'sla-soon' }
    : { text: `due in ${spanText(left)}` };
}

const percent = (c: number | undefined) => (c === undefined ? '' : `${Math.round(c * 100)}%`);

function sla(row: InboxRow, now: Date): SafeHtml {
  const s = slaOf(row.dueAt, now);
  return s.cls ? html`<span class="${s.cls}">${s.text}</span>` : html`<span class="muted">${s.text}</span>`;
}

/** The list the live region refreshes. */
export function inboxList(rows: InboxRow[], now: Date): SafeHtml {
  if (rows.length === 0) return html`<p>Nothing is waiting for you. New requests appear here as they arrive.</p>`;
  return html`<table><caption class="sr-only">Requests waiting for your decision, most urgent first</caption><thead><tr><th scope="col">Request</th><th scope="col">AI proposes</th><th scope="col" class="num">Amount</th><th scope="col">Waiting</th><th scope="col">SLA</th></tr></thead><tbody>${rows.map(
    (r) =>
      html`<tr><td><a href="/inbox/${r.id}">${r.title}</a><br><span class="muted">${r.workflow} · ${r.name}${r.via && ` · via ${r.via}`}</span></td><td><strong>${r.outcome}</strong>${r.confidence !== undefined && html` <span class="muted">(${percent(r.confidence)} sure)</span>`}</td><td class="num">${r.amount ?? '—'}</td><td>${spanText(now.getTime() - r.createdAt.getTime())}</td><td>${sla(r, now)}</td></tr>`,
  )}</tbody></table>`;
}

function bulkForm(group: BulkGroupView, index: number, csrf: string): SafeHtml {
  const id = `bulk-${index}`;
  const first = group.items[0];
  return html`<section class="card" aria-labelledby="${id}-h"><h3 id="${id}-h">${group.items.length} alike: ${first?.workflow} · ${first?.name}, the AI proposes “${first?.outcome}”</h3>
<form method="post" action="/inbox/bulk">${csrfField(csrf)}<input type="hidden" name="kind" value="${group.key}">
<fieldset><legend>Select the ones to approve</legend>
<div class="check"><input type="checkbox" id="${id}-all" data-select-all="item" hidden><label for="${id}-all" hidden>Select all</label></div>
${group.items.map(
  (r, i) =>
    html`<div class="check"><input type="checkbox" id="${id}-${i}" name="item" value="${r.id}:${r.version}"><label for="${id}-${i}">${r.title} <span class="muted">(${percent(r.confidence)} sure${r.amount !== undefined && `, amount ${r.amount}`})</span></label></div>`,
)}</fieldset>
<label for="${id}-comment">Comment (optional, recorded with each approval)</label><textarea id="${id}-comment" name="comment" rows="2" maxlength="2000"></textarea>
<div class="actions"><button class="approve" type="submit">Approve selected</button></div></form></section>`;
}

export function inboxPage(o: {
  person: PageViewer;
  rows: InboxRow[];
  groups: BulkGroupView[];
  now: Date;
  etag: string;
  notice?: string;
}): string {
  return consolePage({
    title: 'Inbox',
    person: o.person,
    section: 'inbox',
    body: html`<h1>Waiting for you</h1>
${o.notice && html`<div class="card notice" role="status"><p>${o.notice}</p></div>`}
<p class="muted">Requests you may decide — yourself, through a group, or as a delegate — most urgent first.</p>
${liveRegion({ url: '/inbox/live', etag: o.etag, label: 'Requests waiting for you', body: inboxList(o.rows, o.now) })}
${o.groups.length > 0 && html`<h2>Approve alike low-risk requests together</h2><p class="muted">The policy marks these as low-risk (a sure AI, a small amount). Each is approved and audited on its own; one decided or changed meanwhile is reported, not overwritten.</p>${o.groups.map((g, i) => bulkForm(g, i, o.person.csrf))}`}`,
  });
}

/** The approval page's evidence, proposal and form, inside the console, deciding as the signed-in person. */
export function inboxDecidePage(o: {
  person: PageViewer;
  checkpoint: CheckpointView;
  via?: string;
  state?: ApprovalFormState;
}): string {
  const { checkpoint } = o;
  return consolePage({
    title: checkpoint.title,
    person: o.person,
    section: 'inbox',
    body: html`<p><a href="/inbox">← Inbox</a></p>${header(checkpoint)}${evidenceSection(checkpoint)}${proposalSection(checkpoint.proposal)}
${decisionForm(checkpoint, o.state, html`<form method="post" action="/inbox/${checkpoint._id}">${csrfField(o.person.csrf)}<input type="hidden" name="version" value="${checkpoint.version}">`)}
<p class="muted">Deciding as ${o.person.email}${o.via && ` (via ${o.via})`}.</p>`,
  });
}

/** A checkpoint no longer waiting: who decided how and when (any channel), and nothing to do. */
export function inboxDecidedPage(o: { person: PageViewer; checkpoint: CheckpointView; title?: string }): string {
  const { checkpoint } = o;
  return consolePage({
    title: o.title ?? 'Already decided',
    person: o.person,
    section: 'inbox',
    body: html`<p><a href="/inbox">← Inbox</a></p>${header(checkpoint)}<h2>${o.title ?? 'This request has already been decided'}</h2>${
      checkpoint.decision ? decisionDetails(checkpoint.decision) : html`<p>The request is ${checkpoint.status}.</p>`
    }<p class="muted">Nothing more is needed from you; nothing was changed.</p>`,
  });
}

export function inboxRefusalPage(o: { person: PageViewer; title: string; lines: string[] }): string {
  return consoleMessagePage({
    ...o,
    section: 'inbox',
    lines: [...o.lines, html`<a href="/inbox">Back to the inbox</a>`],
  });
}

function notApprovedLine(o: Exclude<BulkOutcome, { status: 'approved' }>): SafeHtml {
  if (o.status === 'already_decided') {
    const d = o.decided;
    const why = d
      ? `already ${d.decision === 'approve' ? 'approved' : 'rejected'} by ${d.actor} via ${channelName(d.channel)} on ${formatWhen(d.decidedAt)}`
      : `already ${o.state}`;
    return html`<li><a href="/inbox/${o.checkpointId}">${o.title}</a>: ${why}. Left as it was.</li>`;
  }
  return html`<li><a href="/inbox/${o.checkpointId}">${o.title}</a>: ${o.reason}. Not changed.</li>`;
}

/** What a bulk approval did, item by item. */
export function bulkResultPage(o: { person: PageViewer; outcomes: BulkOutcome[] }): string {
  const approved = o.outcomes.filter((x) => x.status === 'approved');
  const refused = o.outcomes.filter((x) => x.status !== 'approved');
  return consolePage({
    title: 'Bulk approval',
    person: o.person,
    section: 'inbox',
    body: html`<h1>Bulk approval</h1><div class="card notice" role="status"><p>${approved.length} approved, ${refused.length} not approved.</p></div>
${approved.length > 0 && html`<h2>Approved</h2><ul>${approved.map((a) => html`<li><a href="/inbox/${a.checkpointId}">${a.title}</a>${a.pendingApprovals ? `: your approval is recorded; ${a.pendingApprovals} more needed` : ''}</li>`)}</ul>`}
${refused.length > 0 && html`<h2>Not approved</h2><ul>${refused.map(notApprovedLine)}</ul>`}
<p><a href="/inbox">Back to the inbox</a></p>`,
  });
}
