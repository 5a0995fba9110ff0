import type { DigestData } from '../../src/digest/compute.js';
import { escapeHtml } from './escape.js';
import { COLORS, emailShell, facts, heading, paragraph, textFacts } from './layout.js';

/**
 * The manager's digest. The chart is made of table cells with widths and background colours: no JavaScript, no
 * images to block, and it reads the same in Outlook (Word engine), Gmail and Apple Mail. Every number in the chart
 * is also written next to its bar and in the plain-text part.
 */

function formatAge(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  if (h >= 48) return `${Math.floor(h / 24)} days`;
  if (h >= 1) return `${h} h`;
  return `${Math.max(1, Math.floor(ms / 60_000))} min`;
}

const pct = (n: number, of: number) => (of === 0 ? 'n/a' : `${Math.round((n / of) * 100)}%`);

function when(d: Date, tz: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: tz, dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

function day(d: Date, tz: string): string {
  // en-CA writes dates as YYYY-MM-DD, in the recipient's time zone.
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    d,
  );
}

const shortVersion = (v: string) => `${v.slice(0, 6)}…`;

/** "dispute-manager 3f2a9c… → 9b1c0d… on 2026-11-29 — agreement 95% (40 decisions) before, 80% (12) after" */
function versionChangeRow(c: DigestData['versionChanges'][number], tz: string): { label: string; value: string } {
  const agents = c.agents.map((a) => `${a.agent} ${shortVersion(a.from)} → ${shortVersion(a.to)}`).join(', ');
  const before = `agreement ${pct(c.before.agreed, c.before.compared)} (${c.before.compared} decisions) before`;
  const after = c.enoughAfter
    ? `${pct(c.after.agreed, c.after.compared)} (${c.after.compared}) after`
    : `not enough decisions yet after the change (${c.after.compared})`;
  return { label: c.workflow, value: `${agents} on ${day(c.changedAt, tz)} — ${before}, ${after}` };
}

function chartRows(d: DigestData): { label: string; value: number; color: string }[] {
  return [
    { label: 'Approved as proposed', value: d.decisions.approved, color: COLORS.green },
    { label: 'Approved with edits', value: d.decisions.edited, color: COLORS.blue },
    { label: 'Rejected', value: d.decisions.rejected, color: COLORS.red },
    { label: 'Timed out', value: d.decisions.timedOut, color: COLORS.muted },
    { label: 'Resolved without a person', value: d.resolved.withoutPerson, color: COLORS.amber },
  ];
}

function barChart(rows: { label: string; value: number; color: string }[]): string {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const lines = rows
    .map((r) => {
      const width = r.value === 0 ? 0 : Math.max(2, Math.round((r.value / max) * 300));
      const bar =
        width === 0
          ? ''
          : `<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr><td width="${width}" height="14" bgcolor="${r.color}" style="width:${width}px;height:14px;background:${r.color};font-size:0;line-height:0;">&nbsp;</td></tr></table>`;
      return `<tr><td style="padding:3px 12px 3px 0;width:190px;color:${COLORS.muted};">${escapeHtml(r.label)}</td><td style="padding:3px 0;width:310px;">${bar}</td><td align="right" style="padding:3px 0 3px 8px;font-weight:600;">${r.value}</td></tr>`;
    })
    .join('');
  return `<tr><td style="padding:8px 0 12px 0;"><div style="font-weight:600;padding:0 0 4px 0;">Decisions in this period</div><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-top:1px solid ${COLORS.border};">${lines}</table></td></tr>`;
}

function textBar(r: { label: string; value: number }, max: number): string {
  const n = r.value === 0 ? 0 : Math.max(1, Math.round((r.value / Math.max(1, max)) * 30));
  return `  ${r.label.padEnd(27)} ${'#'.repeat(n).padEnd(30)} ${r.value}`;
}

