import { ALLOWED_TYPES } from '../../src/console/file-types.js';
import type { FormLinkDoc } from '../../src/console/form-link-registry.js';
import type { ProgressState, RunProgress } from '../../src/console/run-progress.js';
import type { IntakeField, TypedValues } from '../../src/console/schema-form.js';
import type { UploadLimits, UploadProblem } from '../../src/console/uploads.js';
import { html, type SafeHtml } from '../layout.js';
import { consoleMessagePage, consolePage, csrfField, liveRegion, type PageViewer } from './layout.js';

/** Intake forms: the list of workflows' forms, one form, and the page that follows a run after submit. */

export interface FormListing {
  name: string;
  description: string;
  files: boolean;
}

export interface MintedLink {
  workflow: string;
  url: string;
  expiresAt: Date;
}

const when = (d: Date) => `${d.toISOString().replace('T', ' ').slice(0, 16)} UTC`;

/** A public link in use, as the admins' list shows it (never its token: that was shown once, when made). */
export type ActiveFormLink = Pick<FormLinkDoc, '_id' | 'workflow' | 'mintedBy' | 'createdAt' | 'expiresAt'>;

function linksInUse(person: PageViewer, links: readonly ActiveFormLink[]): SafeHtml {
  if (links.length === 0) return html`<h2>Public links in use</h2><p class="muted">None.</p>`;
  return html`<h2>Public links in use</h2>
<table><caption class="sr-only">Public form links not expired or withdrawn</caption><thead><tr><th scope="col">Workflow</th><th scope="col">Made by</th><th scope="col">Made</th><th scope="col">Expires</th><th scope="col">Withdraw</th></tr></thead><tbody>${links.map(
    (l) =>
      html`<tr><td>${l.workflow}</td><td>${l.mintedBy}</td><td>${when(l.createdAt)}</td><td>${when(l.expiresAt)}</td><td><form method="post" action="/forms/links/${l._id}/revoke" class="inline" data-confirm="Withdraw this ${l.workflow} link? Whoever holds it can no longer use the form.">${csrfField(person.csrf)}<button type="submit">Withdraw<span class="sr-only"> the ${l.workflow} link made ${when(l.createdAt)}</span></button></form></td></tr>`,
  )}</tbody></table>`;
}

export function formsListPage(o: {
  person: PageViewer;
  forms: FormListing[];
  canMint: boolean;
  days: readonly number[];
  /** The admins' list of links in use (empty for others). */
  links: readonly ActiveFormLink[];
  minted?: MintedLink;
  revoked?: ActiveFormLink;
}): string {
  const minted =
    o.minted &&
    html`<div class="card notice" role="status"><h2>Public link for ${o.minted.workflow}</h2>
<p>Anyone with this link can fill in the form until ${when(o.minted.expiresAt)}. It is shown only now: copy it before you leave this page. You can withdraw it below.</p>
<label for="minted-link">Link</label><input type="text" id="minted-link" readonly value="${o.minted.url}"></div>`;
  const revoked =
    o.revoked &&
    html`<div class="card notice" role="status"><p>The ${o.revoked.workflow} link made by ${o.revoked.mintedBy} on ${when(o.revoked.createdAt)} is withdrawn: it no longer opens the form.</p></div>`;
  const mint = (f: FormListing) =>
    html`<form method="post" action="/forms/${f.name}/links" class="inline">${csrfField(o.person.csrf)}<label for="days-${f.name}" class="sr-only">Link for ${f.name} valid for</label><select id="days-${f.name}" name="days">${o.days.map(
      (d) => html`<option value="${d}"${d === 7 && html` selected`}>${d === 1 ? '1 day' : `${d} days`}</option>`,
    )}</select> <button type="submit">Create public link<span class="sr-only"> for ${f.name}</span></button></form>`;
  return consolePage({
    title: 'Forms',
    person: o.person,
    section: 'forms',
    body: html`<h1>Intake forms</h1>
<p>Each workflow has a form made from its input schema. Submitting one starts a run.${o.canMint ? ' A public link lets someone without an account (a customer) use the form until it expires.' : ''}</p>
${minted}${revoked}
<table><caption class="sr-only">Workflows and their forms</caption><thead><tr><th scope="col">Workflow</th><th scope="col">What it does</th><th scope="col">Files</th><th scope="col">Form</th>${o.canMint && html`<th scope="col">Public link</th>`}</tr></thead><tbody>${o.forms.map(
      (f) =>
        html`<tr><td>${f.name}</td><td>${f.description}</td><td>${f.files ? 'yes' : 'no'}</td><td><a href="/forms/${f.name}">Open the ${f.name} form</a></td>${o.canMint && html`<td>${mint(f)}</td>`}</tr>`,
    )}</tbody></table>${o.canMint && linksInUse(o.person, o.links)}`,
  });
}

export interface FileSlot {
  max: number;
  maxBytes: number;
}

