import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { type Model, Schema } from 'mongoose';
import type { Store } from '../store/models.js';
import { type AllowedType, classifyText, SNIFF_BYTES, type Sniffed, sniffHead, TextCheck } from './file-types.js';

/**
 * Intake form bodies: multipart read as it streams, with every limit checked on the way, so an oversized or
 * wrongly typed file is refused at the byte that shows it, before anything is stored and before a run starts.
 * Files are held in memory until the whole request has been read and found valid (at most `files × fileBytes`),
 * then stored once per SHA-256 in `form_uploads`, like email attachments are in `email_attachments`.
 */
export interface UploadLimits {
  fileBytes: number;
  files: number;
  fieldBytes: number;
  fields: number;
}

export const UPLOAD_LIMITS: UploadLimits = { fileBytes: 5 * 1024 * 1024, files: 5, fieldBytes: 64 * 1024, fields: 60 };
/** Text handed to agents per file; the rest stays in the stored file. */
const TEXT_CHARS = 20_000;

export interface ReceivedFile {
  field: string;
  filename: string;
  contentType: AllowedType;
  sha256: string;
  size: number;
  data: Buffer;
  /** For text and mail: the start of the text, which agents read (fenced as untrusted). */
  text?: string;
}

export type UploadProblem =
  | { kind: 'too_large'; what: 'file'; filename: string; limit: number }
  | { kind: 'too_large'; what: 'field' | 'request'; limit: number }
  | { kind: 'too_many_files'; limit: number }
  | { kind: 'wrong_type'; filename: string; detected: string }
  | { kind: 'empty_file'; filename: string }
  | { kind: 'malformed'; detail: string };

export type MultipartResult =
  | { ok: true; fields: Map<string, string>; files: ReceivedFile[] }
  /** `fields` holds what arrived before the problem (the CSRF token comes first), for the refusal page. */
  | { ok: false; fields: Map<string, string>; problem: UploadProblem };

/** A name to show and keep: no path, no control characters, at most 255 characters. */
function cleanFilename(raw: string): string {
  const base = raw.split(/[/\\]/).pop() ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return clean.slice(0, 255) || 'file';
}

/** One file as it streams: hashed, counted, kept, and judged as soon as its first bytes tell. */
class Incoming {
  private readonly hash: Hash = createHash('sha256');
  private readonly chunks: Buffer[] = [];
  private readonly textCheck = new TextCheck(TEXT_CHARS);
  private head = Buffer.alloc(0);
  private verdict: Promise<Sniffed | 'text'> | undefined;
  size = 0;

  constructor(
    readonly field: string,
    readonly filename: string,
  ) {}

  /** Adds a chunk; a promise of the verdict once the head is complete (undefined before). */
  push(chunk: Buffer): void {
    this.size += chunk.length;
    this.hash.update(chunk);
    this.chunks.push(chunk);
    this.textCheck.push(chunk);
    if (this.head.length < SNIFF_BYTES) this.head = Buffer.concat([this.head, chunk]).subarray(0, SNIFF_BYTES);
  }

  headComplete(): boolean {
    return this.head.length >= SNIFF_BYTES;
  }

  sniff(): Promise<Sniffed | 'text'> {
    this.verdict ??= sniffHead(this.head);
    return this.verdict;
  }

  /** Whether the bytes so far could still be text (valid UTF-8 so far, no NUL). */
  stillText(): boolean {
    return this.textCheck.valid;
  }

  async finish(): Promise<{ ok: true; file: ReceivedFile } | { ok: false; problem: UploadProblem }> {
    if (this.size === 0) return { ok: false, problem: { kind: 'empty_file', filename: this.filename } };
    const head = await this.sniff();
    let type: Sniffed;
    let text: string | undefined;
    if (head === 'text') {
      type = this.textCheck.end() ? classifyText(this.textCheck.text()) : { ok: false, detected: 'binary data' };
      text = this.textCheck.text();
    } else type = head;
    if (!type.ok)
      return { ok: false, problem: { kind: 'wrong_type', filename: this.filename, detected: type.detected } };
    return {
      ok: true,
      file: {
        field: this.field,
        filename: this.filename,
        contentType: type.type,
        sha256: this.hash.digest('hex'),
        size: this.size,
        data: Buffer.concat(this.chunks),
        ...(text !== undefined ? { text } : {}),
      },
    };
  }
}

/** Room for the fields and multipart framing beyond the files themselves. */
const OVERHEAD_BYTES = 512 * 1024;
const maxRequestBytes = (limits: UploadLimits) => limits.files * limits.fileBytes + OVERHEAD_BYTES;

/**
 * Reads a multipart body. Resolves as soon as a limit is crossed or a file's type is known to be wrong, leaving the
 * rest of the body unread (see `discardRest`); otherwise once everything has arrived and been judged.
 */
