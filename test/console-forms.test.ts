import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyText, sniffHead } from '../src/console/file-types.js';
import { attachmentSlot, intakeFields, readIntakeForm } from '../src/console/schema-form.js';
import { formUploadModel } from '../src/console/uploads.js';
import { startTestApp, type TestApp } from './support/app.js';
import {
  CONSOLE_PEOPLE,
  type ConsoleClient,
  consoleSettings,
  csrfIn,
  publicFormLink,
  signInClient,
} from './support/console.js';
import { writeSettingsFile } from './support/refund-app.js';

let t: TestApp;
let staff: ConsoleClient;

beforeAll(async () => {
  t = await startTestApp({
    label: 'console-forms',
    env: { COUNTERSIGN_CONFIG: writeSettingsFile('console-forms', consoleSettings()) },
  });
  staff = await signInClient(t, CONSOLE_PEOPLE.viewer);
});

afterAll(async () => {
  await t?.close();
});

/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120)]);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const DISPUTE = {
  customerEmail: 'dana@example.com',
  customerName: 'Dana Reyes',
  chargeId: 'ch_1001',
  amount: '49.00',
  currency: 'EUR',
  reason: 'duplicate',
  description: 'I was charged twice for the same order on the same day.',
};

const NONCE = /name="_nonce" value="([^"]+)"/;
const nonceIn = (page: string) => NONCE.exec(page)?.[1] ?? '';

/** The cookies of one signed-out browser. */
function visitor() {
  const jar = new Map<string, string>();
  const take = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  };
  return {
    cookie: () => [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
    get: async (path: string) =>
      take(
        await fetch(`${t.baseUrl}${path}`, {
          headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
          redirect: 'manual',
        }),
      ),
  };
}

function multipart(
  fields: Record<string, string>,
  files: { name: string; bytes: Buffer; type?: string }[] = [],
): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  for (const f of files)
    fd.append('files', new Blob([new Uint8Array(f.bytes)], { type: f.type ?? 'application/octet-stream' }), f.name);
  return fd;
}

const asInput = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`in.${k}`, v]));

async function send(path: string, cookie: string, body: FormData, headers: Record<string, string> = {}) {
  return fetch(`${t.baseUrl}${path}`, { method: 'POST', headers: { cookie, ...headers }, body, redirect: 'manual' });
}

/** A fresh staff form: its CSRF token and nonce. */
async function staffForm(): Promise<{ csrf: string; nonce: string; page: string }> {
  const page = await (await staff.get('/forms/card-dispute')).text();
  return { csrf: csrfIn(page), nonce: nonceIn(page), page };
}

async function counts() {
  return {
    runs: await t.app.store.runs.countDocuments({}),
    uploads: await formUploadModel(t.app.store).countDocuments({}),
  };
}

