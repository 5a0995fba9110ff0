import { createHash } from 'node:crypto';
import { type ChatMessage, type ChatRequest, textOf } from './protocol.js';

/**
 * Token counts close enough to OpenAI's for cost and budget code to be exercised for real: about four characters
 * per token, a few tokens of framing per message, tool definitions and the response schema counted in the prompt.
 */
const CHARS_PER_TOKEN = 4;
const PER_MESSAGE = 4;
const REPLY_PRIMING = 3;
// OpenAI caches prompts of at least 1024 tokens, reporting hits in 128-token steps.
const CACHE_MIN = 1024;
const CACHE_STEP = 128;
const CACHE_MAX_ENTRIES = 50_000;

export const tokensOf = (text: string): number => Math.ceil(text.length / CHARS_PER_TOKEN);

function messageText(m: ChatMessage): string {
  const calls = m.role === 'assistant' ? JSON.stringify(m.tool_calls ?? []) : '';
  const id = m.role === 'tool' ? m.tool_call_id : '';
  return `${m.role}${id}${textOf(m.content)}${calls}`;
}

export interface PromptUsage {
  promptTokens: number;
  cachedTokens: number;
}

/**
 * Remembers prompt prefixes the way OpenAI's prompt cache does: the tools, the response schema and the messages in
 * order form a chain; a request whose chain starts like an earlier one gets that shared part reported as cached.
 */
export function createPromptCache() {
  const seen = new Set<string>();
  return {
    measure(req: ChatRequest): PromptUsage {
      const head = JSON.stringify(req.tools ?? []) + JSON.stringify(req.response_format ?? null);
      let hash = createHash('sha256').update(req.model).update(head).digest('hex');
      let tokens = tokensOf(head) + REPLY_PRIMING;
      const boundaries: { hash: string; tokens: number }[] = [];
      for (const m of req.messages) {
        const text = messageText(m);
        hash = createHash('sha256').update(hash).update(text).digest('hex');
        tokens += tokensOf(text) + PER_MESSAGE;
        boundaries.push({ hash, tokens });
      }
      let cachedTokens = 0;
      if (tokens >= CACHE_MIN) {
        for (const b of boundaries) {
          if (b.tokens >= CACHE_MIN && seen.has(b.hash)) cachedTokens = Math.floor(b.tokens / CACHE_STEP) * CACHE_STEP;
        }
      }
      if (seen.size > CACHE_MAX_ENTRIES) seen.clear();
      for (const b of boundaries) seen.add(b.hash);
      return { promptTokens: tokens, cachedTokens };
    },
  };
}
