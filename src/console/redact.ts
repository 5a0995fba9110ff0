import type { RunDetailView } from '../engine/types.js';

/** What the console shows instead of a value the configuration names (`console.redact`). */
const REDACTED = '•••• (redacted)';

/** The configured field names, as the matcher `redact` takes: case does not matter, so `apiKey` masks `APIKEY`. */
export function redactionKeys(names: readonly string[]): ReadonlySet<string> {
  return new Set(names.map((n) => n.toLowerCase()));
}

const MAX_DEPTH = 40;

/**
 * A copy of `value` with the value of every key in `keys` replaced by REDACTED, at any depth (in arrays too). A key
 * whose value is an object is masked whole: a `card` named in the list hides its number and its expiry alike.
 * Dates and other non-plain values are kept as they are; anything deeper than MAX_DEPTH is cut, not shown.
 */
function redact(value: unknown, keys: ReadonlySet<string>, depth = 0): unknown {
  if (keys.size === 0 || value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return '…';
  if (Array.isArray(value)) return value.map((v) => redact(v, keys, depth + 1));
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = keys.has(k.toLowerCase()) ? REDACTED : redact(v, keys, depth + 1);
  return out;
}

/** A tool's detail is text; when it is JSON, its fields are masked like the arguments'. */
function redactText(text: string, keys: ReadonlySet<string>): string {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return text;
  try {
    return JSON.stringify(redact(JSON.parse(text), keys));
  } catch {
    return text;
  }
}

/**
 * The run as the console shows it: the input, output, step results, tool arguments and details, and edits of a
 * field the configuration names, masked. Model calls carry no content, only counts.
 */
export function redactRunDetail(run: RunDetailView, keys: ReadonlySet<string>): RunDetailView {
  if (keys.size === 0) return run;
  return {
    ...run,
    input: redact(run.input, keys),
    output: redact(run.output, keys),
    results: redact(run.results, keys) as Record<string, unknown>,
    toolCalls: run.toolCalls.map((c) => ({
      ...c,
      arguments: redact(c.arguments, keys),
      ...(c.detail !== undefined ? { detail: redactText(c.detail, keys) } : {}),
    })),
    checkpoints: run.checkpoints.map((c) => {
      const diff = (d: { field: string; before: unknown; after: unknown }[]) =>
        d.map((e) =>
          keys.has(e.field.toLowerCase())
            ? { ...e, before: REDACTED, after: REDACTED }
            : { ...e, before: redact(e.before, keys), after: redact(e.after, keys) },
        );
      return {
        ...c,
        decision: c.decision
          ? {
              ...c.decision,
              diff: diff(c.decision.diff),
              edits: redact(c.decision.edits, keys) as Record<string, unknown>,
            }
          : null,
        approvals: c.approvals.map((a) => ({ ...a, diff: diff(a.diff) })),
      };
    }),
  };
}