describe('intake forms', () => {
  it('renders every field a person fills for card-dispute, with labels, help and required marks', async () => {
    const { page } = await staffForm();
    expect(page).toContain('enctype="multipart/form-data"');
    for (const label of ['Customer email', 'Customer name', 'Charge id', 'Amount', 'Currency', 'Reason', 'Description'])
      expect(page).toMatch(new RegExp(`<label for="f-[A-Za-z]+">${label}`));
    // Help comes from the schema's descriptions (agents/disputes/input.ts).
    expect(page).toContain('The charge being disputed, as on the statement or receipt (like ch_1001).');
    expect(page).toContain('The disputed amount in major units, like 49.00.');
    expect(page).toContain('Three-letter currency code, like EUR or USD.');
    expect(page).toMatch(/<textarea id="f-description"[^>]* required/);
    expect(page).toMatch(/<label for="f-customerEmail">Customer email <span class="muted">\(required\)<\/span>/);
    expect(page).not.toMatch(/<label for="f-customerName">[^<]*<span class="muted">\(required\)/);
    expect(page).toContain('type="file" id="f-files" name="files" multiple');
    for (const internal of ['thread', 'origin', 'attachments']) expect(page).not.toContain(`name="in.${internal}"`);
  });

  it('lists the forms, and lets only an admin make a public link, shown once', async () => {
    const list = await (await staff.get('/forms')).text();
    expect(list).toContain('href="/forms/card-dispute"');
    expect(list).not.toContain('Create public link');
    const refused = await staff.post('/forms/card-dispute/links', { days: '7' });
    expect(refused.status).toBe(403);
    const admin = await signInClient(t, CONSOLE_PEOPLE.admin);
    expect(await (await admin.get('/forms')).text()).toContain('Create public link');
    const forged = await admin.post('/forms/card-dispute/links', { days: '7', _csrf: 'forged' });
    expect(forged.status).toBe(403);
    const made = await admin.post('/forms/card-dispute/links', { days: '7' });
    expect(made.status).toBe(201);
    const link = /value="(http[^"]+\/forms\/card-dispute\?t=[^"]+)"/.exec(await made.text())?.[1];
    expect(link).toBeDefined();
    const path = new URL(link ?? '').pathname + new URL(link ?? '').search;
    const open = await visitor().get(path);
    expect(open.status).toBe(200);
    expect(await open.text()).toContain('<label for="f-chargeId">');

    // Withdrawn before it expires: listed for admins only, refused to whoever holds it, and only once.
    const listed = await (await admin.get('/forms')).text();
    const revoke = /action="(\/forms\/links\/[A-Za-z0-9_-]+\/revoke)"/.exec(listed)?.[1] as string;
    expect(revoke).toBeDefined();
    expect(await (await staff.get('/forms')).text()).not.toContain('/revoke');
    expect((await staff.post(revoke, {})).status).toBe(403);
    expect((await admin.post(revoke, { _csrf: 'forged' })).status).toBe(403);
    expect((await visitor().get(path)).status).toBe(200);
    const withdrawn = await admin.post(revoke, {});
    expect(withdrawn.status).toBe(200);
    const after = await withdrawn.text();
    expect(after).toContain('is withdrawn: it no longer opens the form');
    expect(after).not.toContain(revoke);
    const gone = await visitor().get(path);
    expect(gone.status).toBe(410);
    expect(await gone.text()).toContain('This form link was withdrawn');
    expect((await admin.post(revoke, {})).status).toBe(404);
    const before = await counts();
    const sent = await send(path, '', multipart({ _csrf: 'x', ...asInput(DISPUTE) }));
    expect(sent.status).toBe(410);
    expect(await counts()).toEqual(before);
  });

  it('refuses an expired, a forged and another workflow’s public link, and sends signed-out visitors to sign in', async () => {
    const old = await publicFormLink(t, { workflow: 'card-dispute', expiresAt: new Date(Date.now() - 86_400_000) });
    const expired = await visitor().get(`/forms/card-dispute?t=${old}`);
    expect(expired.status).toBe(410);
    expect(await expired.text()).toContain('This form link has expired');
    const good = await publicFormLink(t, { workflow: 'card-dispute', expiresAt: new Date(Date.now() + 86_400_000) });
    const forged = await visitor().get(`/forms/card-dispute?t=${good.slice(0, -3)}abc`);
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('This form link is not valid');
    const other = await publicFormLink(t, { workflow: 'refund-request', expiresAt: new Date(Date.now() + 86_400_000) });
    expect((await visitor().get(`/forms/card-dispute?t=${other}`)).status).toBe(403);
    const signedOut = await visitor().get('/forms/card-dispute');
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get('location')).toBe('/login?next=%2Fforms%2Fcard-dispute');
    expect((await staff.get('/forms/no-such-workflow')).status).toBe(404);
  });

  it('refuses a forged CSRF token and starts nothing', async () => {
    const { nonce } = await staffForm();
    const before = await counts();
    const res = await send(
      '/forms/card-dispute',
      staff.cookie,
      multipart({ _csrf: 'forged', _nonce: nonce, ...asInput(DISPUTE) }, [
        { name: 'note.txt', bytes: Buffer.from('hello') },
      ]),
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('This form could not be verified');
    expect(await counts()).toEqual(before);
  });

  it('refuses a file over 5 MB with 413 and stores nothing', async () => {
    const { csrf, nonce } = await staffForm();
    const before = await counts();
    const big = Buffer.alloc(5 * 1024 * 1024 + 1, 'a');
    const res = await send(
      '/forms/card-dispute',
      staff.cookie,
      multipart({ _csrf: csrf, _nonce: nonce, ...asInput(DISPUTE) }, [
        { name: 'big.txt', bytes: big, type: 'text/plain' },
      ]),
    );
    expect(res.status).toBe(413);
    const page = await res.text();
    expect(page).toContain('big.txt is larger than 5 MB');
    expect(page).toContain('Nothing was stored and nothing was started.');
    expect(await counts()).toEqual(before);
  });

  it('refuses a program or an HTML page named .pdf with 415, by its contents, and stores nothing', async () => {
    const before = await counts();
    for (const [name, bytes, said] of [
      ['invoice.pdf', ELF, 'application/x-elf'],
      ['receipt.pdf', Buffer.from('<!doctype html><html><script>alert(1)</script></html>'), 'text/html'],
    ] as const) {
      const { csrf, nonce } = await staffForm();
      const res = await send(
        '/forms/card-dispute',
        staff.cookie,
        multipart({ _csrf: csrf, _nonce: nonce, ...asInput(DISPUTE) }, [
          { name: 'ok.png', bytes: PNG, type: 'image/png' },
          { name, bytes, type: 'application/pdf' },
        ]),
      );
      expect(res.status).toBe(415);
      const page = await res.text();
      expect(page).toContain(`${name} is ${said}, which is not accepted`);
      expect(page).toContain('application/pdf, image/png, image/jpeg, image/gif, text/plain, message/rfc822');
    }
    expect(await counts()).toEqual(before);
  });

  it('starts a run with the files as attachments and shows its progress; the same form sent twice starts one run', async () => {
    const { csrf, nonce } = await staffForm();
    const text = Buffer.from('Order 1234, paid twice on 2026-11-02.\nBank statement lines attached.');
    const form = () =>
      multipart({ _csrf: csrf, _nonce: nonce, ...asInput(DISPUTE) }, [
        { name: 'statement.txt', bytes: text, type: 'text/plain' },
        { name: 'screenshot.png', bytes: PNG, type: 'image/png' },
      ]);
    const res = await send('/forms/card-dispute', staff.cookie, form());
    expect(res.status).toBe(303);
    const location = res.headers.get('location') ?? '';
    expect(location).toMatch(/^\/forms\/card-dispute\/submitted\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const runs = await t.app.engine.listRuns({ workflow: 'card-dispute' });
    const run = runs.find((r) => (r.input as { customerName?: string }).customerName === 'Dana Reyes');
    expect(run).toBeDefined();
    const input = run?.input as {
      attachments: { filename: string; contentType: string; sha256: string; size: number; text?: string }[];
    };
    expect(input.attachments).toEqual([
      {
        filename: 'statement.txt',
        contentType: 'text/plain',
        sha256: sha256(text),
        size: text.length,
        text: text.toString(),
      },
      { filename: 'screenshot.png', contentType: 'image/png', sha256: sha256(PNG), size: PNG.length },
    ]);
    const stored = await formUploadModel(t.app.store).findById(sha256(PNG));
    expect(stored?.contentType).toBe('image/png');
    expect(stored?.data.equals(PNG)).toBe(true);

    const again = await send('/forms/card-dispute', staff.cookie, form());
    expect(again.status).toBe(303);
    expect(
      (await t.app.engine.listRuns({ workflow: 'card-dispute' })).filter(
        (r) => (r.input as { customerName?: string }).customerName === 'Dana Reyes',
      ),
    ).toHaveLength(1);

    const progress = await staff.get(location);
    expect(progress.status).toBe(200);
    const page = await progress.text();
    expect(page).toContain('Thank you, it was sent');
    expect(page).toContain(`href="/runs/${run?.id}"`);
    expect(page).toContain(`data-live-url="${location}/live"`);
    await t.waitForRun(run?.id ?? '', (r) => r.status === 'waiting');
    const live = await staff.get(`${location}/live`);
    expect(live.status).toBe(200);
    expect(await live.text()).toContain('Waiting for a person');
    const etag = live.headers.get('etag') ?? '';
    expect((await staff.get(`${location}/live`, { 'if-none-match': etag })).status).toBe(304);
  });

  it('shows the field’s problem beside it and keeps what was typed when a value is not valid, storing no file', async () => {
    const { csrf, nonce } = await staffForm();
    const before = await counts();
    const res = await send(
      '/forms/card-dispute',
      staff.cookie,
      multipart(
        {
          _csrf: csrf,
          _nonce: nonce,
          ...asInput({ ...DISPUTE, amount: '12.345', customerName: 'Kim <b>Lee</b>' }),
        },
        [{ name: 'receipt.txt', bytes: Buffer.from('A receipt sent with a form that must be corrected.') }],
      ),
    );
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toMatch(
      /<label for="f-amount">Amount[\s\S]*?<p class="error" id="e-amount">Enter a decimal amount in major units, like &quot;49.00&quot;.<\/p><input type="text" inputmode="decimal" id="f-amount"[^>]*aria-invalid="true"[^>]* value="12.345">/,
    );
    expect(page).toContain('value="Kim &lt;b&gt;Lee&lt;/b&gt;"');
    expect(page).toContain('I was charged twice for the same order on the same day.</textarea>');
    expect(page).toContain(`name="_nonce" value="${nonce}"`);
    expect(page).toContain('The files you chose before were not kept: choose them again.');
    expect(await counts()).toEqual(before);
  });

  it('lets a customer with a public link send the form and follow the run, without internals', async () => {
    const token = await publicFormLink(t, {
      workflow: 'card-dispute',
      expiresAt: new Date(Date.now() + 7 * 86_400_000),
    });
    const v = visitor();
    const formPage = await (await v.get(`/forms/card-dispute?t=${token}`)).text();
    expect(formPage).not.toContain('Sign out');
    const res = await send(
      `/forms/card-dispute?t=${token}`,
      v.cookie(),
      multipart({
        _csrf: csrfIn(formPage),
        _nonce: nonceIn(formPage),
        ...asInput({ ...DISPUTE, customerName: 'Public Pat' }),
      }),
    );
    expect(res.status).toBe(303);
    const progress = await v.get(res.headers.get('location') ?? '');
    expect(progress.status).toBe(200);
    const page = await progress.text();
    expect(page).toContain('Thank you, it was sent');
    expect(page).not.toContain('/runs/');
    expect(page).not.toContain('Public Pat');
    // The staff session's token is no good to a visitor, and a visitor's to another browser.
    const stranger = await send(
      `/forms/card-dispute?t=${token}`,
      '',
      multipart({ _csrf: csrfIn(formPage), _nonce: nonceIn(formPage), ...asInput(DISPUTE) }),
    );
    expect(stranger.status).toBe(403);
  });
});

describe('forms from a schema', () => {
  const schema = {
    type: 'object',
    properties: {
      priority: { type: 'string', enum: ['low', 'high'], description: 'How soon' },
      urgent: { type: 'boolean' },
      seats: { type: 'integer', minimum: 1 },
      note: { type: 'string', maxLength: 2000, title: 'Anything else' },
      requestedBy: { type: 'string' },
      thread: { type: 'object', properties: {} },
      tags: { type: 'array', items: { type: 'string' } },
    },
    required: ['priority', 'seats'],
  };

  it('picks a control per type and leaves out what a person does not fill', () => {
    expect(intakeFields(schema).map((f) => [f.name, f.kind, f.label, f.required])).toEqual([
      ['priority', 'select', 'Priority', true],
      ['urgent', 'checkbox', 'Urgent', false],
      ['seats', 'integer', 'Seats', true],
      ['note', 'textarea', 'Anything else', false],
      ['requestedBy', 'text', 'Requested by', false],
    ]);
    expect(intakeFields(schema)[0]?.help).toBe('How soon');
    expect(attachmentSlot(schema)).toBeUndefined();
  });

  it('types what was typed, and keeps a number that does not read as one for the schema to name', () => {
    const fields = intakeFields(schema);
    const { input, values } = readIntakeForm(
      fields,
      new Map([
        ['priority', 'high'],
        ['seats', 'three'],
        ['note', ''],
        ['urgent', 'on'],
      ]),
    );
    expect(input).toEqual({ priority: 'high', seats: 'three', urgent: true });
    expect(values).toEqual({ priority: 'high', seats: 'three', note: '', urgent: true });
    expect(readIntakeForm(fields, new Map([['seats', '3']])).input).toEqual({ seats: 3, urgent: false });
  });

  it('tells files by their bytes: a mail, plain text, markup, an image whatever its name', async () => {
    expect(classifyText('From: a@example.com\r\nSubject: receipt\r\n\r\nHello')).toEqual({
      ok: true,
      type: 'message/rfc822',
    });
    expect(classifyText('Dear team,\nI was charged twice.')).toEqual({ ok: true, type: 'text/plain' });
    expect(classifyText('  <svg onload="x()"></svg>')).toEqual({ ok: false, detected: 'text/html' });
    expect(await sniffHead(PNG)).toEqual({ ok: true, type: 'image/png' });
    expect(await sniffHead(ELF)).toEqual({ ok: false, detected: 'application/x-elf' });
  });
});