const FILE_KINDS = 'PDF, PNG, JPEG, GIF, plain text or an email (.eml)';
/** A hint to the browser's file picker only; the server decides by the bytes. */
const ACCEPT =
  '.pdf,.png,.jpg,.jpeg,.gif,.txt,.eml,application/pdf,image/png,image/jpeg,image/gif,text/plain,message/rfc822';
const MB = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

function fieldControl(f: IntakeField, value: string | boolean | undefined, errors: string[]): SafeHtml {
  const id = `f-${f.name}`;
  const name = `in.${f.name}`;
  const described = [f.help ? `h-${f.name}` : '', errors.length ? `e-${f.name}` : ''].filter(Boolean).join(' ');
  const common = html` id="${id}" name="${name}"${described && html` aria-describedby="${described}"`}${errors.length > 0 && html` aria-invalid="true"`}${f.required && f.kind !== 'checkbox' && html` required`}`;
  const text = typeof value === 'string' ? value : '';
  const maxLength = f.maxLength !== undefined ? html` maxlength="${f.maxLength}"` : '';
  const label = html`${f.label}${f.required && html` <span class="muted">(required)</span>`}`;
  const help = f.help && html`<p class="hint" id="h-${f.name}">${f.help}</p>`;
  const problems = errors.length > 0 && html`<p class="error" id="e-${f.name}">${errors.join(' ')}</p>`;
  switch (f.kind) {
    case 'checkbox':
      return html`<div class="field"><label class="check" for="${id}"><input type="checkbox"${common} value="on"${value === true && html` checked`}> ${label}</label>${help}${problems}</div>`;
    case 'select':
      return html`<div class="field"><label for="${id}">${label}</label>${help}${problems}<select${common}>${!f.required || !text ? html`<option value="">Choose…</option>` : ''}${(
        f.options ?? []
      ).map((opt) => html`<option value="${opt}"${opt === text && html` selected`}>${opt}</option>`)}</select></div>`;
    case 'textarea':
      // The newline after the opening tag is eaten by the HTML parser, so text that starts with one survives.
      return html`<div class="field"><label for="${id}">${label}</label>${help}${problems}<textarea${common} rows="8"${maxLength}>
${text}</textarea></div>`;
    case 'number':
    case 'integer':
      return html`<div class="field"><label for="${id}">${label}</label>${help}${problems}<input type="number"${common} step="${f.kind === 'integer' ? '1' : 'any'}"${f.minimum !== undefined && html` min="${f.minimum}"`}${f.maximum !== undefined && html` max="${f.maximum}"`} value="${text}"></div>`;
    case 'decimal':
      return html`<div class="field"><label for="${id}">${label}</label>${help}${problems}<input type="text" inputmode="decimal"${common} value="${text}"></div>`;
    case 'email':
      return html`<div class="field"><label for="${id}">${label}</label>${help}${problems}<input type="email"${common} autocomplete="email"${maxLength} value="${text}"></div>`;
    default:
      return html`<div class="field"><label for="${id}">${label}</label>${help}${problems}<input type="text"${common}${/name$/i.test(f.name) && html` autocomplete="name"`}${maxLength} value="${text}"></div>`;
  }
}

export function intakeFormPage(o: {
  person?: PageViewer;
  workflow: { name: string; description: string };
  fields: IntakeField[];
  files?: FileSlot;
  values: TypedValues;
  byField: Map<string, string[]>;
  other: string[];
  action: string;
  csrf: string;
  nonce: string;
  /** Files were chosen but not kept because the form had to be corrected. */
  filesDropped?: boolean;
}): string {
  const problems = [...o.byField].flatMap(([name, msgs]) => {
    const label = o.fields.find((f) => f.name === name)?.label ?? name;
    return msgs.map((m) => html`<li><a href="#f-${name}">${label}: ${m}</a></li>`);
  });
  const all = [...problems, ...o.other.map((m) => html`<li>${m}</li>`)];
  const summary =
    all.length > 0 &&
    html`<div class="card errors" role="alert" id="problems"><h2>Please correct ${all.length === 1 ? 'this' : `these ${all.length}`} before sending</h2><ul>${all}</ul><p>Nothing was started yet.</p></div>`;
  const files =
    o.files &&
    html`<div class="field"><label for="f-files">Files <span class="muted">(optional)</span></label><p class="hint" id="h-files">Up to ${o.files.max} files, ${MB(o.files.maxBytes)} each: ${FILE_KINDS}. They are kept as sent and read as data, never opened or run.${o.filesDropped ? ' The files you chose before were not kept: choose them again.' : ''}</p><input type="file" id="f-files" name="files" multiple accept="${ACCEPT}" aria-describedby="h-files"></div>`;
  return consolePage({
    title: `${o.workflow.name} form`,
    ...(o.person ? { person: o.person, section: 'forms' as const } : {}),
    body: html`<h1>${o.workflow.name}</h1><p>${o.workflow.description}</p>${summary}
<form method="post" action="${o.action}" enctype="multipart/form-data" class="intake">${csrfField(o.csrf)}<input type="hidden" name="_nonce" value="${o.nonce}">
${o.fields.map((f) => fieldControl(f, o.values[f.name], o.byField.get(f.name) ?? []))}${files}
<div class="actions"><button class="primary" type="submit">Send</button></div></form>`,
  });
}

