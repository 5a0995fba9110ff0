import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * @dwmkerr/mock-llm (MIT, npm): an OpenAI-compatible server written by someone else, run as its own process the
 * way its README runs it. Responses come from its rules: a JMESPath `match` on the request, a templated body.
 */
export interface MockLlm {
  baseUrl: string;
  /** Replaces the rules (its `POST /config`) after a reset (`DELETE /config`), which also resets `sequence` counters. */
  setRules(rules: MockLlmRule[]): Promise<void>;
  close(): Promise<void>;
}

export interface MockLlmRule {
  path: string;
  method?: string;
  match?: string;
  sequence?: number;
  response: { status: number; content: string };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function startMockLlm(): Promise<MockLlm> {
  const require = createRequire(import.meta.url);
  const main = require.resolve('@dwmkerr/mock-llm');
  // An empty working directory: it would load a mock-llm.yaml from there, and we want its defaults plus our rules.
  const cwd = mkdtempSync(join(tmpdir(), 'mock-llm-'));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [main], {
    cwd,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mock-llm exited with ${child.exitCode}: ${stderr}`);
    const healthy = await fetch(`${origin}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) throw new Error(`mock-llm did not become healthy: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    baseUrl: `${origin}/v1`,
    async setRules(rules) {
      const reset = await fetch(`${origin}/config`, { method: 'DELETE' });
      if (!reset.ok) throw new Error(`mock-llm DELETE /config: ${reset.status}`);
      const res = await fetch(`${origin}/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ streaming: { chunkSize: 50, chunkIntervalMs: 50 }, rules }),
      });
      if (!res.ok) throw new Error(`mock-llm POST /config: ${res.status} ${await res.text()}`);
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/** A chat completion in the shape the rules return; `{{jmes request body.model}}` is the server's own templating. */
export function chatCompletion(message: Record<string, unknown>, finishReason = 'stop'): string {
  return JSON.stringify({
    id: 'chatcmpl-{{timestamp}}',
    object: 'chat.completion',
    created: 1_767_225_600,
    model: '{{jmes request body.model}}',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finishReason }],
    usage: { prompt_tokens: 50, completion_tokens: 12, total_tokens: 62 },
  });
}
