import { createHash } from 'node:crypto';

/**
 * HTML that is already safe to emit. Everything interpolated into `html` is escaped unless it is SafeHtml,
 * so forgetting to escape takes effort rather than attention.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: Interpolation): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  // false/null/undefined render nothing so `${cond && html`…`}` reads naturally.
  if (value === null || value === undefined || typeof value === 'boolean') return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--card:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--accent:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--bg:#0d1117;--card:#161b22}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:760px;margin:0 auto;padding:24px 16px 48px}h1{font-size:1.5rem;margin:0 0 8px}h2{font-size:1.1rem;margin:24px 0 8px}
.muted{color:var(--muted)}.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:12px 0}
dl{display:grid;grid-template-columns:minmax(120px,30%) 1fr;gap:4px 12px;margin:0}dt{color:var(--muted)}dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
label{display:block;font-weight:600;margin:12px 0 4px}input[type=text],input[type=number],select,textarea{width:100%;font:inherit;padding:8px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
textarea{min-height:8em}.check{display:flex;gap:8px;align-items:center;font-weight:600}.check input{width:auto}
.error{color:var(--bad);font-weight:600}.errors{border-color:var(--bad)}.actions{display:flex;gap:12px;margin-top:20px}
button{font:inherit;font-weight:600;padding:10px 20px;border-radius:6px;border:1px solid var(--line);cursor:pointer}
.approve{background:var(--ok);color:#fff;border-color:var(--ok)}.reject{background:var(--bg);color:var(--bad);border-color:var(--bad)}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line)}a{color:var(--accent)}
`;

/**
 * Pages carry no script at all; the one inline stylesheet is allowed by its hash, so the policy can stay
 * `default-src 'none'` without an external stylesheet to serve.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function layout(opts: { title: string; body: SafeHtml }): string {
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex,nofollow"><title>${opts.title} · Countersign</title><style>${new SafeHtml(STYLE)}</style></head><body><main>${opts.body}</main></body></html>`}`;
}

/** A page that only says something: errors, link states, confirmations. */
export function messagePage(opts: { title: string; lines: (string | SafeHtml)[] }): string {
  return layout({
    title: opts.title,
    body: html`<h1>${opts.title}</h1>${opts.lines.map((l) => html`<p>${l}</p>`)}`,
  });
}

/** Dates as people read them in an email or on a page: one fixed zone, no locale surprises. */
export function formatWhen(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