const STATE_WORDS: Record<ProgressState, { label: string; line: string }> = {
  queued: { label: 'Queued', line: 'Received; it starts in a moment.' },
  running: { label: 'Running', line: 'The checks are running now.' },
  'waiting-person': { label: 'Waiting for a person', line: 'The checks are done; a person is reviewing the result.' },
  waiting: { label: 'Waiting', line: 'Paused until a set time or an event, then it goes on by itself.' },
  completed: { label: 'Completed', line: 'Done. Nothing more is needed from you.' },
  failed: { label: 'Failed', line: 'It could not be finished. The team can see what happened.' },
  cancelled: { label: 'Cancelled', line: 'It was cancelled by the team.' },
};
const BADGE: Record<ProgressState, string> = {
  queued: 's-queued',
  running: 's-running',
  'waiting-person': 's-waiting',
  waiting: 's-waiting',
  completed: 's-completed',
  failed: 's-failed',
  cancelled: 's-cancelled',
};

function stepName(name: string): string {
  const spaced = name.replace(/[-_.]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** The part of the progress page that refreshes; `data-live-done` tells the script to stop once nothing can change. */
export function progressFragment(p: RunProgress): SafeHtml {
  const words = STATE_WORDS[p.state];
  return html`<p class="progress-status">Status: <strong class="badge ${BADGE[p.state]}" data-state="${p.state}">${words.label}</strong></p><p>${words.line}</p>${
    p.steps.length > 0 &&
    html`<h2>Steps</h2><ol class="steps">${p.steps.map(
      (s) =>
        html`<li><span>${stepName(s.name)}</span> <span class="badge ${BADGE[s.state]}">${STATE_WORDS[s.state].label}</span></li>`,
    )}</ol>`
  }${p.finished && html`<span data-live-done hidden></span>`}`;
}

export function progressPage(o: {
  person?: PageViewer;
  workflow: string;
  progress: RunProgress;
  liveUrl: string;
  runHref?: string;
}): string {
  const body = progressFragment(o.progress);
  return consolePage({
    title: `${o.workflow}: sent`,
    ...(o.person ? { person: o.person, section: 'forms' as const } : {}),
    body: html`<h1>Thank you, it was sent</h1><p>Reference <code>${o.progress.runId}</code>. This page follows it as it goes; keep the link to come back later.</p>
<div class="card">${o.progress.finished ? body : liveRegion({ url: o.liveUrl, label: 'Progress', body, intervalMs: 2000 })}</div>
${o.runHref && html`<p><a href="${o.runHref}">Open the run's timeline</a></p>`}`,
  });
}

/** Refusals: an unknown form, a link that expired or was never ours, an upload over a limit or of the wrong type. */
export function formProblemPage(o: { title: string; lines: (string | SafeHtml)[]; person?: PageViewer }): string {
  return consoleMessagePage({
    title: o.title,
    lines: o.lines,
    ...(o.person ? { person: o.person, section: 'forms' as const } : {}),
  });
}

/** A live fragment for a progress link that no longer opens: the script stops asking. */
export function progressRefusal(title: string, line: string): SafeHtml {
  return html`<p class="error">${title}. ${line}</p><span data-live-done hidden></span>`;
}

/** What a refused upload answers: status, title and what to do, naming the file. */
export function uploadRefusal(
  p: UploadProblem,
  limits: UploadLimits,
): { status: number; title: string; lines: string[] } {
  switch (p.kind) {
    case 'too_large':
      if (p.what === 'file')
        return {
          status: 413,
          title: 'File too large',
          lines: [`${p.filename} is larger than ${MB(p.limit)}, the most a file may be.`],
        };
      if (p.what === 'field')
        return { status: 413, title: 'Too much text', lines: ['A field is longer than this form accepts.'] };
      return {
        status: 413,
        title: 'Too much sent at once',
        lines: [`Send at most ${limits.files} files of ${MB(limits.fileBytes)} each.`],
      };
    case 'too_many_files':
      return { status: 413, title: 'Too many files', lines: [`Send at most ${p.limit} files.`] };
    case 'wrong_type':
      return {
        status: 415,
        title: 'File type not accepted',
        lines: [
          `${p.filename} is ${p.detected === 'binary data' ? 'not a file type we accept' : `${p.detected}, which is not accepted`}. Its contents were checked, not its name.`,
          `Accepted: ${FILE_KINDS} (${ALLOWED_TYPES.join(', ')}).`,
        ],
      };
    case 'empty_file':
      return { status: 400, title: 'Empty file', lines: [`${p.filename} has nothing in it.`] };
    case 'malformed':
      return { status: 400, title: 'The form could not be read', lines: ['Reload the form and send it again.'] };
  }
}
