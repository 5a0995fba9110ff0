import { createHash } from 'node:crypto';
import { type AddressObject, simpleParser } from 'mailparser';
import { z } from 'zod';

/**
 * A downloaded message as the rest of Countersign sees it: mailparser's output (charsets, base64 and
 * quoted-printable already decoded) checked with zod, text normalised, attachments hashed. Everything here is
 * customer-controlled and later reaches agents only inside an untrusted fence.
 */

const MAX_TEXT = 20_000;
const MAX_ATTACHMENT_TEXT = 20_000;

const addressSchema = z.object({ address: z.string().trim().toLowerCase().pipe(z.email()), name: z.string().max(200) });

const parsedEmailSchema = z.object({
  messageId: z.string().min(3).max(998),
  inReplyTo: z.string().max(998).nullable(),
  references: z.array(z.string().max(998)).max(200),
  subject: z.string().max(998),
  from: addressSchema,
  to: z.array(z.string()).max(100),
  date: z.date().nullable(),
  text: z.string().max(MAX_TEXT),
  attachments: z
    .array(
      z.object({
        filename: z.string().min(1).max(255),
        contentType: z.string().min(1).max(255),
        size: z.int().nonnegative(),
        sha256: z.string().regex(/^[a-f0-9]{64}$/),
        inline: z.boolean(),
        text: z.string().max(MAX_ATTACHMENT_TEXT).optional(),
        content: z.instanceof(Buffer),
      }),
    )
    .max(50),
});
export type ParsedEmail = z.infer<typeof parsedEmailSchema>;

// Zero-width and bidi controls and Unicode tag characters hide text from a reader while a model still sees it.
const HIDDEN = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF\u{E0000}-\u{E007F}]/gu;

function normaliseText(text: string): string {
  return text
    .replace(HIDDEN, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{4,}/g, '\n\n\n')
    .trim()
    .slice(0, MAX_TEXT);
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  if (!field) return [];
  return (Array.isArray(field) ? field : [field]).flatMap((o) =>
    o.value.flatMap((a) => (a.address ? [a.address.toLowerCase()] : [])),
  );
}

const stripTags = (html: string) =>
  html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

/** Text an agent may read from an attachment: text files and forwarded messages; binary files give none. */
async function attachmentText(contentType: string, content: Buffer): Promise<string | undefined> {
  if (contentType === 'text/plain' || contentType === 'text/csv') return normaliseText(content.toString('utf8'));
  if (contentType === 'text/html') return normaliseText(stripTags(content.toString('utf8')));
  if (contentType === 'message/rfc822') {
    const inner = await simpleParser(content, { skipImageLinks: true });
    const head = `From: ${inner.from?.text ?? ''}\nSubject: ${inner.subject ?? ''}\n\n`;
    return normaliseText(head + (inner.text ?? (inner.html ? stripTags(inner.html) : '')));
  }
  return undefined;
}

/**
 * The Date header as written. mailparser puts the time of parsing in place of a Date it cannot read
 * (`27:39:33`); an unreadable date is unknown, not now.
 */
function sentDate(headerLines: readonly { key: string; line: string }[]): Date | null {
  const line = headerLines.find((l) => l.key === 'date')?.line;
  if (!line) return null;
  const date = new Date(
    line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim(),
  );
  return Number.isNaN(date.getTime()) ? null : date;
}

export type ParseResult = { ok: true; email: ParsedEmail } | { ok: false; reason: string };

export async function parseEmail(source: Buffer, fallbackId: string): Promise<ParseResult> {
  let parsed: Awaited<ReturnType<typeof simpleParser>>;
  try {
    parsed = await simpleParser(source, { skipImageLinks: true, skipTextToHtml: true, keepCidLinks: false });
  } catch (err) {
    return { ok: false, reason: `unparseable MIME: ${(err as Error).message}` };
  }
  const from = parsed.from?.value[0];
  const html = typeof parsed.html === 'string' ? parsed.html : '';
  const attachments = [];
  for (const a of parsed.attachments) {
    const contentType = a.contentType.toLowerCase();
    attachments.push({
      filename: (
        a.filename ?? `${a.contentDisposition === 'inline' ? 'inline' : 'attachment'}-${attachments.length + 1}`
      )
        .replace(/[\r\n]/g, ' ')
        .slice(0, 255),
      contentType,
      size: a.size,
      sha256: createHash('sha256').update(a.content).digest('hex'),
      inline: a.contentDisposition === 'inline' || Boolean(a.related),
      text: (await attachmentText(contentType, a.content).catch(() => undefined))?.slice(0, MAX_ATTACHMENT_TEXT),
      content: a.content,
    });
  }
  const references = typeof parsed.references === 'string' ? [parsed.references] : (parsed.references ?? []);
  if (!from?.address) {
    return { ok: false, reason: 'no sender: the From header is missing or names no address' };
  }
  const date = sentDate(parsed.headerLines);
  const checked = parsedEmailSchema.safeParse({
    messageId: parsed.messageId ?? fallbackId,
    inReplyTo: parsed.inReplyTo ?? null,
    references: references.slice(-200),
    subject: (parsed.subject ?? '').slice(0, 998),
    from: { address: from?.address ?? '', name: (from?.name ?? '').slice(0, 200) },
    to: [...addresses(parsed.to), ...addresses(parsed.cc)].slice(0, 100),
    date,
    text: normaliseText(parsed.text ?? stripTags(html)),
    attachments: attachments.slice(0, 50),
  });
  if (!checked.success) {
    const first = checked.error.issues[0];
    return { ok: false, reason: `invalid message: ${first?.path.join('.') ?? ''} ${first?.message ?? ''}`.trim() };
  }
  return { ok: true, email: checked.data };
}
