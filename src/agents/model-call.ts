import OpenAI from 'openai';
import type { Logger } from 'pino';
import { NonRetryable, Retryable } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { ModelCallDoc, Usage } from '../store/models.js';
import type { CallLog } from './call-log.js';
import { estimateCost } from './pricing.js';

export interface ModelCallDeps {
  client: OpenAI;
  /** Where each attempt is journaled: the store at once, or a buffer the caller inserts later. */
  log: CallLog;
  logger: Logger;
  metrics?: Metrics;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  maxAttempts: number;
  now: () => number;
  random: () => number;
  /** Models already reported as missing from the price table, so each is logged once. */
  unpriced: Set<string>;
}

export interface ModelCallScope {
  runId: string;
  stepId: string;
  agent: string;
  /** Journaled with each call, so an audit shows which server answered and how the answer was asked for. */
  provider?: string;
  outputMode?: string;
  turn: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

const BASE_DELAY_MS = 500;
const MAX_BACKOFF_MS = 30_000;
const MAX_RETRY_AFTER_MS = 60_000;

type Failure =
  | { kind: 'retry'; message: string; httpStatus?: number; retryAfterMs?: number }
  | { kind: 'fatal'; message: string; httpStatus?: number };

function classify(err: unknown, signal: AbortSignal | undefined): Failure | 'aborted' {
  if (signal?.aborted || err instanceof OpenAI.APIUserAbortError) return 'aborted';
  if (err instanceof OpenAI.APIConnectionError) return { kind: 'retry', message: err.message };
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    const message = err.message;
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      const retryAfterMs = retryAfter(err.headers);
      return { kind: 'retry', message, httpStatus: status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    }
    return { kind: 'fatal', message, httpStatus: status };
  }
  return { kind: 'fatal', message: err instanceof Error ? err.message : String(err) };
}

/** `retry-after-ms` (OpenAI's own), else `retry-after` in seconds or as an HTTP date; capped so a bad header cannot park a worker. */
export function retryAfter(headers: Headers | undefined, nowMs = Date.now()): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, MAX_RETRY_AFTER_MS);
  const raw = headers?.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (raw.trim() !== '' && Number.isFinite(seconds) && seconds >= 0)
    return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - nowMs), MAX_RETRY_AFTER_MS);
}

