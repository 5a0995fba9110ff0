import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgreementDoc } from '../src/store/agreements.js';
import { agreementModel } from '../src/store/agreements.js';
import { openStore, type Store } from '../src/store/models.js';
import { type CliResult, countersign } from './support/cli.js';
import { redisUrl, testMongoUri, uniquePrefix } from './support/env.js';

/*
 * `countersign autonomy` as an operator runs it, against a store holding 250 decisions people made on clear
 * duplicates (accept, confidence 0.95, 30 EUR), all kept: enough evidence to raise that slice.
 */

const RAISE_ID = 'card-dispute/accept/ge0.9/le50/assisted';
let env: Record<string, string>;
let store: Store;

function decision(i: number): AgreementDoc {
  const at = new Date(Date.now() - (i + 1) * 60_000);
  return {
    _id: `seed-${i}`,
    v: 1,
    runId: `run-${i}`,
    workflow: 'card-dispute',
    checkpoint: 'review',
    agents: ['dispute-manager'],
    field: 'outcome',
    proposed: 'accept',
    final: 'accept',
    decision: 'approve',
    editedFields: [],
    agreed: true,
    decidedBy: 'person',
    actor: 'approver@example.com',
    channel: 'api',
    decidedAt: at,
    recordedAt: at,
    confidence: 0.95,
    amount: 30,
    versions: { 'dispute-manager': 'v1' },
  };
}

beforeAll(async () => {
  // A team that runs card disputes in shadow under an `assisted` ceiling: the evidence may raise a slice.
  const dir = mkdtempSync(join(tmpdir(), 'countersign-autonomy-cli-'));
  const config = join(dir, 'countersign.json');
  writeFileSync(config, JSON.stringify({ workflows: { 'card-dispute': { autonomy: 'shadow' } } }));
  env = {
    AUTONOMY: 'assisted',
    COUNTERSIGN_CONFIG: config,
    MONGODB_URI: testMongoUri('autonomycli'),
    REDIS_URL: redisUrl(),
    COUNTERSIGN_QUEUE_PREFIX: uniquePrefix('autonomycli'),
    APP_SECRET: 'test-app-secret-0123456789-0123456789-abcdef',
    COUNTERSIGN_API_TOKEN: 'test-api-token-0123456789',
    LOG_LEVEL: 'silent',
  };
  store = await openStore(env.MONGODB_URI as string);
  await agreementModel(store).insertMany(Array.from({ length: 250 }, (_, i) => decision(i)));
});
afterAll(async () => {
  await store?.connection.dropDatabase();
  await store?.close();
});

const run = (args: string[]): Promise<CliResult> => countersign(['autonomy', ...args], env);

describe('countersign autonomy', () => {
  let listed: CliResult;
  beforeAll(async () => {
    listed = await run(['--workflow', 'card-dispute']);
  });

  it('prints the level in force, the ceiling and a recommendation with its evidence', () => {
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('AUTONOMY (deployment ceiling): assisted');
    expect(listed.stdout).toMatch(
      /level in force: shadow +workflow level: shadow \(workflows\.card-dispute\.autonomy\) +AUTONOMY ceiling: assisted/,
    );
    expect(listed.stdout).toMatch(/RAISE +accept\/≥0\.9\/≤50 +shadow → assisted/);
    expect(listed.stdout).toMatch(/n=250 \(production 250, eval 0\) +agreed 250 +rate 100% +Wilson \[98\.5%, 100%\]/);
    expect(listed.stdout).toContain('lower bound 98.5% ≥ 98% over 250 cases');
    expect(listed.stdout).toContain(`apply: countersign autonomy apply ${RAISE_ID} --by <you>`);
    // Within the ceiling: the grant would act at once, so there is no note about AUTONOMY.
    expect(listed.stdout).not.toContain('note: AUTONOMY');
  });

  it('prints the same as JSON with --json', async () => {
    const json = await run(['--json', '--workflow', 'card-dispute']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { workflows: { recommendations: { id: string; cases: number }[] }[] };
    expect(report.workflows[0]?.recommendations[0]).toMatchObject({ id: RAISE_ID, cases: 250 });
  });

  it('applies a recommendation as a grant recorded with who applied it, once', async () => {
    const applied = await run(['apply', RAISE_ID, '--by', 'lead@example.com', '--reason', 'duplicates are clear-cut']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(
      /^recorded grant grant-[0-9a-f]{12}: card-dispute accept\/≥0\.9\/≤50 → assisted, applied by lead@example\.com/,
    );
    expect(applied.stdout).toContain('evidence: 250 cases, 250 agreed, Wilson lower bound 98.5%');

    const after = await run(['--workflow', 'card-dispute']);
    expect(after.stdout).toMatch(
      /accept\/≥0\.9\/≤50 → assisted +grant, applied by lead@example\.com at \S+ \(duplicates are clear-cut\)/,
    );
    // The slice is at assisted now; the next step is autonomous, which the AUTONOMY ceiling holds back.
    expect(after.stdout).toMatch(/RAISE +accept\/≥0\.9\/≤50 +assisted → autonomous/);
    expect(after.stdout).toMatch(/note: AUTONOMY=assisted caps the workflow/);

    const twice = await run(['apply', RAISE_ID, '--by', 'lead@example.com']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(
      /^countersign autonomy: no recommendation "card-dispute\/accept\/ge0\.9\/le50\/assisted" now/,
    );
  });

  it('sets a slice by hand and reverts it, refusing a second revert', async () => {
    const set = await run([
      'set',
      'card-dispute',
      '--slice',
      'outcome=reject,amount=>1000',
      '--level',
      'manual',
      '--by',
      'risk@example.com',
    ]);
    expect(set.code).toBe(0);
    const id = /recorded grant (grant-[0-9a-f]{12})/.exec(set.stdout)?.[1] ?? '';
    expect(set.stdout).toContain('card-dispute reject/*/>1000 → manual');

    const reverted = await run(['revert', id, '--by', 'cfo@example.com']);
    expect(reverted.code).toBe(0);
    expect(reverted.stdout).toMatch(
      new RegExp(`^revoked grant ${id} \\(card-dispute reject/\\*/>1000 → manual\\) by cfo@example\\.com`),
    );

    const again = await run(['revert', id, '--by', 'cfo@example.com']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(`^countersign autonomy: grant ${id} was already revoked by cfo@example\\.com`),
    );

    const history = await run(['--workflow', 'card-dispute']);
    expect(history.stdout).toMatch(
      /revoked grants:\n +reject\/\*\/>1000 → manual +applied by risk@example\.com .* revoked by cfo@example\.com/,
    );
  });

  it.each([
    [['apply'], 'a recommendation id is required'],
    [
      ['set', 'card-dispute', '--slice', 'outcome=accept', '--level', 'high', '--by', 'x@example.com'],
      '--level must be one of manual, shadow, assisted, autonomous, got "high"',
    ],
    [
      ['set', 'card-dispute', '--slice', 'confidence=≥0.95', '--level', 'assisted', '--by', 'x@example.com'],
      '--slice: unknown confidence band "≥0.95" (bands: <0.7, 0.7–0.9, ≥0.9, none)',
    ],
    [['--workflow', 'no-such-flow'], 'unknown workflow "no-such-flow"'],
  ])('exits 2 with one line on bad usage: %j', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`countersign autonomy: ${message}`);
  });
});
