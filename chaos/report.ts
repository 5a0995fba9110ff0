import type { DecisionRecord } from './decisions.js';
import type { InboundRecord, IntakeChannel } from './intake.js';
import type { InvariantResult } from './invariants.js';

/** One fault as injected: when it began and ended (ms from the start of the window) and when the app recovered. */
export interface FaultOutcome {
  kind: string;
  description: string;
  startedMs: number;
  endedMs?: number;
  /** From the end of the fault until /healthz answered 200 and a run made progress (or nothing was left to do). */
  recoveryMs?: number;
  detail?: string;
}

/** A moment of the run, for the chart: counts of dispute runs, and what was wrong then. */
export interface TimelineSample {
  ms: number;
  started: number;
  atCheckpoint: number;
  completed: number;
  healthy: boolean | null;
  faults: string[];
}

export interface ChaosReport {
  seed: number;
  sizes: { runs: number; durationS: number; workers: number; short: boolean };
  /** The app's timing settings and anything the driver set that users would not. */
  settings: Record<string, string>;
  notes: string[];
  startedAt: string;
  totalMs: number;
  faults: FaultOutcome[];
  channels: Record<
    IntakeChannel,
    { messages: number; accepted: number; retried: number; outcomes: Record<string, number> }
  >;
  decisions: {
    total: number;
    byChannel: Record<string, number>;
    approve: number;
    reject: number;
    fallbacks: number;
    retried: number;
  };
  invariants: InvariantResult[];
  ok: boolean;
  timeline: TimelineSample[];
  /** Every inbound message and every decision as sent, attempt by attempt (for --json readers). */
  messages: InboundRecord[];
  decisionRecords: DecisionRecord[];
  /** `kept`: false when the folder was removed because every invariant held (and --keep was not given). */
  logs: { dir: string; kept: boolean; files: string[]; unexpectedExits: string[] };
}

export function channelCounts(inbound: readonly InboundRecord[]): ChaosReport['channels'] {
  const out = {} as ChaosReport['channels'];
  for (const channel of ['webhook', 'email', 'slack'] as const) {
    const mine = inbound.filter((m) => m.channel === channel);
    const outcomes: Record<string, number> = {};
    for (const m of mine) for (const o of m.outcomes) outcomes[o] = (outcomes[o] ?? 0) + 1;
    out[channel] = {
      messages: mine.length,
      accepted: mine.filter((m) => m.acceptedAt !== undefined).length,
      retried: mine.filter((m) => m.attempts > 1).length,
      outcomes,
    };
  }
  return out;
}

export function decisionCounts(decisions: readonly DecisionRecord[]): ChaosReport['decisions'] {
  const byChannel: Record<string, number> = {};
  for (const d of decisions) byChannel[d.channel] = (byChannel[d.channel] ?? 0) + 1;
  return {
    total: decisions.length,
    byChannel,
    approve: decisions.filter((d) => d.decision === 'approve').length,
    reject: decisions.filter((d) => d.decision === 'reject').length,
    fallbacks: decisions.filter((d) => d.fallback).length,
    retried: decisions.filter((d) => d.attempts > 1).length,
  };
}

const s = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

