import type { z } from 'zod';
import type { Reply, RespondRequest } from './responder.js';

/** One tool call a responder makes, as the model would write it. */
export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

/**
 * Asks for the tools in `calls` that were not called yet and that the request offers; null means every tool has
 * answered (or cannot be called), so the responder should answer now. Asking only for missing tools is what makes
 * a rules-based responder behave like a careful model across turns: tools first, then an answer from their results.
 *
 * @example
 * const pending = askForTools(req, [{ name: 'get_charge', arguments: { chargeId } }]);
 * if (pending) return pending;
 */
export function askForTools(req: RespondRequest, calls: ToolCall[]): Reply | null {
  const called = new Set(req.toolResults.map((r) => r.name));
  const wanted = calls.filter((c) => !called.has(c.name) && req.availableTools.includes(c.name));
  return wanted.length > 0 ? { toolCalls: wanted } : null;
}

/** A module's tool result schemas by tool name: what each of its tools returns. */
export type ToolResultSchemas = Record<string, z.ZodType>;

/**
 * Reads a module's tool results back, checked against its result schemas. The reader returns the latest result of
 * the named tool: `undefined` if the tool was not called yet, `null` if what it returned does not parse (a tool
 * error string, say), so rules can tell "not asked" from "asked and failed".
 *
 * @example
 * const resultOf = toolResultReader(toolResultSchemas);
 * const charge = resultOf(req, 'get_charge')?.charge ?? null;
 */
export function toolResultReader<S extends ToolResultSchemas>(schemas: S) {
  return <N extends keyof S & string>(req: RespondRequest, name: N): z.infer<S[N]> | null | undefined => {
    const hit = req.toolResults.findLast((r) => r.name === name);
    if (!hit) return undefined;
    const parsed = (schemas[name] as S[N]).safeParse(hit.result);
    return parsed.success ? (parsed.data as z.infer<S[N]>) : null;
  };
}
