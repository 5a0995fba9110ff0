import { fileTypeFromBuffer } from 'file-type';

/**
 * What an uploaded file is, decided from its bytes alone: the browser's Content-Type and the file's extension are
 * the sender's claims, and a sender who wants a page to run their HTML names it `receipt.pdf`. Binary formats are
 * recognised by their magic numbers (file-type); anything without one must be plain UTF-8 text with no NUL byte,
 * and text that is markup is refused, since a file we keep should never be something a browser would run.
 */
export const ALLOWED_TYPES = [
  'application/pdf',
  'image/png',
  'image/jpeg',
  'image/gif',
  'text/plain',
  'message/rfc822',
] as const;
export type AllowedType = (typeof ALLOWED_TYPES)[number];

const BINARY: ReadonlySet<string> = new Set(['application/pdf', 'image/png', 'image/jpeg', 'image/gif']);

/** file-type reads at most this much of the start of a file. */
export const SNIFF_BYTES = 4100;

export type Sniffed = { ok: true; type: AllowedType } | { ok: false; detected: string };

/** A binary verdict from the first bytes, or `text` when no magic number matched and the content must show. */
export async function sniffHead(head: Uint8Array): Promise<Sniffed | 'text'> {
  const found = await fileTypeFromBuffer(head);
  if (!found) return 'text';
  return BINARY.has(found.mime) ? { ok: true, type: found.mime as AllowedType } : { ok: false, detected: found.mime };
}

const MARKUP =
  /^\s*(<!doctype|<html|<head|<body|<script|<svg|<\?xml|<iframe|<object|<embed|<meta|<a\s|<img|<div|<form)/i;
const ANY_SCRIPT = /<(script|iframe|svg|object|embed)[\s>]/i;
/** A header block as a mail starts: `Name: value` lines with at least a From and a Subject or Date, then a blank line. */
const HEADER_LINE = /^[!-9;-~]+:[ \t]?.*$/;

function looksLikeMail(text: string): boolean {
  const end = text.search(/\r?\n\r?\n/);
  if (end <= 0) return false;
  const lines = text.slice(0, end).split(/\r?\n/);
  const headers = lines.filter((l) => !/^[ \t]/.test(l));
  if (!headers.every((l) => HEADER_LINE.test(l))) return false;
  const names = new Set(headers.map((l) => l.slice(0, l.indexOf(':')).toLowerCase()));
  return names.has('from') && (names.has('subject') || names.has('date'));
}

/** Text after its bytes passed as UTF-8 without NUL: plain text or a mail, unless it is markup. */
export function classifyText(text: string): Sniffed {
  const start = text.replace(/^\uFEFF/, '').slice(0, 2048);
  if (MARKUP.test(start) || ANY_SCRIPT.test(start)) return { ok: false, detected: 'text/html' };
  return { ok: true, type: looksLikeMail(text) ? 'message/rfc822' : 'text/plain' };
}

/** Checks a text file chunk by chunk, so a binary file without a magic number is refused at its first bad byte. */
export class TextCheck {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private parts: string[] = [];
  private chars = 0;
  valid = true;

  constructor(private readonly keepChars: number) {}

  push(chunk: Uint8Array): boolean {
    if (!this.valid) return false;
    if (chunk.includes(0)) this.valid = false;
    else {
      try {
        this.keep(this.decoder.decode(chunk, { stream: true }));
      } catch {
        this.valid = false;
      }
    }
    return this.valid;
  }

  end(): boolean {
    if (!this.valid) return false;
    try {
      this.keep(this.decoder.decode());
    } catch {
      this.valid = false;
    }
    return this.valid;
  }

  /** The start of the text, up to `keepChars` characters. */
  text(): string {
    return this.parts.join('').slice(0, this.keepChars);
  }

  private keep(s: string): void {
    if (this.chars >= this.keepChars || s === '') return;
    this.parts.push(s);
    this.chars += s.length;
  }
}
