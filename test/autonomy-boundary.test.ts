import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES, type SampleName } from '../agents/disputes/samples.js';
import { modules } from '../compose.js';
import type { VerdictBoundary } from '../src/engine/autonomy.js';
import type { RunView } from '../src/engine/types.js';
import { type AgreementDoc, agreementModel } from '../src/store/agreements.js';
import { INDEXES, moduleIndexes } from '../src/store/indexes.js';
import { logStoreRequests } from '../src/store/request-log.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { formatShapes, uncoveredShapes } from './support/index-coverage.js';

/*
 * The autonomy boundary through the real flow. Card disputes run at `shadow` by the configuration file while the
 * deployment allows `assisted`: only a slice a person raised may decide alone. The clear duplicate (49 EUR, the
 * offline model accepts it with confidence ≥ 0.9) is the slice `accept/≥0.9/≤50`; the unauthorised-charge claim
 * (199 USD, rejected) is another slice.
 */

const LEAD = 'lead@example.com';
const RAISED_SLICE = { outcome: 'accept', confidence: '>=0.9', amount: '<=50' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'countersign-boundary-'));
  await writeFile(join(dir, 'countersign.yaml'), 'workflows:\n  card-dispute:\n    autonomy: shadow\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startSample(t: TestApp, name: SampleName): Promise<RunView> {
  const res = await t.webhook('card-dispute', SAMPLE_DISPUTES[name]);
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  return t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r));
}

/** The verdict as the engine journaled it. */
async function journaledBoundary(t: TestApp, runId: string): Promise<VerdictBoundary | undefined> {
  const docs = await t.app.store.steps
    .find({ runId })
    .lean<{ stepId: string; result?: { boundary?: VerdictBoundary } }[]>();
  return docs.find((d) => d.stepId === 'autonomy' && d.result?.boundary)?.result?.boundary;
}

const agreementOf = (t: TestApp, runId: string) => agreementModel(t.app.store).findOne({ runId }).lean<AgreementDoc>();

