import type { MessageStructureObject } from 'imapflow';
import libmime from 'libmime';

/**
 * Attachment limits checked on the IMAP BODYSTRUCTURE and RFC822.SIZE, before a byte of the body is downloaded:
 * a 60 MB PDF or 5,000 attachments must be refused without ever being held in memory.
 */
export interface AttachmentLimits {
  maxMessageBytes: number;
  maxAttachmentBytes: number;
  maxAttachments: number;
  /** MIME types (or `type/*`) an attachment may have. */
  allowedTypes: readonly string[];
}

export const DEFAULT_LIMITS: AttachmentLimits = {
  maxMessageBytes: 25 * 1024 * 1024,
  maxAttachmentBytes: 10 * 1024 * 1024,
  maxAttachments: 10,
  allowedTypes: ['application/pdf', 'image/*', 'text/plain', 'text/csv', 'message/rfc822'],
};

interface PartInfo {
  part: string;
  type: string;
  /** What the checks treat the part as: a generic octet-stream is judged by its file name's extension. */
  effectiveType: string;
  /**
   * Not a file the customer chose but part of how their client wrapped the mail: Outlook's TNEF container
   * (`winmail.dat`) or a PGP / S/MIME signature. Kept and listed, never refused, not counted as an attachment.
   */
  wrapper: boolean;
  filename: string | null;
  /** Decoded size estimate: base64 carries 3 bytes in 4. */
  bytes: number;
  inline: boolean;
}

export type LimitCheck = { ok: true; parts: PartInfo[] } | { ok: false; problems: string[]; parts: PartInfo[] };

/** Leaves that are files rather than the message text: everything but text/plain and text/html bodies. */
function fileParts(node: MessageStructureObject | undefined): PartInfo[] {
  if (!node) return [];
  const type = node.type.toLowerCase();
  if (type.startsWith('multipart/')) return (node.childNodes ?? []).flatMap(fileParts);
  const disposition = node.disposition?.toLowerCase();
  const filename = node.dispositionParameters?.filename ?? node.parameters?.name ?? null;
  const isBody = (type === 'text/plain' || type === 'text/html') && disposition !== 'attachment' && !filename;
  if (isBody) return [];
  const encoded = node.size ?? 0;
  return [
    {
      part: node.part ?? '1',
      type,
      effectiveType: effectiveType(type, filename),
      wrapper: isTnef(type, filename) || SIGNATURES.has(type),
      filename,
      bytes: node.encoding?.toLowerCase() === 'base64' ? Math.floor((encoded * 3) / 4) : encoded,
      inline: disposition === 'inline' || (!disposition && Boolean(node.id)),
    },
  ];
}

/**
 * Outlook sends rich-text mail as a TNEF blob beside a readable text part. The blob is not a file the customer
 * chose, so refusing the message for it would refuse mail we can read.
 */
function isTnef(type: string, filename: string | null | undefined): boolean {
  return (
    type === 'application/ms-tnef' || type === 'application/vnd.ms-tnef' || filename?.toLowerCase() === 'winmail.dat'
  );
}

const SIGNATURES = new Set([
  'application/pgp-signature',
  'application/pkcs7-signature',
  'application/x-pkcs7-signature',
]);

/** Mail clients label many PDFs and images `application/octet-stream`; the extension says what they are. */
function effectiveType(type: string, filename: string | null): string {
  if (type !== 'application/octet-stream' || !filename) return type;
  return libmime.detectMimeType(filename).toLowerCase();
}

const allowed = (type: string, list: readonly string[]) =>
  list.some((t) => (t.endsWith('/*') ? type.startsWith(t.slice(0, -1)) : type === t));

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 2 : 0)} MB`;

export function checkLimits(
  size: number | undefined,
  structure: MessageStructureObject | undefined,
  limits: AttachmentLimits,
): LimitCheck {
  const parts = fileParts(structure);
  const files = parts.filter((p) => !p.wrapper);
  const problems: string[] = [];
  if ((size ?? 0) > limits.maxMessageBytes) {
    problems.push(`the message is ${mb(size ?? 0)}, more than the ${mb(limits.maxMessageBytes)} we accept`);
  }
  if (files.length > limits.maxAttachments) {
    problems.push(`it has ${files.length} attachments; we accept up to ${limits.maxAttachments}`);
  }
  for (const p of parts) {
    const name = p.filename ? `"${p.filename}"` : `an attachment (${p.type})`;
    if (p.bytes > limits.maxAttachmentBytes) {
      problems.push(`${name} is ${mb(p.bytes)}; each file may be up to ${mb(limits.maxAttachmentBytes)}`);
    } else if (!p.wrapper && !allowed(p.effectiveType, limits.allowedTypes)) {
      problems.push(`${name} is of a type we do not open (${p.type}); PDF, images and text files are fine`);
    }
  }
  return problems.length ? { ok: false, problems, parts } : { ok: true, parts };
}
