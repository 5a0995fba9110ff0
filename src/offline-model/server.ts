import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { complete, type Outcome, type ServerSupport } from './complete.js';
import { createFaults, type FaultControl, faultSpecSchema } from './faults.js';
import { chatRequestSchema, errorBody, requestError } from './protocol.js';
import { agentKey, type Responder } from './responder.js';
import { createPromptCache } from './usage.js';

export interface OfflineModelOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Added to every chat completion, so timing-sensitive code sees a model that takes time. */
  latencyMs: number;
  responders: Responder[];
  /**
   * Features to pretend the server lacks (all supported by default), so the runtime's fallbacks are tested over
   * HTTP: a lacking feature is refused with a 400 in the words real servers use.
   */
  supports?: Partial<ServerSupport>;
}

export interface OfflineModel {
  /** What to give the openai client as `baseURL`, e.g. `http://127.0.0.1:41234/v1`. */
  baseUrl: string;
  faults: FaultControl;
  setLatency(ms: number): void;
  setSupports(supports: Partial<ServerSupport>): void;
  close(): Promise<void>;
}

const MAX_BODY = 8 * 1024 * 1024;
const latencySchema = z.object({ ms: z.number().int().min(0).max(600_000) });

/**
 * A local OpenAI-compatible server that plays agents from deterministic rules, for the demo and the tests. It
 * speaks the Chat Completions wire format closely enough for the real `openai` client: same bodies, errors,
 * headers and usage fields, with faults (429, 500, hangs, broken JSON) on demand.
 *
 * @example
 * const model = await startOfflineModel({ latencyMs: 0, responders: disputeResponders() });
 * const openai = new OpenAI({ baseURL: model.baseUrl, apiKey: 'offline' });
 */
export async function startOfflineModel(options: OfflineModelOptions): Promise<OfflineModel> {
  const responders = new Map<string, Responder>();
  for (const r of options.responders) {
    const key = agentKey(r.agent);
    if (responders.has(key)) throw new Error(`two offline responders for agent "${key}"`);
    responders.set(key, r);
  }
  const faults = createFaults();
  const cache = createPromptCache();
  let latencyMs = checkedLatency(options.latencyMs);
  let supports = supportsOf(options.supports);
  const timers = new Set<NodeJS.Timeout>();
  const hanging = new Set<ServerResponse>();
  let closing = false;

  const delay = () =>
    new Promise<void>((resolve) => {
      if (latencyMs === 0) return resolve();
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, latencyMs);
      timers.add(t);
    });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://offline').pathname.replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/v1/models') {
      return send(res, 200, { object: 'list', data: [modelCard()] });
    }
    if (method === 'GET' && path === '/v1/models/offline') return send(res, 200, modelCard());
    if (path === '/__offline/faults') {
      if (method === 'GET') return send(res, 200, { pending: faults.pending() });
      if (method === 'DELETE') {
        faults.clear();
        return send(res, 200, { pending: [] });
      }
      if (method === 'POST') {
        const spec = faultSpecSchema.safeParse(await readJson(req));
        if (!spec.success) return send(res, 400, requestError(spec.error));
        faults.inject(spec.data);
        return send(res, 201, { pending: faults.pending() });
      }
    }
    if (method === 'POST' && path === '/__offline/latency') {
      const body = latencySchema.safeParse(await readJson(req));
      if (!body.success) return send(res, 400, requestError(body.error));
      latencyMs = body.data.ms;
      return send(res, 200, { latencyMs });
    }
    if (method === 'POST' && path === '/v1/chat/completions') {
      const body = await readJson(req);
      if (body === INVALID_JSON) {
        return send(res, 400, errorBody('We could not parse the JSON body of your request. Please send valid JSON.'));
      }
      const parsed = chatRequestSchema.safeParse(body);
      if (!parsed.success) return send(res, 400, requestError(parsed.error));
      await delay();
      if (closing) return;
      const outcome: Outcome = await complete(parsed.data, { responders, supports, faults, cache });
      if (outcome.kind === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      return send(res, outcome.status, outcome.body, outcome.headers);
    }
    return send(res, 404, errorBody(`Invalid URL (${method} ${path || '/'})`));
  }

  const server = createServer((req, res) => {
    res.setHeader('x-request-id', `req_${randomBytes(16).toString('hex')}`);
    res.setHeader('openai-processing-ms', String(latencyMs));
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        send(res, 500, errorBody(`offline model: ${err instanceof Error ? err.message : String(err)}`, 'server_error'));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    baseUrl: `http://${host}:${port}/v1`,
    faults,
    setLatency(ms) {
      latencyMs = checkedLatency(ms);
    },
    setSupports(next) {
      supports = supportsOf(next);
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // Requests held by the timeout fault or a latency timer would keep the server open forever.
      for (const res of hanging) res.destroy();
      hanging.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

const supportsOf = (s: Partial<ServerSupport> = {}): ServerSupport => ({
  strictJsonSchema: s.strictJsonSchema ?? true,
  jsonMode: s.jsonMode ?? true,
  tools: s.tools ?? true,
});

function checkedLatency(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`latencyMs must be a non-negative number, got ${ms}`);
  return ms;
}

const modelCard = () => ({ id: 'offline', object: 'model', created: 1_767_225_600, owned_by: 'countersign' });

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const INVALID_JSON = Symbol('invalid json');

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY) return INVALID_JSON;
    chunks.push(buf);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return INVALID_JSON;
  }
}
