import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, countersign } from './support/cli.js';

/** Everything a start needs but the file, valid, so only the file's problems are reported. */
const goodEnv = {
  MONGODB_URI: 'mongodb://127.0.0.1:1/countersign',
  REDIS_URL: 'redis://127.0.0.1:1',
  APP_SECRET: 'an-app-secret-of-at-least-32-characters',
  COUNTERSIGN_API_TOKEN: 'an-api-token-0123456789',
};

const SECRET = 'sk-live-do-not-print-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'countersign-config-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const fileLines = (stderr: string) =>
  stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('COUNTERSIGN_CONFIG'));

const noStackTrace = (r: CliResult) => {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout).not.toMatch(/^\s+at /m);
};

describe('countersign start with a bad YAML configuration file', () => {
  let result: CliResult;
  let path: string;
  beforeAll(async () => {
    path = write(
      'countersign.yaml',
      `groups:
  leads: [lead@acme.test, U0LEAD]
  finance: [fin@acme.test]
workflows:
  refund-request:
    stages:
      - approvers: leads
      - approvers: finance
        above: lots
      - approvers: legal
  card-dispute:
    autonomie: manual
providers:
  remote: { baseUrl: "not a url", apiKey: ${SECRET} }
  misplaced: ${SECRET}
`,
    );
    result = await countersign(['start'], { ...goodEnv, COUNTERSIGN_CONFIG: path });
  });

  it('exits with code 2', () => {
    expect(result.code).toBe(2);
  });

  it('prints one line per problem, naming the file and the path', () => {
    const label = `COUNTERSIGN_CONFIG (${path})`;
    expect(fileLines(result.stderr)).toEqual([
      `${label} workflows.refund-request.stages[1].above: expected a number, got "lots"`,
      `${label} workflows.refund-request.stages[2].approvers: unknown group "legal" (groups: "leads", "finance")`,
      `${label} workflows.card-dispute: unknown key "autonomie" (did you mean "autonomy"?)`,
      `${label} providers.remote.baseUrl: expected an http(s) URL, got text`,
      `${label} providers.misplaced: expected a mapping, got text`,
    ]);
  });

  it('never prints the API key', () => {
    expect(result.stderr).not.toContain('0123456789');
    expect(result.stdout).not.toContain('0123456789');
  });

  it('prints no stack trace', () => {
    noStackTrace(result);
  });
});

describe('countersign start with a configuration file that cannot be read', () => {
  it('names a missing file on one line and exits 2', async () => {
    const missing = join(dir, 'nowhere.yaml');
    const r = await countersign(['start'], { ...goodEnv, COUNTERSIGN_CONFIG: missing });
    expect(r.code).toBe(2);
    expect(fileLines(r.stderr)).toEqual([`COUNTERSIGN_CONFIG (${missing}): file not found`]);
    noStackTrace(r);
  });

  it('gives line and column of a YAML syntax error', async () => {
    const path = write('broken.yaml', `groups:\n  leads: [lead@acme.test\n  finance: [fin@acme.test]\n`);
    const r = await countersign(['worker'], { ...goodEnv, COUNTERSIGN_CONFIG: path });
    expect(r.code).toBe(2);
    expect(fileLines(r.stderr)).toEqual([
      `COUNTERSIGN_CONFIG (${path}) line 3:3: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ]);
    noStackTrace(r);
  });

  it('gives line and column of a JSON syntax error without quoting the file', async () => {
    const path = write(
      'broken.json',
      `{\n  "providers": { "p": { "baseUrl": "https://x.test", "apiKey": ${SECRET} } }\n}\n`,
    );
    const r = await countersign(['serve'], { ...goodEnv, COUNTERSIGN_CONFIG: path });
    expect(r.code).toBe(2);
    expect(fileLines(r.stderr)).toEqual([
      `COUNTERSIGN_CONFIG (${path}) line 2:64: unexpected character or word (JSON strings need double quotes)`,
    ]);
    expect(r.stderr).not.toContain('0123456789');
    noStackTrace(r);
  });
});

describe('countersign start with bad variables and a bad JSON file', () => {
  it('lists both in one run', async () => {
    const path = write(
      'countersign.json',
      JSON.stringify({
        groups: { leads: ['lead@acme.test'] },
        workflows: { 'refund-request': { stages: [{ approvers: 'leads', quorum: { count: 2 } }] } },
        providers: { local: { baseUrl: 'http://127.0.0.1:8000/v1', apiKeyEnv: 'LOCAL_LLM_KEY' } },
      }),
    );
    const r = await countersign(['start'], { ...goodEnv, AUTONOMY: 'yolo', COUNTERSIGN_CONFIG: path });
    expect(r.code).toBe(2);
    const lines = r.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[A-Z_]+[ :]/.test(l));
    expect(lines).toEqual([
      'AUTONOMY: expected one of manual, shadow, assisted, autonomous',
      `COUNTERSIGN_CONFIG (${path}) workflows.refund-request.stages[0].quorum.count: quorum of 2 but the approvers have only 1 member`,
      `COUNTERSIGN_CONFIG (${path}) providers.local.apiKeyEnv: environment variable LOCAL_LLM_KEY is not set`,
    ]);
    noStackTrace(r);
  });
});
