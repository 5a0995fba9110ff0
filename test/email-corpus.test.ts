import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { first, messageIds, parseHeaderBlock, senderOf } from '../handlers/email/headers.js';
import { emailModels, type MessageDoc } from '../src/channels/email/store.js';
import type { TestApp } from './support/app.js';
import { type TestMailbox, testMailbox } from './support/dovecot.js';
import { startEmailApp, waitFor } from './support/imap-app.js';
import { type CorpusEntry, corpus, corpusFile, headerBlock } from './support/mail-corpus.js';
import { type SmtpCapture, startSmtpCapture } from './support/smtp-capture.js';

/**
 * Every real message of the corpus delivered into one Dovecot mailbox and read by the running app: each one must be
 * ignored, handled or quarantined as its manifest says, none may crash the reader or vanish, and no automatic
 * message may get an answer.
 */

let box: TestMailbox;
let t: TestApp;
let smtp: SmtpCapture;

beforeAll(async () => {
  box = await testMailbox('corpus');
  smtp = await startSmtpCapture();
  t = await startEmailApp('emailcorpus', box, {}, smtp);
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

interface Delivered {
  entry: CorpusEntry;
  uid: number;
  messageId: string | undefined;
  sender: string;
}

/**
 * The file as an SMTP delivery would store it: CRLF line ends. A Message-ID that an earlier corpus file already
 * used (three GitLab fixtures share one) gets a `corpus-N.` prefix: the reader rightly treats a repeated Message-ID
 * as the same message, and each file here must be seen on its own.
 */
function forDelivery(raw: Buffer, index: number, used: Set<string>): { raw: Buffer; messageId: string | undefined } {
  let text = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  let messageId = messageIds(first(parseHeaderBlock(headerBlock(raw)), 'message-id'))[0];
  if (messageId && used.has(messageId)) {
    const renamed = `<corpus-${index}.${messageId.slice(1)}`;
    text = text.replace(/^(message-id:[ \t]*)<[^>]*>/im, `$1${renamed}`);
    messageId = renamed;
  }
  if (messageId) used.add(messageId);
  return { raw: Buffer.from(text, 'latin1'), messageId };
}

/** The reader's own rule, applied in delivery order: a sixth new case from one sender within the hour waits for staff. */
function expectedOutcomes(delivered: Delivered[]): Map<number, string> {
  const cases = new Map<string, number>();
  const out = new Map<number, string>();
  for (const d of delivered) {
    let expected = d.entry.expected;
    if (expected === 'done') {
      const n = (cases.get(d.sender) ?? 0) + 1;
      cases.set(d.sender, n);
      if (n > 5) expected = 'quarantined:sender-rate';
    }
    out.set(d.uid, expected);
  }
  return out;
}

describe('the real-message corpus through Dovecot', () => {
  it('gives every message its outcome, answers no automatic message and loses none', async () => {
    const used = new Set<string>();
    const delivered: Delivered[] = [];
    for (const [index, entry] of corpus.entries()) {
      const file = corpusFile(entry.file);
      const { raw, messageId } = forDelivery(file, index, used);
      const { uid } = await box.append(raw);
      if (uid === undefined) throw new Error(`Dovecot gave no UID for ${entry.file}`);
      const sender = senderOf(parseHeaderBlock(headerBlock(file)))?.address ?? '';
      delivered.push({ entry, uid, messageId, sender });
    }

    const email = emailModels(t.app.store.connection);
    const uids = delivered.map((d) => d.uid);
    const docs = await waitFor(
      `all ${uids.length} corpus messages to be handled`,
      async () => {
        const found = await email.messages
          .find({ mailbox: 'INBOX', uid: { $in: uids }, status: { $ne: 'processing' } })
          .lean<MessageDoc[]>();
        return found.length === uids.length ? found : null;
      },
      150_000,
    );
    const byUid = new Map(docs.map((d) => [d.uid, d]));
    const expected = expectedOutcomes(delivered);

    const outcomes = delivered.map((d) => {
      const doc = byUid.get(d.uid);
      const want = expected.get(d.uid) ?? '';
      const [status, detail] = want.includes(':')
        ? [want.slice(0, want.indexOf(':')), want.slice(want.indexOf(':') + 1)]
        : [want, ''];
      const reason = doc?.reason ?? '';
      const matches =
        doc?.status === status &&
        (status === 'ignored'
          ? reason.startsWith(`${detail}: `)
          : status === 'quarantined'
            ? reason.startsWith(detail)
            : true);
      return { file: d.entry.file, want, got: `${doc?.status}:${reason}`, matches };
    });
    expect(outcomes.filter((o) => !o.matches)).toEqual([]);

    // Staff can see why: every quarantined message carries a reason, every ignored one names its signal.
    for (const doc of docs) {
      if (doc.status === 'quarantined' || doc.status === 'ignored') expect(doc.reason?.length).toBeGreaterThan(3);
      if (doc.status === 'ignored') expect(doc.runId).toBeUndefined();
    }

    // Nothing stays in the inbox: each message went to Processed or Quarantine.
    await waitFor('the inbox to be empty', async () => (await box.list('INBOX')).length === 0, 60_000);
    const moved = (await box.list('Countersign-Processed')).length + (await box.list('Countersign-Quarantine')).length;
    expect(moved).toBe(corpus.length);

    // Every person got their receipt before we look at what was sent: the mail path works in this run.
    const done = delivered.filter((d) => expected.get(d.uid) === 'done');
    const humanSenders = [...new Set(done.map((d) => d.sender))];
    await waitFor(
      'a receipt to every person',
      async () => humanSenders.every((s) => smtp.messages.some((m) => m.envelope.to.includes(s))),
      150_000,
    );
    const ignored = delivered.filter((d) => expected.get(d.uid)?.startsWith('ignored:'));
    const ignoredIds = new Set(ignored.flatMap((d) => (d.messageId ? [d.messageId] : [])));
    const automaticOnly = new Set(ignored.map((d) => d.sender).filter((s) => s && !humanSenders.includes(s)));
    const answers = smtp.messages.filter(
      (m) =>
        m.envelope.to.some((to) => automaticOnly.has(to.toLowerCase())) ||
        [m.headers['in-reply-to'] ?? '', m.headers.references ?? ''].some((h) =>
          messageIds(h).some((id) => ignoredIds.has(id)),
        ),
    );
    expect(answers.map((m) => `${m.envelope.to.join(',')}: ${m.subject}`)).toEqual([]);
  });

  it('reads the Outlook message with winmail.dat and lists the TNEF file', async () => {
    const email = emailModels(t.app.store.connection);
    const doc = await email.messages
      .findOne({ messageId: '<AM0PR0702MB3522C04E8C4950FA9976EC23E12B0@AM0PR0702MB3522.eurprd07.prod.outlook.com>' })
      .lean<MessageDoc>();
    expect(doc?.status).toBe('done');
    expect(doc?.text).toContain('RR Test 1');
    expect(doc?.attachments.map((a) => [a.filename, a.contentType])).toEqual([['winmail.dat', 'application/ms-tnef']]);
    expect(
      smtp.messages.filter((m) => m.headers['in-reply-to'] === doc?.messageId && /type we do not open/.test(m.text)),
    ).toEqual([]);
  });
});
