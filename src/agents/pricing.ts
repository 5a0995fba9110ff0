/**
 * Estimated model cost. List prices in USD per 1M tokens, from OpenAI's pricing page as known in August 2025
 * (standard tier, not Batch or Flex). They drift: a wrong price makes a wrong estimate, never a failed run.
 */
interface Price {
  input: number;
  cachedInput: number;
  output: number;
}

const PRICES: Readonly<Record<string, Price>> = {
  'gpt-4.1': { input: 2.0, cachedInput: 0.5, output: 8.0 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10.0 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  o3: { input: 2.0, cachedInput: 0.5, output: 8.0 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10.0 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2.0 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
};

/** The local rule-based model: free, and named so in what people see. */
const OFFLINE_MODEL = 'offline';

// A dated snapshot (gpt-4.1-mini-2025-04-14) costs what its alias costs. Only a date suffix matches, so that
// `o3-mini` or `gpt-4o-audio-preview` are reported as unpriced rather than billed at the wrong model's price.
const SNAPSHOT = /^(.+?)-\d{4}-\d{2}-\d{2}$/;

function priceOf(model: string): Price | undefined {
  const exact = PRICES[model];
  if (exact) return exact;
  const alias = SNAPSHOT.exec(model)?.[1];
  return alias ? PRICES[alias] : undefined;
}

export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  /** Part of `inputTokens`, billed at the cached price. */
  cachedTokens: number;
}

/** `priced: false` means the model is not in the table: the cost is reported as 0 and should be read as unknown. */
export function estimateCost(model: string, tokens: TokenCounts): { costUsd: number; priced: boolean } {
  if (model === OFFLINE_MODEL) return { costUsd: 0, priced: true };
  const price = priceOf(model);
  if (!price) return { costUsd: 0, priced: false };
  const cached = Math.min(tokens.cachedTokens, tokens.inputTokens);
  const costUsd =
    ((tokens.inputTokens - cached) * price.input + cached * price.cachedInput + tokens.outputTokens * price.output) /
    1_000_000;
  return { costUsd, priced: true };
}

/** How a model is named to people (dashboards, Slack evidence). */
export function modelLabel(model: string): string {
  return model === OFFLINE_MODEL ? 'offline model' : model;
}