function backoff(attempt: number, random: () => number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  // "equal jitter": at least half the ceiling, so retries never collapse to zero delay
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

function abortError(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new Error('agent step aborted');
}

/** A request the server refused (4xx other than 408/409/429): final, with the server's own words kept apart. */
export class ModelRequestRejected extends NonRetryable {
  constructor(
    message: string,
    readonly httpStatus: number | undefined,
    readonly serverMessage: string,
  ) {
    super(message);
  }
}

/**
 * One model turn: the request, retried on 429/5xx/connection failures with backoff, every attempt journaled.
 * Exhausted retries become `Retryable` so the engine's queue retries the whole step later; other 4xx are final.
 */
export async function callModel(
  deps: ModelCallDeps,
  scope: ModelCallScope,
  body: OpenAI.ChatCompletionCreateParamsNonStreaming,
): Promise<{ completion: OpenAI.ChatCompletion; usage: Usage; callId: string }> {
  let last: Extract<Failure, { kind: 'retry' }> | undefined;
  for (let attempt = 1; attempt <= deps.maxAttempts; attempt++) {
    if (scope.signal?.aborted) throw abortError(scope.signal);
    const started = deps.now();
    try {
      const completion = await deps.client.chat.completions.create(body, {
        timeout: scope.timeoutMs,
        // retries happen here, one journal entry per attempt, whatever the client was built with
        maxRetries: 0,
        ...(scope.signal ? { signal: scope.signal } : {}),
      });
      const { usage, callId } = await recordSuccess(deps, scope, completion, body.model, deps.now() - started);
      return { completion, usage, callId };
    } catch (err) {
      const failure = classify(err, scope.signal);
      const latencyMs = deps.now() - started;
      if (failure === 'aborted') {
        await journal(deps, scope, body.model, latencyMs, { status: 'error', error: 'aborted' });
        throw abortError(scope.signal);
      }
      await journal(deps, scope, body.model, latencyMs, {
        status: 'error',
        error: failure.message,
        ...(failure.httpStatus !== undefined ? { httpStatus: failure.httpStatus } : {}),
      });
      if (failure.kind === 'fatal')
        throw new ModelRequestRejected(
          `model call for agent ${scope.agent} failed${servedBy(scope, body.model)}: ${failure.message}`,
          failure.httpStatus,
          failure.message,
        );
      last = failure;
      if (attempt === deps.maxAttempts) break;
      const delay = failure.retryAfterMs ?? backoff(attempt, deps.random);
      deps.logger.warn(
        {
          runId: scope.runId,
          stepId: scope.stepId,
          agent: scope.agent,
          attempt,
          httpStatus: failure.httpStatus,
          delay,
        },
        'model call failed, retrying',
      );
      try {
        await deps.sleep(delay, scope.signal);
      } catch {
        throw abortError(scope.signal);
      }
    }
  }
  throw new Retryable(
    `model call for agent ${scope.agent} failed after ${deps.maxAttempts} attempts${servedBy(scope, body.model)}: ${last?.message ?? 'unknown error'}`,
    last?.retryAfterMs,
  );
}

async function recordSuccess(
  deps: ModelCallDeps,
  scope: ModelCallScope,
  completion: OpenAI.ChatCompletion,
  requested: string,
  latencyMs: number,
): Promise<{ usage: Usage; callId: string }> {
  // The returned name is the dated snapshot that actually answered; it prices and audits better than the alias.
  const model = completion.model || requested;
  const inputTokens = completion.usage?.prompt_tokens ?? 0;
  const outputTokens = completion.usage?.completion_tokens ?? 0;
  const cachedTokens = completion.usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const { costUsd, priced } = estimateCost(model, { inputTokens, outputTokens, cachedTokens });
  if (!priced && !deps.unpriced.has(model)) {
    deps.unpriced.add(model);
    deps.logger.warn({ model }, 'model has no price in the table; its cost is reported as 0');
  }
  const usage: Usage = { inputTokens, outputTokens, cachedTokens, costUsd };
  const callId = await journal(deps, scope, model, latencyMs, { status: 'ok', ...usage });
  if (deps.metrics) {
    deps.metrics.modelTokens.inc({ model, kind: 'input' }, inputTokens);
    deps.metrics.modelTokens.inc({ model, kind: 'output' }, outputTokens);
    deps.metrics.modelTokens.inc({ model, kind: 'cached' }, cachedTokens);
    deps.metrics.modelCostUsd.inc({ model }, costUsd);
  }
  return { usage, callId };
}

async function journal(
  deps: ModelCallDeps,
  scope: ModelCallScope,
  model: string,
  latencyMs: number,
  fields: Partial<ModelCallDoc> & Pick<ModelCallDoc, 'status'>,
): Promise<string> {
  const doc: ModelCallDoc = {
    runId: scope.runId,
    stepId: scope.stepId,
    agent: scope.agent,
    model,
    ...(scope.provider !== undefined ? { provider: scope.provider } : {}),
    ...(scope.outputMode !== undefined ? { outputMode: scope.outputMode } : {}),
    turn: scope.turn,
    inputTokens: 0,
    outputTokens: 0,
    cachedTokens: 0,
    costUsd: 0,
    latencyMs,
    at: new Date(deps.now()),
    ...fields,
  };
  return deps.log.modelCall(doc);
}

const servedBy = (scope: ModelCallScope, model: string) =>
  scope.provider !== undefined ? ` (provider ${scope.provider}, model ${model})` : '';