export function readMultipart(req: IncomingMessage, limits: UploadLimits = UPLOAD_LIMITS): Promise<MultipartResult> {
  const fields = new Map<string, string>();
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > maxRequestBytes(limits)) {
    return Promise.resolve({
      ok: false,
      fields,
      problem: { kind: 'too_large', what: 'request', limit: limits.files * limits.fileBytes },
    });
  }
  return new Promise((resolve) => {
    let settled = false;
    let bb: busboy.Busboy;
    const files: Incoming[] = [];
    const fail = (problem: UploadProblem) => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      resolve({ ok: false, fields, problem });
    };
    // The type sniffer parses untrusted bytes; if it throws, the file is refused rather than the promise left hanging.
    const unreadable = (file: Incoming, err: unknown): undefined => {
      fail({ kind: 'malformed', detail: `${file.filename} could not be read (${(err as Error).message})` });
      return undefined;
    };
    try {
      bb = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: {
          fileSize: limits.fileBytes,
          files: limits.files,
          fields: limits.fields,
          fieldSize: limits.fieldBytes,
          parts: limits.files + limits.fields,
        },
      });
    } catch (err) {
      resolve({ ok: false, fields, problem: { kind: 'malformed', detail: (err as Error).message } });
      return;
    }
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail({ kind: 'too_large', what: 'field', limit: limits.fieldBytes });
      fields.set(name, value);
    });
    bb.on('file', (name, stream, info) => {
      // A file input left empty still sends a part, with no filename and no bytes.
      if (!info.filename) {
        stream.resume();
        return;
      }
      const file = new Incoming(name, cleanFilename(info.filename));
      files.push(file);
      const judge = (sniffed: Sniffed | 'text') => {
        if (sniffed === 'text') {
          if (!file.stillText()) fail({ kind: 'wrong_type', filename: file.filename, detected: 'binary data' });
        } else if (!sniffed.ok) fail({ kind: 'wrong_type', filename: file.filename, detected: sniffed.detected });
      };
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        file.push(chunk);
        if (file.headComplete()) file.sniff().then(judge, (err: unknown) => unreadable(file, err));
      });
      stream.on('limit', () =>
        fail({ kind: 'too_large', what: 'file', filename: file.filename, limit: limits.fileBytes }),
      );
    });
    bb.on('filesLimit', () => fail({ kind: 'too_many_files', limit: limits.files }));
    bb.on('fieldsLimit', () => fail({ kind: 'too_large', what: 'request', limit: limits.fields }));
    bb.on('partsLimit', () => fail({ kind: 'too_large', what: 'request', limit: limits.files + limits.fields }));
    bb.on('error', (err: Error) => fail({ kind: 'malformed', detail: err.message }));
    bb.on('close', () => {
      if (settled) return;
      Promise.all(files.map((f) => f.finish().catch((err: unknown) => unreadable(f, err)))).then((results) => {
        const bad = results.find((r) => r !== undefined && !r.ok);
        if (bad && !bad.ok) return fail(bad.problem);
        if (settled) return;
        settled = true;
        resolve({ ok: true, fields, files: results.flatMap((r) => (r?.ok ? [r.file] : [])) });
      });
    });
    req.on('aborted', () => fail({ kind: 'malformed', detail: 'the upload was interrupted' }));
    req.pipe(bb);
  });
}

/**
 * After answering a refused upload early: reads and drops the rest of the body, so the sender (a browser still
 * uploading) gets to read the answer instead of a reset connection. Dropping costs no memory; past `maxBytes` (a few
 * times the largest acceptable request, so a person who picked a large video still gets the page) the connection is
 * cut.
 */
export function discardRest(req: IncomingMessage, maxBytes = 4 * maxRequestBytes(UPLOAD_LIMITS)): void {
  if (req.readableEnded) return;
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > maxBytes) req.socket.destroy();
  });
  req.resume();
}

export interface FormUploadDoc {
  _id: string;
  contentType: string;
  size: number;
  data: Buffer;
  createdAt: Date;
}

export function formUploadModel(store: Pick<Store, 'connection'>): Model<FormUploadDoc> {
  const conn = store.connection;
  return (
    (conn.models.FormUpload as Model<FormUploadDoc> | undefined) ??
    conn.model<FormUploadDoc>(
      'FormUpload',
      new Schema<FormUploadDoc>(
        { _id: String, contentType: String, size: Number, data: Buffer, createdAt: Date },
        { collection: 'form_uploads', versionKey: false, strict: true },
      ),
    )
  );
}

/** Stores each file's bytes once per content hash; a file sent again is already there. */
export async function storeUploads(store: Pick<Store, 'connection'>, files: ReceivedFile[], now: Date): Promise<void> {
  const model = formUploadModel(store);
  for (const f of files) {
    await model.updateOne(
      { _id: f.sha256 },
      { $setOnInsert: { contentType: f.contentType, size: f.size, data: f.data, createdAt: now } },
      { upsert: true },
    );
  }
}

/** What the workflow's input carries for each file (agents/disputes/input.ts `attachments`). */
export function attachmentsOf(files: ReceivedFile[]) {
  return files.map((f) => ({
    filename: f.filename,
    contentType: f.contentType,
    sha256: f.sha256,
    size: f.size,
    ...(f.text !== undefined && f.text !== '' ? { text: f.text } : {}),
  }));
}
