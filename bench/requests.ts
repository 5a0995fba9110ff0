import type { StoreRequest, StoreRequestLog } from '../src/store/request-log.js';
import { fmt } from './stats.js';

/** A stretch of the app's store requests, between two positions of the log. */
export interface RequestSpan {
  total: number;
  /** `collection.command` → count, largest first. */
  byKey: [string, number][];
}

/** Where the log stands now; spans are taken between marks, so the log is never reset under a running phase. */
export const mark = (log: StoreRequestLog): number => log.count();

export function span(log: StoreRequestLog, from: number, to = log.count()): RequestSpan {
  const seen: readonly StoreRequest[] = log.requests().slice(from, to);
  const counts = new Map<string, number>();
  for (const r of seen) {
    const key = `${r.collection}.${r.command}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { total: seen.length, byKey: [...counts].sort((a, b) => b[1] - a[1]) };
}

/** Adds spans (rounds of one phase). */
export function sum(spans: readonly RequestSpan[]): RequestSpan {
  const counts = new Map<string, number>();
  for (const s of spans) for (const [k, n] of s.byKey) counts.set(k, (counts.get(k) ?? 0) + n);
  return { total: spans.reduce((a, s) => a + s.total, 0), byKey: [...counts].sort((a, b) => b[1] - a[1]) };
}

/** `steps.find 4.2, runs.update 3.0, …` per `per` (runs), the largest `top` entries. */
export function breakdown(s: RequestSpan, per: number, top = 8): string {
  const shown = s.byKey.slice(0, top).map(([k, n]) => `${k} ${fmt(n / per)}`);
  const rest = s.byKey.slice(top).reduce((a, [, n]) => a + n, 0);
  return rest > 0 ? `${shown.join(', ')}, other ${fmt(rest / per)}` : shown.join(', ');
}

/** The figures the report sets against issue 9's budgets. */
export interface BudgetLine {
  label: string;
  value: number;
  budget: number;
}

/**
 * Requests per run against their budget as text bars: the bar is the figure, `┃` marks the budget, so a phase over
 * budget shows how far over at a glance.
 */
export function budgetBars(lines: readonly BudgetLine[], width = 50): string {
  const finite = lines.filter((l) => Number.isFinite(l.value));
  const scaleMax = Math.max(1, ...finite.map((l) => Math.max(l.value, l.budget)));
  const pad = Math.max(...lines.map((l) => l.label.length));
  const out = lines.map((l) => {
    const cols = Number.isFinite(l.value) ? Math.round((l.value / scaleMax) * width) : 0;
    const at = Math.round((l.budget / scaleMax) * width);
    const cells = Array.from({ length: Math.max(cols, at + 1) }, (_, i) => (i === at ? '┃' : i < cols ? '█' : ' '));
    const verdict = !Number.isFinite(l.value)
      ? 'n/a'
      : l.value <= l.budget
        ? 'within'
        : `${fmt(l.value / l.budget)}× over`;
    return `${l.label.padEnd(pad)} │${cells.join('').padEnd(width + 1)} ${fmt(l.value)} (budget ≤ ${l.budget}, ${verdict})`;
  });
  return `Store requests per run vs budget (┃ = budget)\n${out.join('\n')}\n`;
}

/**
 * Requests on collections the store's models do not own (a module's own data, such as the dispute tools'
 * `sample_*` reads): the workflow's work, which no engine change removes.
 */
export function outside(s: RequestSpan, owned: ReadonlySet<string>): number {
  return s.byKey.reduce((a, [key, n]) => (owned.has(key.slice(0, key.lastIndexOf('.'))) ? a : a + n), 0);
}
