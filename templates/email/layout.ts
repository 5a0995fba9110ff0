import { escapeHtml } from './escape.js';

/**
 * The HTML shell every Countersign email shares. Email clients are not browsers: Outlook for Windows renders
 * with Word, Gmail drops <style> in some views, dark modes invert colours. Hence tables for layout, inline styles
 * only, a fixed 600 px column, system fonts, no images needed to understand the message, and buttons that are
 * plain links in a coloured cell (they work with images and CSS off).
 */

export const COLORS = {
  text: '#1f2328',
  muted: '#57606a',
  border: '#d0d7de',
  panel: '#f6f8fa',
  blue: '#0969da',
  green: '#1a7f37',
  red: '#cf222e',
  amber: '#9a6700',
};

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif";

export function emailShell(opts: { title: string; preheader: string; body: string; footer: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light"><meta name="supported-color-schemes" content="light">
<title>${escapeHtml(opts.title)}</title></head>
<body style="margin:0;padding:0;background:#ffffff;">
<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">${escapeHtml(opts.preheader)}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#ffffff;">
<tr><td align="center" style="padding:16px 8px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:600px;font-family:${FONT};font-size:14px;line-height:20px;color:${COLORS.text};">
<tr><td style="padding:0 0 12px 0;font-size:12px;color:${COLORS.muted};">Countersign</td></tr>
${opts.body}
<tr><td style="padding:16px 0 0 0;border-top:1px solid ${COLORS.border};font-size:12px;line-height:18px;color:${COLORS.muted};">${opts.footer}</td></tr>
</table></td></tr></table></body></html>`;
}

export function heading(text: string, size = 20): string {
  return `<tr><td style="padding:0 0 8px 0;font-size:${size}px;line-height:${size + 6}px;font-weight:600;">${escapeHtml(text)}</td></tr>`;
}

export function paragraph(html: string, color = COLORS.text): string {
  return `<tr><td style="padding:0 0 12px 0;color:${color};">${html}</td></tr>`;
}

/** A label/value table; values are escaped and keep their line breaks. */
export function facts(title: string, rows: { label: string; value: string; tone?: keyof typeof COLORS }[]): string {
  const cells = rows
    .map(
      (r) =>
        `<tr><td valign="top" style="padding:4px 12px 4px 0;width:170px;color:${COLORS.muted};">${escapeHtml(r.label)}</td><td valign="top" style="padding:4px 0;color:${COLORS[r.tone ?? 'text']};">${escapeHtml(r.value).replace(/\n/g, '<br>')}</td></tr>`,
    )
    .join('');
  return `<tr><td style="padding:8px 0 12px 0;"><div style="font-weight:600;padding:0 0 4px 0;">${escapeHtml(title)}</div><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-top:1px solid ${COLORS.border};">${cells}</table></td></tr>`;
}

/** A bulletproof button: a link inside a coloured table cell. */
function button(href: string, label: string, color: string): string {
  return `<td style="padding:0 8px 8px 0;"><table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr><td bgcolor="${color}" style="border-radius:6px;background:${color};"><a href="${escapeHtml(href)}" style="display:inline-block;padding:10px 18px;font-weight:600;color:#ffffff;text-decoration:none;border-radius:6px;">${escapeHtml(label)}</a></td></tr></table></td>`;
}

export function buttons(items: { href: string; label: string; color: string }[]): string {
  return `<tr><td style="padding:4px 0 8px 0;"><table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>${items.map((b) => button(b.href, b.label, b.color)).join('')}</tr></table></td></tr>`;
}

/** A quoted block for text that came from outside (the customer's words): shown as data, visibly. */
export function quote(title: string, text: string): string {
  return `<tr><td style="padding:8px 0 12px 0;"><div style="font-weight:600;padding:0 0 4px 0;">${escapeHtml(title)}</div><div style="border-left:3px solid ${COLORS.border};background:${COLORS.panel};padding:8px 12px;color:${COLORS.text};white-space:pre-wrap;">${escapeHtml(text)}</div></td></tr>`;
}

/** Plain-text counterpart of `facts`. */
export function textFacts(title: string, rows: { label: string; value: string }[]): string {
  return `${title}\n${rows.map((r) => `  ${r.label}: ${r.value.replace(/\n/g, '\n    ')}`).join('\n')}`;
}
