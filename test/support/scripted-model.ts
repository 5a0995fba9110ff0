import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A tiny OpenAI-compatible server answering a queue of scripted responses, so the real `openai` client is tested
 * over real HTTP. Each request takes the next entry; requests are recorded for assertions.
 */
export type Scripted =
  | { kind: 'completion'; body: Record<string, unknown> }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: unknown }
  /** Never answers: for client timeouts. */
  | { kind: 'hang' };

export interface RecordedRequest {
  path: string;
  body: ChatRequest;
}

/** The parts of a chat.completions request the tests look at. */
export interface ChatRequest {
  model: string;
  messages: { role: string; content?: string | null; tool_call_id?: string; tool_calls?: unknown[] }[];
  tools?: { type: string; function: { name: string; parameters: Record<string, unknown>; strict?: boolean } }[];
  response_format?: { type: string; json_schema: { name: string; schema: Record<string, unknown>; strict: boolean } };
  max_completion_tokens?: number;
}

export interface ScriptedModel {
  /** Base URL for `new OpenAI({ baseURL })`. */
  url: string;
  requests: RecordedRequest[];
  push(...items: Scripted[]): void;
  close(): Promise<void>;
}

export async function startScriptedModel(): Promise<ScriptedModel> {
  const queue: Scripted[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    requests.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest });
    const next = queue.shift();
    if (!next) return send(res, 400, { error: { message: 'scripted model: no scripted response left' } });
    if (next.kind === 'hang') return;
    if (next.kind === 'status')
      return send(res, next.status, next.body ?? { error: { message: 'scripted' } }, next.headers);
    send(res, 200, next.body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    push: (...items) => queue.push(...items),
    close: async () => {
      // hanging requests keep their sockets open; close them or the server never stops
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

let ids = 0;

/** A chat.completion answer: JSON content (final answer) or tool calls. */
export function completion(options: {
  content?: unknown;
  toolCalls?: { name: string; arguments: unknown; id?: string }[];
  refusal?: string;
  model?: string;
  usage?: { prompt: number; completion: number; cached?: number };
}): Scripted {
  const { content, toolCalls, refusal, model = 'offline', usage = { prompt: 10, completion: 5 } } = options;
  const tool_calls = toolCalls?.map((t) => ({
    id: t.id ?? `call_${++ids}`,
    type: 'function',
    function: { name: t.name, arguments: typeof t.arguments === 'string' ? t.arguments : JSON.stringify(t.arguments) },
  }));
  return {
    kind: 'completion',
    body: {
      id: `chatcmpl-${++ids}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        {
          index: 0,
          finish_reason: tool_calls ? 'tool_calls' : 'stop',
          message: {
            role: 'assistant',
            content: content === undefined ? null : typeof content === 'string' ? content : JSON.stringify(content),
            refusal: refusal ?? null,
            ...(tool_calls ? { tool_calls } : {}),
          },
        },
      ],
      usage: {
        prompt_tokens: usage.prompt,
        completion_tokens: usage.completion,
        total_tokens: usage.prompt + usage.completion,
        prompt_tokens_details: { cached_tokens: usage.cached ?? 0 },
      },
    },
  };
}

export const status = (code: number, headers?: Record<string, string>): Scripted => ({
  kind: 'status',
  status: code,
  ...(headers ? { headers } : {}),
});

export const hang = (): Scripted => ({ kind: 'hang' });
