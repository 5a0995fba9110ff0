import OpenAI from 'openai';
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fenceUntrusted } from '../src/agents/untrusted.js';
import { type OfflineModel, type Responder, startOfflineModel } from '../src/offline-model/index.js';

// A weather agent: asks for the forecast of the city in its input, then answers from the tool's result.
const weather: Responder = {
  agent: 'weather-agent',
  respond({ input, toolResults }) {
    const city = (input as { city: string }).city;
    const forecast = toolResults.find((r) => r.name === 'get_forecast');
    if (!forecast) return { toolCalls: [{ name: 'get_forecast', arguments: { city } }] };
    return { output: { city, summary: `It will be ${(forecast.result as { sky: string }).sky} in ${city}.` } };
  },
};
const sloppy: Responder = { agent: 'sloppy', respond: () => ({ output: { city: 'Lisbon' } }) };
const rogue: Responder = {
  agent: 'rogue',
  respond: () => ({ toolCalls: [{ name: 'delete_everything', arguments: {} }] }),
};

const schema = {
  type: 'object',
  properties: { city: { type: 'string' }, summary: { type: 'string' } },
  required: ['city', 'summary'],
  additionalProperties: false,
};
const tools: ChatCompletionCreateParamsNonStreaming['tools'] = [
  {
    type: 'function',
    function: {
      name: 'get_forecast',
      description: 'Forecast for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

function request(agent: string, messages: ChatCompletionMessageParam[] = []): ChatCompletionCreateParamsNonStreaming {
  return {
    model: 'gpt-test',
    messages: [
      { role: 'system', content: 'You forecast the weather.' },
      { role: 'user', content: fenceUntrusted('input', { city: 'Lisbon' }) },
      ...messages,
    ],
    tools,
    response_format: { type: 'json_schema', json_schema: { name: agent, schema, strict: true } },
  };
}

let model: OfflineModel;
let client: OpenAI;

beforeAll(async () => {
  model = await startOfflineModel({ latencyMs: 0, responders: [weather, rogue, sloppy] });
  client = new OpenAI({ baseURL: model.baseUrl, apiKey: 'offline', maxRetries: 0 });
});
afterAll(() => model.close());
afterEach(() => model.faults.clear());

describe('offline model', () => {
  it('asks for a tool, then answers from its result, through the real openai client', async () => {
    const first = await client.chat.completions.create(request('weather-agent'));
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(first.choices[0]?.message.content).toBeNull();
    expect(call?.id).toMatch(/^call_/);
    if (call?.type !== 'function') throw new Error('expected a function tool call');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Lisbon' });

    const second = await client.chat.completions.create(
      request('weather_agent', [
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ sky: 'sunny' }) },
      ]),
    );
    expect(second.choices[0]?.finish_reason).toBe('stop');
    expect(JSON.parse(second.choices[0]?.message.content ?? '')).toEqual({
      city: 'Lisbon',
      summary: 'It will be sunny in Lisbon.',
    });
  });

  it('answers the same request the same way', async () => {
    const a = await client.chat.completions.create(request('weather-agent'));
    const b = await client.chat.completions.create(request('weather-agent'));
    expect(a.choices[0]?.message).toEqual(b.choices[0]?.message);
  });

  it('reports OpenAI-shaped usage, ids and a request id header', async () => {
    const { data, response } = await client.chat.completions.create(request('weather-agent')).withResponse();
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('gpt-test');
    expect(data.usage?.prompt_tokens).toBeGreaterThan(20);
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(data.usage?.total_tokens).toBe((data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0));
    expect(data.usage?.prompt_tokens_details?.cached_tokens).toBe(0); // far below OpenAI's 1024-token minimum
    expect(data.usage?.completion_tokens_details?.reasoning_tokens).toBe(0);
  });

  it('reports a repeated long prefix as cached, in 128-token steps', async () => {
    const long = request('weather-agent');
    long.messages[0] = { role: 'system', content: 'Forecast carefully. '.repeat(400) };
    await client.chat.completions.create(long);
    const again = await client.chat.completions.create(long);
    const cached = again.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    expect(cached).toBeGreaterThanOrEqual(1024);
    expect(cached % 128).toBe(0);
    expect(cached).toBeLessThanOrEqual(again.usage?.prompt_tokens ?? 0);
  });

  it('lists the offline model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('offline');
  });

  it('turns a rate-limit fault into a 429 whose Retry-After the client sees', async () => {
    model.faults.inject({ kind: 'rate_limit', times: 1, retryAfterSeconds: 2 });
    const err = await client.chat.completions.create(request('weather-agent')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const rate = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rate.status).toBe(429);
    expect(rate.headers?.get('retry-after')).toBe('2');
    expect(rate.headers?.get('retry-after-ms')).toBe('2000');
    expect(rate.code).toBe('rate_limit_exceeded');
    // one use only: the next request goes through
    await expect(client.chat.completions.create(request('weather-agent'))).resolves.toBeDefined();
  });

  it('turns a server-error fault into a 500 for the named agent only', async () => {
    model.faults.inject({ agent: 'weather_agent', kind: 'server_error', times: 1 });
    const err = await client.chat.completions.create(request('weather-agent')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.APIError>).type).toBe('server_error');
  });

  it('never answers under a timeout fault, until the client gives up', async () => {
    model.faults.inject({ kind: 'timeout', times: 1 });
    const impatient = new OpenAI({ baseURL: model.baseUrl, apiKey: 'offline', maxRetries: 0, timeout: 200 });
    const err = await impatient.chat.completions.create(request('weather-agent')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });

  it('spoils the final answer, not the tool turn, with malformed JSON', async () => {
    model.faults.inject({ kind: 'malformed_json', times: 1 });
    const toolTurn = await client.chat.completions.create(request('weather-agent'));
    expect(toolTurn.choices[0]?.finish_reason).toBe('tool_calls');
    const spoiled = await client.chat.completions.create(
      request('weather-agent', [
        { role: 'assistant', content: null, tool_calls: toolTurn.choices[0]?.message.tool_calls ?? [] },
        {
          role: 'tool',
          tool_call_id: toolTurn.choices[0]?.message.tool_calls?.[0]?.id ?? '',
          content: '{"sky":"grey"}',
        },
      ]),
    );
    expect(() => JSON.parse(spoiled.choices[0]?.message.content ?? '')).toThrow();
  });

  it('drops a required field under a schema-violation fault', async () => {
    model.faults.inject({ kind: 'schema_violation', times: 1 });
    const first = await client.chat.completions.create(request('weather-agent'));
    const call = first.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== 'function') throw new Error('expected a function tool call');
    const answer = await client.chat.completions.create(
      request('weather-agent', [
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '{"sky":"grey"}' },
      ]),
    );
    expect(JSON.parse(answer.choices[0]?.message.content ?? '')).toEqual({ summary: 'It will be grey in Lisbon.' });
  });

  it('can be steered over HTTP by a test in another process', async () => {
    const origin = model.baseUrl.replace(/\/v1$/, '');
    const armed = await fetch(`${origin}/__offline/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'server_error', times: 2 }),
    });
    expect(armed.status).toBe(201);
    await expect(client.chat.completions.create(request('weather-agent'))).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    );
    await fetch(`${origin}/__offline/faults`, { method: 'DELETE' });
    await expect(client.chat.completions.create(request('weather-agent'))).resolves.toBeDefined();
  });

  it('refuses a malformed request with an OpenAI-shaped 400', async () => {
    const bad = { ...request('weather-agent'), temperature: 7 };
    const err = await client.chat.completions.create(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const api = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(api.type).toBe('invalid_request_error');
    expect(api.param).toBe('temperature');
  });

  it('refuses a request for an agent it does not know, naming it', async () => {
    const err = await client.chat.completions.create(request('nobody')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain('"nobody"');
  });

  it('fails loudly when a responder calls a tool the request does not offer', async () => {
    const err = await client.chat.completions.create(request('rogue')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as Error).message).toContain('delete_everything');
  });

  it('fails loudly when a responder answers outside the strict schema', async () => {
    const err = await client.chat.completions.create(request('sloppy')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as Error).message).toContain('summary');
  });

  it('stops hanging requests when it closes', async () => {
    const other = await startOfflineModel({ latencyMs: 60_000, responders: [weather] });
    const slow = new OpenAI({ baseURL: other.baseUrl, apiKey: 'offline', maxRetries: 0 });
    const pending = slow.chat.completions.create(request('weather-agent')).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    await other.close();
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });
});