/** The report as people read it in a terminal: verdict first, then faults, channels, invariants, chart, logs. */
export function formatReport(r: ChaosReport): string {
  const lines: string[] = [];
  lines.push('');
  lines.push(
    `chaos ${r.ok ? 'PASSED' : 'FAILED'}  seed ${r.seed}  (replay: npm run chaos -- --seed ${r.seed}${r.sizes.short ? ' --short' : ''})`,
  );
  lines.push(
    `  ${r.sizes.runs} runs, ${r.sizes.durationS} s of faults, ${r.sizes.workers} workers, ${s(r.totalMs)} in all, started ${r.startedAt}`,
  );
  lines.push(
    `  settings: ${Object.entries(r.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  for (const n of r.notes) lines.push(`  note: ${n}`);

  lines.push('', 'invariants');
  for (const inv of r.invariants) {
    lines.push(`  ${inv.ok ? '✓' : '✗'} ${inv.title}${inv.ok ? '' : `  (${inv.runIds.length} runs)`}`);
    if (!inv.ok) {
      if (inv.runIds.length) lines.push(`      runs: ${inv.runIds.join(' ')}`);
      for (const d of inv.details.slice(0, 12)) lines.push(`      ${d}`);
      if (inv.details.length > 12) lines.push(`      … and ${inv.details.length - 12} more (see --json)`);
    }
    for (const w of inv.warnings ?? []) lines.push(`      ! ${w}`);
  }

  lines.push('', 'intake                 messages  accepted  retried  answers');
  for (const [channel, c] of Object.entries(r.channels)) {
    const answers = Object.entries(c.outcomes)
      .map(([k, v]) => `${k}×${v}`)
      .join(' ');
    lines.push(
      `  ${channel.padEnd(20)} ${String(c.messages).padStart(8)}  ${String(c.accepted).padStart(8)}  ${String(c.retried).padStart(7)}  ${answers}`,
    );
  }
  const d = r.decisions;
  lines.push(
    `decisions: ${d.total} (${Object.entries(d.byChannel)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}), ${d.approve} approve / ${d.reject} reject, ${d.retried} retried, ${d.fallbacks} not told in time (card or mail missing after 90 s)`,
  );

  lines.push('', `faults (${r.faults.length})                                                   recovered after`);
  for (const f of r.faults) {
    lines.push(`  ${f.description.padEnd(70)} ${s(f.recoveryMs).padStart(8)}${f.detail ? `  ${f.detail}` : ''}`);
  }
  const recoveries = r.faults.flatMap((f) => (f.recoveryMs === undefined ? [] : [f.recoveryMs]));
  if (recoveries.length) {
    lines.push(
      `  slowest recovery ${s(Math.max(...recoveries))}, never recovered: ${r.faults.filter((f) => f.recoveryMs === undefined).length}`,
    );
  }

  lines.push('', ...chart(r.timeline, r.faults));
  lines.push(
    '',
    r.logs.kept
      ? `logs in ${r.logs.dir}: ${r.logs.files.map((f) => f.split('/').pop()).join(', ')}`
      : `logs removed with ${r.logs.dir} (every invariant held; --keep keeps them)`,
  );
  for (const e of r.logs.unexpectedExits) lines.push(`  unexpected exit: ${e}`);
  lines.push('');
  return lines.join('\n');
}

const HEIGHT = 10;
const WIDTH = 72;
const MARK: Record<string, string> = {
  'kill-worker': 'k',
  'stop-store': 'S',
  'restart-redis': 'R',
  'proxy-faults': 'p',
  'cut-connections': 'c',
};

/** Dispute runs over time: ▓ completed, ░ waiting at (or past) the checkpoint, · started; faults marked below. */
function chart(timeline: readonly TimelineSample[], faults: readonly FaultOutcome[]): string[] {
  if (timeline.length < 2) return ['(too short for a chart)'];
  const endMs = timeline.at(-1)?.ms ?? 1;
  const top = Math.max(1, ...timeline.map((t) => t.started));
  const columns = Array.from({ length: WIDTH }, (_, i) => {
    const from = (i / WIDTH) * endMs;
    const to = ((i + 1) / WIDTH) * endMs;
    const inside = timeline.filter((t) => t.ms >= from && t.ms < to);
    const last = [...timeline].reverse().find((t) => t.ms < to) ?? timeline[0]!;
    // From the faults themselves: a Redis restart or a cut is over before the next sample is taken.
    const kinds = new Set(faults.filter((f) => f.startedMs < to && (f.endedMs ?? endMs) >= from).map((f) => f.kind));
    const unhealthy = inside.some((t) => t.healthy === false);
    return { last, faults: kinds, unhealthy };
  });
  const level = (n: number) => Math.round((n / top) * HEIGHT);
  const rows: string[] = [];
  for (let h = HEIGHT; h >= 1; h--) {
    const label = h === HEIGHT ? String(top).padStart(4) : h === 1 ? '   0' : '    ';
    const cells = columns.map(({ last }) =>
      level(last.completed) >= h ? '▓' : level(last.atCheckpoint) >= h ? '░' : level(last.started) >= h ? '·' : ' ',
    );
    rows.push(`${label} │${cells.join('')}`);
  }
  rows.push(`     └${'─'.repeat(WIDTH)}`);
  const faultRow = columns.map(({ faults }) => {
    for (const k of ['stop-store', 'restart-redis', 'proxy-faults', 'cut-connections', 'kill-worker']) {
      if (faults.has(k)) return MARK[k];
    }
    return ' ';
  });
  rows.push(`fault  ${faultRow.join('')}`);
  rows.push(`503    ${columns.map((c) => (c.unhealthy ? '!' : ' ')).join('')}`);
  rows.push(`       0 s${' '.repeat(Math.max(0, WIDTH - 12))}${(endMs / 1000).toFixed(0)} s`);
  rows.push(
    '       ▓ completed  ░ at or past the checkpoint  · started   S store down  R redis restart  p proxy faults  c cut  k worker killed  ! /healthz 503',
  );
  return rows;
}
