import type { CalibrationBin, CaseResult, EvalSummary } from './types.js';

/** Confidence bands of the reliability table; the last includes 1. */
const CALIBRATION_EDGES = [0, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

const rate = (k: number, n: number): number | null => (n === 0 ? null : k / n);

/** Nearest-rank percentile of already sorted numbers (0 when there are none). */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

function calibration(cases: readonly CaseResult[]): { bins: CalibrationBin[]; error: number | null } {
  const judged = cases.filter((c) => c.capture?.confidence != null && c.agreed !== null);
  const bins: CalibrationBin[] = [];
  let weighted = 0;
  for (let i = 0; i < CALIBRATION_EDGES.length - 1; i++) {
    const from = CALIBRATION_EDGES[i] ?? 0;
    const to = CALIBRATION_EDGES[i + 1] ?? 1;
    const last = i === CALIBRATION_EDGES.length - 2;
    const inBin = judged.filter((c) => {
      const x = c.capture?.confidence ?? 0;
      return x >= from && (last ? x <= to : x < to);
    });
    const meanConfidence = inBin.length === 0 ? null : mean(inBin.map((c) => c.capture?.confidence ?? 0));
    const agreementRate = rate(inBin.filter((c) => c.agreed).length, inBin.length);
    if (meanConfidence !== null && agreementRate !== null)
      weighted += inBin.length * Math.abs(meanConfidence - agreementRate);
    bins.push({
      band: `${from.toFixed(1)}–${to.toFixed(1)}`,
      from,
      to,
      cases: inBin.length,
      meanConfidence,
      agreementRate,
    });
  }
  return { bins, error: judged.length === 0 ? null : weighted / judged.length };
}

/** Everything the table, the report, the gate and the boundary read, from the cases alone. */
export function summarize(cases: readonly CaseResult[], scorerNames: readonly string[]): EvalSummary {
  const compared = cases.filter((c) => c.agreed !== null);
  const agreed = compared.filter((c) => c.agreed).length;

  const outcomes = [...new Set(cases.map((c) => c.expected.outcome ?? '(rejected)'))].sort();
  const byOutcome = outcomes.map((outcome) => {
    const mine = compared.filter((c) => (c.expected.outcome ?? '(rejected)') === outcome);
    const ok = mine.filter((c) => c.agreed).length;
    return { outcome, cases: mine.length, agreed: ok, rate: rate(ok, mine.length) };
  });

  const fieldNames = [...new Set(cases.flatMap((c) => Object.keys(c.fields)))].sort();
  const fields = fieldNames.map((field) => {
    const withField = cases.filter((c) => field in c.fields);
    const kept = withField.filter((c) => c.fields[field]).length;
    return { field, compared: withField.length, agreed: kept, rate: rate(kept, withField.length) };
  });

  const judged = cases.flatMap((c) => c.scores.filter((s) => s.scorer === 'reply-quality' && s.pass !== null));
  const guardrailCases = cases.filter((c) => c.guardrail);
  const failedGuardrails = guardrailCases
    .filter((c) => c.error !== null || c.scores.some((s) => s.scorer === 'guardrail' && s.pass === false))
    .map((c) => c.id);

  const { bins, error } = calibration(cases);
  const costs = cases.map((c) => c.usage.costUsd).sort((a, b) => a - b);
  const latencies = cases.map((c) => c.latencyMs).sort((a, b) => a - b);
  const totalUsd = costs.reduce((a, b) => a + b, 0);
  const modelMs = mean(cases.map((c) => c.modelLatencyMs));

  return {
    cases: cases.length,
    errors: cases.filter((c) => c.error !== null).length,
    agreement: { compared: compared.length, agreed, rate: rate(agreed, compared.length) },
    byOutcome,
    fields,
    replyQuality: {
      judged: judged.length,
      passed: judged.filter((s) => s.pass).length,
      meanScore: judged.length === 0 ? null : mean(judged.map((s) => (s.score ?? 0) * 5)),
    },
    guardrails: { cases: guardrailCases.length, failed: failedGuardrails },
    calibration: bins,
    calibrationError: error,
    cost: {
      totalUsd,
      perCaseUsd: cases.length === 0 ? 0 : totalUsd / cases.length,
      p50Usd: percentile(costs, 50),
      p90Usd: percentile(costs, 90),
    },
    latency: {
      p50Ms: percentile(latencies, 50),
      p90Ms: percentile(latencies, 90),
      meanMs: mean(latencies),
      meanModelMs: modelMs,
    },
    tokens: {
      input: cases.reduce((s, c) => s + c.usage.inputTokens, 0),
      output: cases.reduce((s, c) => s + c.usage.outputTokens, 0),
      cached: cases.reduce((s, c) => s + c.usage.cachedTokens, 0),
    },
    scorers: scorerNames.map((scorer) => {
      const applied = cases.flatMap((c) => c.scores.filter((s) => s.scorer === scorer && s.pass !== null));
      return { scorer, applied: applied.length, passed: applied.filter((s) => s.pass).length };
    }),
  };
}
