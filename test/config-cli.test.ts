import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../src/config.js';
import { type CliResult, countersign } from './support/cli.js';

const problemLines = (stderr: string) =>
  stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[A-Z_]+: /.test(l));

describe('countersign start with a bad environment', () => {
  let result: CliResult;
  beforeAll(async () => {
    result = await countersign(['start'], {
      PORT: 'abc',
      MONGODB_URI: 'http://x',
      REDIS_URL: 'redis://127.0.0.1:6379',
      AUTONOMY: 'yolo',
      COUNTERSIGN_API_TOKEN: 'a-token-long-enough-0123',
    });
  });

  it('exits with code 2', () => {
    expect(result.code).toBe(2);
  });

  it('prints one line per bad variable, naming it', () => {
    const names = problemLines(result.stderr).map((l) => l.slice(0, l.indexOf(':')));
    expect(names.sort()).toEqual(['APP_SECRET', 'AUTONOMY', 'MONGODB_URI', 'PORT']);
  });

  it('says what each variable expects', () => {
    const lines = problemLines(result.stderr);
    expect(lines).toContain('PORT: expected a whole number from 1 to 65535');
    expect(lines).toContain('AUTONOMY: expected one of manual, shadow, assisted, autonomous');
    expect(lines.find((l) => l.startsWith('MONGODB_URI:'))).toMatch(/mongodb:\/\//);
    expect(lines.find((l) => l.startsWith('APP_SECRET:'))).toMatch(/required outside the demo/);
  });

  it('prints no stack trace', () => {
    expect(result.stderr).not.toMatch(/^ {4}at /m);
    expect(result.stdout).not.toMatch(/^ {4}at /m);
  });
});

describe('countersign with nothing configured', () => {
  it('names each required variable on its own line and exits 2', async () => {
    const { code, stderr } = await countersign(['worker'], {});
    expect(code).toBe(2);
    const names = problemLines(stderr).map((l) => l.slice(0, l.indexOf(':')));
    expect(names.sort()).toEqual(['APP_SECRET', 'COUNTERSIGN_API_TOKEN', 'MONGODB_URI', 'REDIS_URL']);
    expect(stderr).not.toMatch(/^ {4}at /m);
  });
});

describe('countersign with an unknown command', () => {
  let result: CliResult;
  beforeAll(async () => {
    result = await countersign(['frobnicate'], {});
  });

  it('exits with code 1', () => {
    expect(result.code).toBe(1);
  });

  it('names the command and prints the usage', () => {
    expect(result.stderr).toContain('unknown command "frobnicate"');
    expect(result.stderr).toMatch(/usage: countersign <command>/);
    expect(result.stderr).toMatch(/^\s+start\s/m);
    expect(result.stderr).toMatch(/^\s+worker\s/m);
  });
});

describe('parseEnv', () => {
  const required = {
    MONGODB_URI: 'mongodb://127.0.0.1:27017/countersign',
    REDIS_URL: 'redis://127.0.0.1:6379',
    APP_SECRET: 'an-app-secret-of-at-least-32-characters',
    COUNTERSIGN_API_TOKEN: 'an-api-token-0123456789',
  };

  /** The problem lines of a configuration that must not parse. */
  function problemsOf(env: Record<string, string | undefined>): string[] {
    try {
      parseEnv(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error('expected the configuration to be refused');
  }

  it('fills in the documented defaults', () => {
    const config = parseEnv(required);
    expect(config).toMatchObject({
      port: 3000,
      publicUrl: 'http://localhost:3000',
      autonomy: 'manual',
      model: { kind: 'offline' },
      modelName: 'offline',
      approverEmails: [],
      demo: false,
      imap: { mailbox: 'INBOX' },
      slack: { apiUrl: 'https://slack.com/api/' },
    });
  });

  it('derives PUBLIC_URL from PORT', () => {
    expect(parseEnv({ ...required, PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
  });

  it('drops trailing slashes from PUBLIC_URL', () => {
    expect(parseEnv({ ...required, PUBLIC_URL: 'https://cs.example.com//' }).publicUrl).toBe('https://cs.example.com');
  });

  it('treats empty variables as unset', () => {
    expect(parseEnv({ ...required, PORT: '', AUTONOMY: ' ', SMTP_URL: '' })).toMatchObject({
      port: 3000,
      autonomy: 'manual',
      smtpUrl: undefined,
    });
  });

  it('lowercases and trims a comma list of APPROVER_EMAILS, skipping empty entries', () => {
    const config = parseEnv({ ...required, APPROVER_EMAILS: ' Lead@Example.com, OPS@example.COM ,, ' });
    expect(config.approverEmails).toEqual(['lead@example.com', 'ops@example.com']);
  });

  it('refuses an APPROVER_EMAILS entry that is not an address', () => {
    expect(problemsOf({ ...required, APPROVER_EMAILS: 'lead@example.com, not-an-address' })).toEqual([
      'APPROVER_EMAILS: expected a comma-separated list of email addresses',
    ]);
  });

  it('reads TRUST_PROXY as express wants it: a boolean, a hop count, or proxies', () => {
    const trust = (value: string) => parseEnv({ ...required, TRUST_PROXY: value }).trustProxy;
    expect(trust('true')).toBe(true);
    expect(trust('false')).toBe(false);
    expect(trust('2')).toBe(2);
    expect(trust('loopback, 10.0.0.0/8,fd00::/8, 192.168.1.1')).toBe('loopback,10.0.0.0/8,fd00::/8,192.168.1.1');
    expect(trust('')).toBeUndefined();
  });

  it('refuses a TRUST_PROXY entry express would only fail on at the first request', () => {
    expect(problemsOf({ ...required, TRUST_PROXY: 'loopback, yes, 10.0.0.0/40' })).toEqual([
      'TRUST_PROXY: expected true, false, a hop count, or loopback/linklocal/uniquelocal, addresses and subnets (not yes, 10.0.0.0/40)',
    ]);
  });

  it('runs the demo without APP_SECRET or COUNTERSIGN_API_TOKEN, on fixed demo secrets', () => {
    const config = parseEnv({
      MONGODB_URI: required.MONGODB_URI,
      REDIS_URL: required.REDIS_URL,
      COUNTERSIGN_DEMO: '1',
    });
    expect(config.demo).toBe(true);
    expect(config.appSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.apiToken.length).toBeGreaterThanOrEqual(16);
  });

  it('prefers real secrets over the demo ones in demo mode', () => {
    const config = parseEnv({ ...required, COUNTERSIGN_DEMO: 'true' });
    expect(config).toMatchObject({ appSecret: required.APP_SECRET, apiToken: required.COUNTERSIGN_API_TOKEN });
  });

  it('requires APP_SECRET and COUNTERSIGN_API_TOKEN outside the demo', () => {
    const problems = problemsOf({ MONGODB_URI: required.MONGODB_URI, REDIS_URL: required.REDIS_URL });
    expect(problems.map((p) => p.slice(0, p.indexOf(':'))).sort()).toEqual(['APP_SECRET', 'COUNTERSIGN_API_TOKEN']);
  });

  it('refuses an APP_SECRET shorter than 32 characters', () => {
    expect(problemsOf({ ...required, APP_SECRET: 'short' })).toEqual([
      'APP_SECRET: expected at least 32 characters of random text',
    ]);
  });

  it('reports a variable with several problems on one line', () => {
    expect(problemsOf({ ...required, PORT: '-1.5' })).toEqual(['PORT: expected a whole number from 1 to 65535']);
  });

  it('uses the OpenAI model when a key is set', () => {
    expect(parseEnv({ ...required, OPENAI_API_KEY: 'sk-test' })).toMatchObject({
      model: { kind: 'openai', apiKey: 'sk-test', baseUrl: undefined },
      modelName: 'gpt-4.1-mini',
    });
  });

  it('accepts a local OpenAI-compatible server without a key', () => {
    const config = parseEnv({ ...required, OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1', OPENAI_MODEL: 'llama' });
    expect(config).toMatchObject({ model: { kind: 'openai', apiKey: undefined }, modelName: 'llama' });
  });

  it('requires a key for a remote OpenAI-compatible server', () => {
    expect(problemsOf({ ...required, OPENAI_BASE_URL: 'https://llm.example.com/v1' })).toEqual([
      'OPENAI_API_KEY: required when OPENAI_BASE_URL points to a remote server',
    ]);
  });

  it('accepts every autonomy level of the contract', () => {
    for (const level of ['manual', 'shadow', 'assisted', 'autonomous'] as const) {
      expect(parseEnv({ ...required, AUTONOMY: level }).autonomy).toBe(level);
    }
  });

  it('never puts a secret into a problem line', () => {
    const problems = problemsOf({ ...required, APP_SECRET: 'tooshort-secret', PORT: 'x' });
    expect(problems.join('\n')).not.toContain('tooshort-secret');
  });
});