describe('AUTONOMY=assisted, card disputes at shadow by the file', () => {
  let t: TestApp;
  let grantId = '';
  beforeAll(async () => {
    t = await startTestApp({
      label: 'boundary',
      env: { AUTONOMY: 'assisted', COUNTERSIGN_CONFIG: join(dir, 'countersign.yaml') },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('makes a clear duplicate wait while no grant covers its slice, journaling the slice', async () => {
    const run = await startSample(t, 'clearAccept');
    expect(run.status).toBe('waiting');
    expect(await journaledBoundary(t, run.id)).toMatchObject({
      key: 'accept/≥0.9/≤50',
      from: 'workflow',
      requested: 'shadow',
      level: 'shadow',
    });
  });

  it('records confidence, amount and agent versions with a decision by a person', async () => {
    const run = await startSample(t, 'clearAccept');
    const res = await t.api(`/api/checkpoints/${run.checkpoints[0]?.id}/decision`, {
      body: { decision: 'approve', actor: LEAD },
    });
    expect(res.status).toBe(200);
    const done = await t.waitForRun(run.id, isFinished);
    const agreement = await agreementOf(t, run.id);
    expect(agreement).toMatchObject({ decidedBy: 'person', agreed: true, proposed: 'accept', amount: 49 });
    expect(agreement?.confidence).toBeGreaterThanOrEqual(0.9);
    // Every proposing agent whose step recorded its version, and no other.
    const expected = Object.fromEntries(
      done.steps
        .filter((s) => s.kind === 'agent' && s.agentVersion && (agreement?.agents ?? []).includes(s.name))
        .map((s) => [s.name, s.agentVersion]),
    );
    expect(Object.keys(expected)).toHaveLength(agreement?.agents.length ?? -1);
    expect(agreement?.versions).toEqual(expected);
  });

  describe('the grants API', () => {
    it('refuses a grant without an actor, naming the field', async () => {
      const res = await t.api('/api/autonomy/grants', {
        body: { workflow: 'card-dispute', slice: RAISED_SLICE, level: 'assisted' },
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { issues: { path: string }[] };
      expect(body.issues.map((i) => i.path)).toContain('actor');
    });

    it('refuses a band the configuration does not have, listing those it has', async () => {
      const res = await t.api('/api/autonomy/grants', {
        body: { workflow: 'card-dispute', slice: { confidence: '≥0.95' }, level: 'assisted', actor: LEAD },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toContain('bands: <0.7, 0.7–0.9, ≥0.9, none');
    });

    it('answers 404 for a recommendation the evidence does not support, and 400 without an actor', async () => {
      const id = 'card-dispute/accept/ge0.9/le50/assisted';
      const missing = await t.api('/api/autonomy/grants', { body: { recommendation: id, actor: LEAD } });
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { message: string }).message).toContain(`no recommendation "${id}" now`);
      expect((await t.api('/api/autonomy/grants', { body: { recommendation: id } })).status).toBe(400);
    });

    it('answers 404 for a workflow nobody registered', async () => {
      const res = await t.api('/api/autonomy/grants', {
        body: { workflow: 'no-such-flow', slice: {}, level: 'assisted', actor: LEAD },
      });
      expect(res.status).toBe(404);
    });

    it('records a grant with who applied it and shows it in the boundary', async () => {
      const res = await t.api('/api/autonomy/grants', {
        body: {
          workflow: 'card-dispute',
          slice: RAISED_SLICE,
          level: 'assisted',
          actor: LEAD,
          reason: 'clear duplicates',
        },
      });
      expect(res.status).toBe(201);
      const { grant } = (await res.json()) as { grant: { id: string; appliedBy: string; key: string; reason: string } };
      expect(grant).toMatchObject({ appliedBy: LEAD, key: 'accept/≥0.9/≤50', reason: 'clear duplicates' });
      grantId = grant.id;
      const boundary = (await (await t.api('/api/autonomy?workflow=card-dispute')).json()) as {
        ceiling: string;
        workflows: {
          workflow: string;
          inForce: string;
          overrides: { source: string; inForce: string; grant: { id: string; appliedBy: string } | null }[];
        }[];
      };
      expect(boundary.ceiling).toBe('assisted');
      expect(boundary.workflows[0]).toMatchObject({ workflow: 'card-dispute', inForce: 'shadow' });
      expect(boundary.workflows[0]?.overrides).toEqual([
        expect.objectContaining({
          source: 'grant',
          inForce: 'assisted',
          grant: expect.objectContaining({ id: grantId, appliedBy: LEAD }),
        }),
      ]);
    });
  });

  it('lets a case of the raised slice stand without a person, recording the slice and the grant', async () => {
    const run = await startSample(t, 'clearAccept');
    expect(run.status).toBe('completed');
    expect(run.checkpoints).toHaveLength(0);
    expect(run.output).toMatchObject({ outcome: 'accept', decidedBy: 'policy' });
    expect(await journaledBoundary(t, run.id)).toMatchObject({
      key: 'accept/≥0.9/≤50',
      from: 'grant',
      grantId,
      appliedBy: LEAD,
      level: 'assisted',
    });
    expect(await agreementOf(t, run.id)).toMatchObject({ decidedBy: 'policy', amount: 49, proposed: 'accept' });
  });

  it('keeps a case of another slice waiting for a person', async () => {
    const run = await startSample(t, 'clearReject');
    expect(run.status).toBe('waiting');
    expect(await journaledBoundary(t, run.id)).toMatchObject({ from: 'workflow', level: 'shadow' });
  });

  it('restores waiting once the grant is revoked, and refuses a second revocation with 409', async () => {
    const revoked = await t.api(`/api/autonomy/grants/${grantId}/revoke`, { body: { actor: 'cfo@example.com' } });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { grant: { revokedBy: string } }).grant.revokedBy).toBe('cfo@example.com');
    const again = await t.api(`/api/autonomy/grants/${grantId}/revoke`, { body: { actor: LEAD } });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { message: string }).message).toContain('already revoked by cfo@example.com');
    expect((await t.api('/api/autonomy/grants/grant-nope/revoke', { body: { actor: LEAD } })).status).toBe(404);

    const run = await startSample(t, 'clearAccept');
    expect(run.status).toBe('waiting');
    expect(await journaledBoundary(t, run.id)).toMatchObject({ from: 'workflow', level: 'shadow' });
  });

  it('keeps the revoked grant in the history', async () => {
    const boundary = (await (await t.api('/api/autonomy')).json()) as {
      workflows: { workflow: string; revoked: { id: string; appliedBy: string; revokedBy: string }[] }[];
    };
    const disputes = boundary.workflows.find((w) => w.workflow === 'card-dispute');
    expect(disputes?.revoked).toEqual([
      expect.objectContaining({ id: grantId, appliedBy: LEAD, revokedBy: 'cfo@example.com' }),
    ]);
  });

  it('sends no query the index lists do not serve', async () => {
    const log = logStoreRequests(t.app.store.connection.getClient());
    await t.api('/api/autonomy');
    const created = await t.api('/api/autonomy/grants', {
      body: { workflow: 'card-dispute', slice: { outcome: 'reject' }, level: 'manual', actor: LEAD },
    });
    const { grant } = (await created.json()) as { grant: { id: string } };
    await startSample(t, 'clearAccept');
    await t.api(`/api/autonomy/grants/${grant.id}/revoke`, { body: { actor: LEAD } });
    log.stop();
    const uncovered = uncoveredShapes(log.requests(), [...INDEXES, ...moduleIndexes(modules)]);
    expect(uncovered, `query shapes no index serves:\n${formatShapes(uncovered)}`).toEqual([]);
  });
});

describe('AUTONOMY=manual with a grant to assisted', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ label: 'boundarymanual', env: { COUNTERSIGN_CONFIG: join(dir, 'countersign.yaml') } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('still makes every case wait: the deployment ceiling wins', async () => {
    const res = await t.api('/api/autonomy/grants', {
      body: { workflow: 'card-dispute', slice: RAISED_SLICE, level: 'autonomous', actor: LEAD },
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { note: string }).note).toMatch(/AUTONOMY=manual caps it at manual/);
    const run = await startSample(t, 'clearAccept');
    expect(run.status).toBe('waiting');
    expect(await journaledBoundary(t, run.id)).toMatchObject({ from: 'ceiling', level: 'manual' });
  });
});
