import type { CheckpointView } from '../../src/views/checkpoint.js';
import { escapeHtml } from './escape.js';
import { buttons, COLORS, emailShell, facts, heading, paragraph, quote, textFacts } from './layout.js';

/** What the email channel knows about a case beyond the checkpoint: where it came from, files, later messages. */
export interface CheckpointEmailContext {
  origin?: {
    from: string;
    authentication?: {
      spf: string | null;
      dkim: string | null;
      dmarc: string | null;
      verdict: string;
      ignored: number;
    };
  };
  attachments: { filename: string; contentType: string; size: number; sha256: string }[];
  followUps: { at: Date; text: string }[];
}

const size = (n: number) =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`;

function senderRows(ctx: CheckpointEmailContext) {
  const o = ctx.origin;
  if (!o) return [];
  const a = o.authentication;
  const verdict = !a
    ? 'not checked'
    : a.verdict === 'pass'
      ? 'verified by our mail server (DMARC pass)'
      : a.verdict === 'fail'
        ? 'FAILED: the sender could not be verified'
        : 'not verified: treat the sender address with care';
  const rows: { label: string; value: string; tone?: keyof typeof COLORS }[] = [
    { label: 'From', value: o.from },
    {
      label: 'Sender check',
      value: verdict,
      tone: a?.verdict === 'pass' ? 'green' : a?.verdict === 'fail' ? 'red' : 'amber',
    },
  ];
  if (a)
    rows.push({
      label: 'SPF / DKIM / DMARC',
      value: `${a.spf ?? 'none'} / ${a.dkim ?? 'none'} / ${a.dmarc ?? 'none'}`,
    });
  if (a?.ignored)
    rows.push({ label: 'Ignored', value: `${a.ignored} authentication header(s) not added by our server` });
  return rows;
}

/**
 * The email an approver gets for a checkpoint: the proposal first, the evidence, the customer's own words as quoted
 * data, attachments and later messages, and buttons that open the confirmation page. Opening a link decides
 * nothing (mail scanners follow links); the page asks for the click.
 */
export function checkpointEmail(
  cp: CheckpointView,
  link: string,
  ctx: CheckpointEmailContext = { attachments: [], followUps: [] },
): { subject: string; text: string; html: string } {
  const subject = `Decision needed: ${cp.title}`;
  const confidence =
    cp.proposal.confidence === undefined ? '' : ` (confidence ${Math.round(cp.proposal.confidence * 100)}%)`;
  const proposed = `${cp.proposal.outcome}${confidence}`;
  const sender = senderRows(ctx);
  const files = ctx.attachments.map((a) => ({
    label: a.filename,
    value: `${a.contentType}, ${size(a.size)}, sha256 ${a.sha256.slice(0, 12)}…`,
  }));
  const reply = typeof cp.values.reply === 'string' ? cp.values.reply : null;

  const text = [
    subject,
    '',
    cp.summary,
    '',
    `Proposed: ${proposed}`,
    cp.proposal.rationale ? `Why: ${cp.proposal.rationale}` : '',
    '',
    `Open to approve, edit or reject: ${link}`,
    '',
    ...(sender.length ? [textFacts('Sender', sender), ''] : []),
    ...cp.evidence.map((s) => `${textFacts(s.title, s.items)}\n`),
    ...(files.length ? [textFacts('Attachments', files), ''] : []),
    ...(ctx.followUps.length
      ? [
          'Later messages from the customer',
          ...ctx.followUps.map((f) => `  [${f.at.toISOString()}]\n  ${f.text.replace(/\n/g, '\n  ')}`),
          '',
        ]
      : []),
    ...(reply ? ['Reply the customer will receive', `  ${reply.replace(/\n/g, '\n  ')}`, ''] : []),
    'Opening the link does not decide anything: you confirm on the page.',
  ]
    .filter((l, i, all) => l !== '' || all[i - 1] !== '')
    .join('\n');

  const tone =
    cp.proposal.outcome === 'accept' ? COLORS.green : cp.proposal.outcome === 'reject' ? COLORS.red : COLORS.amber;
  const body = [
    heading(cp.title),
    paragraph(escapeHtml(cp.summary)),
    paragraph(
      `<span style="display:inline-block;padding:2px 8px;border-radius:10px;border:1px solid ${tone};color:${tone};font-weight:600;">Proposed: ${escapeHtml(proposed)}</span>`,
    ),
    cp.proposal.rationale ? paragraph(escapeHtml(cp.proposal.rationale), COLORS.muted) : '',
    buttons([
      { href: `${link}?intent=approve`, label: 'Review and approve', color: COLORS.green },
      { href: `${link}?intent=edit`, label: 'Edit the reply', color: COLORS.blue },
      { href: `${link}?intent=reject`, label: 'Reject', color: COLORS.red },
    ]),
    sender.length ? facts('Sender', sender) : '',
    ...cp.evidence.map((s) => facts(s.title, s.items)),
    files.length ? facts('Attachments', files) : '',
    ...ctx.followUps.map((f) =>
      quote(`Later message from the customer, ${f.at.toISOString().slice(0, 16).replace('T', ' ')} UTC`, f.text),
    ),
    reply ? quote('Reply the customer will receive', reply) : '',
  ].join('\n');
  const footer = `Each button opens a page where you confirm; opening it decides nothing. The link is for ${escapeHtml('you')} only and expires in 7 days. If someone decides first (here, in Slack or by API), the page shows who did.`;
  return {
    subject,
    text,
    html: emailShell({ title: subject, preheader: `Proposed: ${proposed}. ${cp.summary}`.slice(0, 140), body, footer }),
  };
}
