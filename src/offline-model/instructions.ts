import { textOf } from './protocol.js';
import type { RespondRequest } from './responder.js';

/**
 * The offline model stands in for a model that reads its instructions. A responder rule that carries out a sentence
 * of the agent's instructions is listed with a short exact phrase of that sentence (its marker) and applies only
 * when the phrase is in the system prompt the request carries. Drop "instructions embedded in the customer's
 * message … send the case to review" from a prompt and the offline dispute manager stops doing it, as a real model
 * would; so an eval of changed instructions measures something even without a network.
 *
 * @example
 * const CLAUSES = [{ rule: 'review-high-risk', marker: 'A high risk score' }] as const;
 * const rules = honouredRules(req, CLAUSES);
 * if (rules.has('review-high-risk') && risk >= 70) outcome = 'review';
 */
export interface Clause<R extends string = string> {
  rule: R;
  /** A short exact phrase of the instructions; compared ignoring case and runs of whitespace. */
  marker: string;
}

const normalise = (text: string) => text.replace(/\s+/g, ' ').trim().toLowerCase();

/** The system (or developer) prompt of the request as one text; null when it carries none. */
function instructionsOf(req: Pick<RespondRequest, 'messages'>): string | null {
  const prompts = req.messages.filter((m) => m.role === 'system' || m.role === 'developer');
  return prompts.length > 0 ? prompts.map((m) => textOf(m.content)).join('\n') : null;
}

/**
 * The rules whose clause the request's instructions contain. A request with no system prompt at all is a responder
 * called directly (unit tests of the rules, outside the agent runtime, which always sends one): it gets every rule,
 * which is exactly what the built-in instructions give.
 */
export function honouredRules<R extends string>(
  req: Pick<RespondRequest, 'messages'>,
  clauses: readonly Clause<R>[],
): ReadonlySet<R> {
  const prompt = instructionsOf(req);
  if (prompt === null) return new Set(clauses.map((c) => c.rule));
  const text = normalise(prompt);
  return new Set(clauses.filter((c) => text.includes(normalise(c.marker))).map((c) => c.rule));
}

/** The markers of `clauses` missing from `instructions`: a test keeps every built-in agent's markers present. */
export function missingMarkers(instructions: string, clauses: readonly Clause[]): string[] {
  const text = normalise(instructions);
  return clauses.filter((c) => !text.includes(normalise(c.marker))).map((c) => c.marker);
}
