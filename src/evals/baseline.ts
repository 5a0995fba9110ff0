import { z } from 'zod';
import { percent } from './format.js';
import { statedOutcome } from './scorers.js';
import type { CaseChange, EvalRun, GateResult, ProposalCapture } from './types.js';

/** What the gate reads of an earlier run: a `--json` file or a stored run. Other fields are ignored. */
const baselineSchema = z.looseObject({
  id: z.string().nullable().optional(),
  workflow: z.string(),
  cases: z.array(
    z.looseObject({
      id: z.string(),
      agreed: z.boolean().nullable(),
      error: z.string().nullable().optional(),
      capture: z.looseObject({ outcome: z.string().nullable(), proposed: z.unknown() }).nullable().optional(),
    }),
  ),
});

export interface Baseline {
  /** A file path, or `stored run <id>`. */
  source: string;
  id: string | null;
  workflow: string;
  cases: { id: string; agreed: boolean | null; outcome: string | null; error: string | null }[];
}

function fromParsed(parsed: z.infer<typeof baselineSchema>, source: string): Baseline {
  return {
    source,
    id: parsed.id ?? null,
    workflow: parsed.workflow,
    cases: parsed.cases.map((c) => ({
      id: c.id,
      agreed: c.agreed,
      error: c.error ?? null,
      outcome: c.capture
        ? statedOutcome({ outcome: c.capture.outcome, proposed: c.capture.proposed } as ProposalCapture)
        : null,
    })),
  };
}

/** A baseline file written by `--json`; problems name the file and what is wrong. */
export function parseBaseline(
  text: string,
  source: string,
): { ok: true; baseline: Baseline } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `${source} is not JSON (${(err as Error).message})` };
  }
  const parsed = baselineSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      problem: `${source} is not an eval result written by --json (${issue ? `${issue.path.join('.') || '(file)'}: ${issue.message}` : 'unreadable'})`,
    };
  }
  return { ok: true, baseline: fromParsed(parsed.data, source) };
}

export function baselineFromRun(run: EvalRun): Baseline {
  return fromParsed(baselineSchema.parse(run), `stored run ${run.id}`);
}

/**
 * A baseline to commit beside a module's cases: only what the gate reads, one case per line, so a change of
 * agreement shows in review as the lines of the cases that changed. `--baseline` reads it like a `--json` file.
 */
export function baselineFile(run: EvalRun): string {
  const head = {
    id: run.id,
    workflow: run.workflow,
    model: run.model,
    promptVersion: run.promptVersion,
    agentVersions: run.agentVersions,
    dataset: run.dataset,
    agreement: run.summary.agreement,
  };
  const cases = run.cases.map((c) =>
    JSON.stringify({
      id: c.id,
      agreed: c.agreed,
      error: c.error,
      capture: c.capture ? { outcome: c.capture.outcome, proposed: c.capture.proposed } : null,
    }),
  );
  const top = JSON.stringify(head, null, 2).slice(0, -2);
  return `${top},\n  "cases": [\n    ${cases.join(',\n    ')}\n  ]\n}\n`;
}

/** Agreement on the cases the run shares with its baseline (what the gate compared), else over all its cases. */
export function sharedAgreement(result: GateResult, overall: number | null): number | null {
  return result.baseline.agreement !== null && result.delta !== null
    ? result.baseline.agreement + result.delta
    : overall;
}

const rateOf = (cases: readonly { agreed: boolean | null }[]): number | null => {
  const compared = cases.filter((c) => c.agreed !== null);
  return compared.length === 0 ? null : compared.filter((c) => c.agreed).length / compared.length;
};

const verdict = (c: { agreed: boolean | null; outcome: string | null; error: string | null }) =>
  c.error !== null
    ? 'error'
    : `${c.outcome ?? 'nothing'} (${c.agreed === null ? 'not compared' : c.agreed ? 'agreed' : 'disagreed'})`;

/**
 * The regression gate. Fails when any guardrail case failed (whatever the baseline says), and, with a baseline,
 * when agreement on the cases both runs share dropped by more than `maxRegression` (0.02 = two points). Lists every
 * shared case whose outcome or agreement changed, with the scorer's reason.
 */
export function gate(run: EvalRun, baseline: Baseline | null, maxRegression: number): GateResult {
  const failures: string[] = [];
  for (const id of run.summary.guardrails.failed) {
    const c = run.cases.find((x) => x.id === id);
    const why = c?.error ?? c?.scores.find((s) => s.scorer === 'guardrail')?.detail ?? 'failed';
    failures.push(`guardrail case ${id} failed: ${why}`);
  }
  const { cases, errors } = run.summary;
  if (cases > 0 && errors === cases) {
    const first = run.cases.find((c) => c.error !== null)?.error ?? '';
    failures.push(`every case errored (the first: ${first})`);
  }
  if (!baseline) {
    return {
      baseline: { source: 'none', id: null, agreement: null, cases: 0 },
      maxRegression,
      delta: null,
      passed: failures.length === 0,
      failures,
      changes: [],
    };
  }
  if (baseline.workflow !== run.workflow)
    failures.push(`the baseline is for workflow ${baseline.workflow}, not ${run.workflow}`);
  const before = new Map(baseline.cases.map((c) => [c.id, c]));
  const shared = run.cases.filter((c) => before.has(c.id));
  const now = shared.map((c) => ({
    id: c.id,
    agreed: c.agreed,
    error: c.error,
    outcome: c.capture ? statedOutcome(c.capture) : null,
  }));
  const then = shared.map((c) => before.get(c.id)).filter((c) => c !== undefined);
  const rateNow = rateOf(now);
  const rateThen = rateOf(then);
  const delta = rateNow !== null && rateThen !== null ? rateNow - rateThen : null;
  if (shared.length === 0) failures.push(`the baseline (${baseline.source}) shares no case with this dataset`);
  else if (delta !== null && delta < -maxRegression - 1e-9)
    failures.push(
      `agreement fell from ${percent(rateThen)} to ${percent(rateNow)} on ${shared.length} shared cases (${(delta * 100).toFixed(1)} points; at most ${(maxRegression * 100).toFixed(1)} allowed)`,
    );

  const changes: CaseChange[] = [];
  for (const c of now) {
    const b = before.get(c.id);
    if (!b || (b.agreed === c.agreed && b.outcome === c.outcome && (b.error === null) === (c.error === null))) continue;
    const result = run.cases.find((x) => x.id === c.id);
    const why = result?.error ?? result?.scores.find((s) => s.scorer === 'outcome')?.detail ?? '';
    changes.push({ id: c.id, before: verdict(b), after: verdict(c), why });
  }
  return {
    baseline: { source: baseline.source, id: baseline.id, agreement: rateThen, cases: shared.length },
    maxRegression,
    delta,
    passed: failures.length === 0,
    failures,
    changes,
  };
}