export function digestEmail(d: DigestData, opts: { timeZone: string; dashboardUrl: string }) {
  const tz = opts.timeZone;
  const decided = d.decisions.approved + d.decisions.edited + d.decisions.rejected + d.decisions.timedOut;
  const subject = `Countersign digest: ${d.pending.length} waiting${d.slaBreaches ? ` (${d.slaBreaches} overdue)` : ''}, ${decided} decided`;
  const period = `${when(d.from, tz)} to ${when(d.to, tz)} (${tz})`;
  const summary = [
    { label: 'Waiting for a person', value: String(d.pending.length) },
    { label: 'Past their SLA', value: String(d.slaBreaches), tone: d.slaBreaches ? ('red' as const) : undefined },
    { label: 'Decided by people', value: String(decided) },
    {
      label: 'Resolved without a person',
      value: `${d.resolved.withoutPerson} of ${d.resolved.total} (${pct(d.resolved.withoutPerson, d.resolved.total)})`,
    },
    {
      label: 'People agreed with the AI',
      value: `${d.agreement.agreed} of ${d.agreement.compared} (${pct(d.agreement.agreed, d.agreement.compared)})`,
    },
    {
      label: 'Mail quarantined for a look',
      value: d.mail.quarantined
        ? `${d.mail.quarantined} (${d.mail.reasons.map((r) => `${r.reason} ${r.count}`).join(', ')})`
        : '0',
      tone: d.mail.quarantined ? ('red' as const) : undefined,
    },
    { label: 'Automatic mail ignored', value: String(d.mail.ignored) },
    {
      label: 'Model usage',
      value: `${d.usage.calls} calls, ${d.usage.inputTokens.toLocaleString('en-US')} tokens in, ${d.usage.outputTokens.toLocaleString('en-US')} out, $${d.usage.costUsd.toFixed(4)}`,
    },
  ];
  // Agreement is per process: a high rate on one workflow must not hide a low one on another.
  const perWorkflow = d.byWorkflow.map((w) => ({
    label: w.workflow,
    value: `${w.resolved.withoutPerson} of ${w.resolved.total} without a person; people agreed with the AI in ${w.agreement.agreed} of ${w.agreement.compared} (${pct(w.agreement.agreed, w.agreement.compared)})`,
  }));
  // A prompt or model change is the first suspect when agreement moves.
  const versionRows = d.versionChanges.map((c) => versionChangeRow(c, tz));
  const rows = chartRows(d);
  const pendingRows = d.pending.slice(0, 20).map((p) => ({
    label: formatAge(p.ageMs) + (p.overdue ? ' (overdue)' : ''),
    value: p.title,
    link: p.link,
    overdue: p.overdue,
  }));
  const pendingHtml = pendingRows.length
    ? `<tr><td style="padding:8px 0 12px 0;"><div style="font-weight:600;padding:0 0 4px 0;">Waiting, oldest first</div><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-top:1px solid ${COLORS.border};">${pendingRows
        .map(
          (p) =>
            `<tr><td valign="top" style="padding:4px 12px 4px 0;width:120px;color:${p.overdue ? COLORS.red : COLORS.muted};">${escapeHtml(p.label)}</td><td style="padding:4px 0;"><a href="${escapeHtml(p.link)}" style="color:${COLORS.blue};">${escapeHtml(p.value)}</a></td></tr>`,
        )
        .join('')}</table></td></tr>`
    : paragraph('Nothing is waiting for a person.', COLORS.muted);

  const html = emailShell({
    title: subject,
    preheader: `${d.pending.length} waiting, ${d.slaBreaches} overdue, ${decided} decided, agreement ${pct(d.agreement.agreed, d.agreement.compared)}`,
    body: [
      heading('Your Countersign digest'),
      paragraph(escapeHtml(period), COLORS.muted),
      facts('Summary', summary),
      perWorkflow.length ? facts('By workflow', perWorkflow) : '',
      versionRows.length ? facts('Agent versions changed', versionRows) : '',
      ...d.sections.map((section) => facts(section.title, section.rows)),
      barChart(rows),
      pendingHtml,
    ].join('\n'),
    footer: `Links open a confirmation page; nothing is decided by opening them. <a href="${escapeHtml(opts.dashboardUrl)}" style="color:${COLORS.muted};">Dashboard</a>`,
  });
  const max = Math.max(...rows.map((r) => r.value));
  const text = [
    'Your Countersign digest',
    period,
    '',
    textFacts('Summary', summary),
    '',
    ...(perWorkflow.length ? [textFacts('By workflow', perWorkflow), ''] : []),
    ...(versionRows.length ? [textFacts('Agent versions changed', versionRows), ''] : []),
    ...d.sections.flatMap((section) => [textFacts(section.title, section.rows), '']),
    'Decisions in this period',
    ...rows.map((r) => textBar(r, max)),
    '',
    pendingRows.length ? 'Waiting, oldest first' : 'Nothing is waiting for a person.',
    ...pendingRows.map((p) => `  ${p.label.padEnd(16)} ${p.value}\n    ${p.link}`),
    '',
    `Dashboard: ${opts.dashboardUrl}`,
  ].join('\n');
  return { subject, text, html };
}
