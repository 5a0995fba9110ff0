import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modules } from '../compose.js';
import type { UseCaseModule } from '../src/modules/types.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';

/*
 * Builds the module of docs/writing-a-module.md from the page itself: every ```ts block with a `title` is written to
 * its path, then the module is loaded into a real deployment beside the built-in ones. The page's imports are
 * relative to `agents/access/`; the files are placed one level deeper here (`test/.walkthrough-<pid>/access/`), so
 * `../../` becomes `../../../` and nothing is written under agents/.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const page = readFileSync(join(root, 'docs/writing-a-module.md'), 'utf8');
const blocks = [...page.matchAll(/```ts title="agents\/access\/([\w.-]+\.ts)"\n([\s\S]*?)```/g)].map((m) => ({
  file: m[1] ?? '',
  code: m[2] ?? '',
}));
const dir = join(root, 'test', `.walkthrough-${process.pid}`, 'access');

let t: TestApp;
let accessModule: UseCaseModule;

beforeAll(async () => {
  expect(blocks.map((b) => b.file).sort()).toEqual([
    'agents.ts',
    'input.ts',
    'module.ts',
    'offline-rules.ts',
    'workflow.ts',
  ]);
  mkdirSync(dir, { recursive: true });
  for (const b of blocks) writeFileSync(join(dir, b.file), b.code.replaceAll("'../../", "'../../../"));
  ({ accessModule } = (await import(join(dir, 'module.ts'))) as { accessModule: UseCaseModule });
  t = await startTestApp({ label: 'walkthrough', modules: [...modules, accessModule] });
});
afterAll(async () => {
  await t?.close();
  rmSync(join(root, 'test', `.walkthrough-${process.pid}`), { recursive: true, force: true });
});

describe('the module of docs/writing-a-module.md', () => {
  it('is listed beside the built-in processes with its input schema and routes', async () => {
    const res = await t.api('/api/workflows');
    expect(res.status).toBe(200);
    const listing = JSON.stringify(await res.json());
    for (const name of ['access-request', 'refund-request', 'card-dispute']) expect(listing).toContain(name);
    expect(listing).toContain('justification');
  });

  it('starts by webhook, waits for a person, and emails the requester once approved', async () => {
    const res = await t.webhook('access-request', {
      requester: 'Dev@Example.com',
      system: 'data-warehouse',
      level: 'write',
      justification: 'Backfill of the revenue table, ticket FIN-12',
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const waiting = await t.waitForRun(runId, hasPendingCheckpoint, 60_000);
    const checkpoint = waiting.checkpoints[0];
    expect(checkpoint?.name).toBe('review');
    const doc = await t.app.store.checkpoints.findById(checkpoint?.id).lean();
    expect(doc?.values).toEqual({ decision: 'grant', note: '' });
    const decided = await t.api(`/api/checkpoints/${checkpoint?.id}/decision`, {
      body: { decision: 'approve', actor: 'lead@example.com', edits: { note: 'Read-only after Friday.' } },
    });
    expect(decided.status).toBe(200);
    const done = await t.waitForRun(runId, isFinished, 60_000);
    expect(done.output).toEqual({ decision: 'grant', decidedBy: 'lead@example.com' });
    const mail = await t.smtp.waitFor((m) => m.to.includes('dev@example.com'));
    expect(mail.subject).toBe('Your write access to data-warehouse: granted');
    expect(mail.text).toContain('Read-only after Friday.');
  });

  it('refuses input in the module’s own words', async () => {
    const res = await t.webhook('access-request', {
      requester: 'dev@example.com',
      system: 'the-moon',
      level: 'admin',
      justification: 'short',
    });
    expect(res.status).toBe(400);
    const body = JSON.stringify(await res.json());
    expect(body).toContain('Pick one of: billing-console, data-warehouse, production-ssh');
    expect(body).toContain('Say in a sentence why you need it');
  });
});
