import { AUTONOMY_LEVELS, type Autonomy } from '../settings-schema.js';
import { percent, type Recommendation } from './recommend.js';
import {
  type AutonomyReport,
  type AutonomyServiceDeps,
  applyRecommendation,
  autonomyReport,
  type Failure,
  type GrantOutcome,
  type GrantView,
  revokeSliceGrant,
  setSliceLevel,
  type WorkflowBoundaryReport,
} from './service.js';
import { parseSlicePattern } from './slices.js';

const AUTONOMY_USAGE = `usage: countersign autonomy [--json] [--workflow W]
       countersign autonomy apply <recommendation-id> --by <who> [--reason <text>] [--json]
       countersign autonomy set <workflow> --slice outcome=…,confidence=…,amount=… --level <level> --by <who> [--reason <text>] [--json]
       countersign autonomy revert <grant-id> --by <who> [--json]`;

export interface AutonomyCommandIo {
  out(text: string): void;
  err(text: string): void;
}

/** Builds what the command needs (the app); a number is an exit code (bad configuration, already reported). */
export type OpenBoundary = () => Promise<{ deps: AutonomyServiceDeps; close(): Promise<void> } | number>;

class UsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Map<string, string>;
  json: boolean;
}

/** `--flag value` or `--flag=value`; `--json` takes none. Unknown flags are refused. */
function parseArgs(args: readonly string[], allowed: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--json') {
      json = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!allowed.includes(name))
      throw new UsageError(
        `unknown option --${name} (this command takes ${allowed.map((a) => `--${a}`).join(', ')}, --json)`,
      );
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value.trim() === '' || (eq < 0 && value.startsWith('--')))
      throw new UsageError(`--${name} needs a value`);
    if (flags.has(name)) throw new UsageError(`--${name} is given twice`);
    flags.set(name, value.trim());
  }
  return { positional, flags, json };
}

function exactly(p: Parsed, count: number, what: string): string[] {
  if (p.positional.length !== count)
    throw new UsageError(
      p.positional.length < count ? `${what} is required` : `unexpected argument "${p.positional[count]}"`,
    );
  return p.positional;
}

function required(p: Parsed, flag: string, what: string): string {
  const value = p.flags.get(flag);
  if (value === undefined) throw new UsageError(`--${flag} <${what}> is required`);
  return value;
}

const interval = (r: Recommendation) => `[${percent(r.interval.lower)}, ${percent(r.interval.upper)}]`;

function recommendationLines(r: Recommendation): string[] {
  const action = r.action.toUpperCase().padEnd(5);
  const move = r.action === 'hold' ? `stays ${r.current}` : `${r.current} → ${r.target}`;
  const rate = r.rate === null ? '–' : percent(r.rate);
  const lines = [
    `    ${action} ${r.sliceKey}  ${move}`,
    `          n=${r.cases} (production ${r.sources.production}, eval ${r.sources.eval})  agreed ${r.agreed}  rate ${rate}  Wilson ${interval(r)}`,
    `          ${r.reason}`,
  ];
  if (r.action !== 'hold') lines.push(`          apply: countersign autonomy apply ${r.id} --by <you>`);
  if (r.note) lines.push(`          note: ${r.note}`);
  return lines;
}

const grantLine = (g: GrantView) =>
  `applied by ${g.appliedBy} at ${g.appliedAt}${g.reason ? ` (${g.reason})` : ''} [${g.id}]`;

function workflowLines(w: WorkflowBoundaryReport): string[] {
  const own = w.ownFrom === 'config' ? `${w.own} (workflows.${w.workflow}.autonomy)` : `${w.own} (default)`;
  const lines = [
    `${w.workflow}`,
    `  level in force: ${w.inForce}   workflow level: ${own}   AUTONOMY ceiling: ${w.ceiling}`,
  ];
  if (w.overrides.length === 0) lines.push('  slice overrides: none');
  else {
    lines.push('  slice overrides (most specific wins; a grant beats a file entry as specific):');
    for (const o of w.overrides) {
      const capped = o.inForce === o.level ? '' : ` (in force: ${o.inForce})`;
      const origin = o.grant ? `grant, ${grantLine(o.grant)}` : 'config file';
      lines.push(`    ${o.key} → ${o.level}${capped}   ${origin}`);
    }
  }
  if (w.revoked.length > 0) {
    lines.push('  revoked grants:');
    for (const g of w.revoked)
      lines.push(`    ${g.key} → ${g.level}  ${grantLine(g)}, revoked by ${g.revokedBy} at ${g.revokedAt}`);
  }
  const evalPart = w.evidence.eval
    ? `latest eval ${w.evidence.eval.runId} (${w.evidence.eval.cases} compared cases, ${w.evidence.eval.model}, ${w.evidence.eval.finishedAt})`
    : 'no eval run';
  lines.push(`  evidence: ${w.evidence.production} production decisions by people; ${evalPart}`);
  if (w.recommendations.length === 0) lines.push('  recommendations: none (no compared cases yet)');
  else {
    lines.push('  recommendations:');
    for (const r of w.recommendations) lines.push(...recommendationLines(r));
  }
  return lines;
}

function reportText(report: AutonomyReport): string {
  const { bar, lower } = report;
  const head = [
    `AUTONOMY (deployment ceiling): ${report.ceiling}`,
    `raise when the Wilson lower bound (${percent(bar.confidence)}) ≥ ${percent(bar.minAgreement)} over ≥ ${bar.minCases} cases; lower to shadow when live agreement's upper bound < ${percent(lower.below)} over ≥ ${lower.minCases} cases in ${lower.windowDays} days`,
    `bands: confidence ${report.bands.confidence.join(', ')}; amount ${report.bands.amount.join(', ')}`,
  ];
  return [...head, ...report.workflows.flatMap((w) => ['', ...workflowLines(w)])].join('\n');
}

/** Exit 2 for what the arguments name wrongly (bad values, unknown names); 1 when the state refuses (conflict). */
function failed(io: AutonomyCommandIo, f: Failure): number {
  io.err(`countersign autonomy: ${f.message}\n`);
  return f.status === 'conflict' ? 1 : 2;
}

function granted(io: AutonomyCommandIo, outcome: GrantOutcome, json: boolean): number {
  if (!outcome.ok) return failed(io, outcome);
  const g = outcome.grant;
  if (json) io.out(`${JSON.stringify({ grant: g, note: outcome.note }, null, 2)}\n`);
  else {
    io.out(
      `recorded grant ${g.id}: ${g.workflow} ${g.key} → ${g.level}, applied by ${g.appliedBy} at ${g.appliedAt}\n`,
    );
    if (g.evidence)
      io.out(
        `  evidence: ${g.evidence.cases} cases, ${g.evidence.agreed} agreed${g.evidence.lower === null ? '' : `, Wilson lower bound ${percent(g.evidence.lower)}`}\n`,
      );
    if (outcome.note) io.out(`  note: ${outcome.note}\n`);
    io.out(`  undo: countersign autonomy revert ${g.id} --by <you>\n`);
  }
  return 0;
}

const LEVELS: readonly string[] = AUTONOMY_LEVELS;

/** `countersign autonomy …`: prints the boundary and its recommendations, or records a person's change to it. */
export async function runAutonomyCommand(
  args: readonly string[],
  open: OpenBoundary,
  io: AutonomyCommandIo,
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'help' || sub === '--help' || sub === '-h') {
    io.out(`${AUTONOMY_USAGE}\n`);
    return 0;
  }
  let work: (deps: AutonomyServiceDeps) => Promise<number>;
  try {
    if (sub === 'apply') {
      const p = parseArgs(rest, ['by', 'reason']);
      const [id] = exactly(p, 1, 'a recommendation id');
      const by = required(p, 'by', 'who');
      const reason = p.flags.get('reason');
      work = async (deps) =>
        granted(io, await applyRecommendation(deps, { recommendation: id as string, actor: by, reason }), p.json);
    } else if (sub === 'set') {
      const p = parseArgs(rest, ['slice', 'level', 'by', 'reason']);
      const [workflow] = exactly(p, 1, 'a workflow');
      const by = required(p, 'by', 'who');
      const level = required(p, 'level', 'level');
      if (!LEVELS.includes(level)) throw new UsageError(`--level must be one of ${LEVELS.join(', ')}, got "${level}"`);
      const sliceText = required(p, 'slice', 'outcome=…,confidence=…,amount=…');
      work = async (deps) => {
        // Band names are those of the configured bands, known once the configuration is read.
        const pattern = parseSlicePattern(sliceText, deps.settings.autonomy);
        if (!pattern.ok)
          return failed(io, {
            ok: false,
            status: 'invalid',
            message: `--slice: ${pattern.problems.join('; ')}`,
            problems: [],
          });
        const s = pattern.pattern;
        return granted(
          io,
          await setSliceLevel(deps, {
            workflow: workflow as string,
            slice: { outcome: s.outcome, confidence: s.confidenceBand, amount: s.amountBand },
            level: level as Autonomy,
            actor: by,
            reason: p.flags.get('reason'),
          }),
          p.json,
        );
      };
    } else if (sub === 'revert') {
      const p = parseArgs(rest, ['by']);
      const [id] = exactly(p, 1, 'a grant id');
      const by = required(p, 'by', 'who');
      work = async (deps) => {
        const result = await revokeSliceGrant(deps, { grant: id as string, actor: by });
        if (!result.ok) return failed(io, result);
        const g = result.grant;
        if (p.json) io.out(`${JSON.stringify({ grant: g }, null, 2)}\n`);
        else
          io.out(`revoked grant ${g.id} (${g.workflow} ${g.key} → ${g.level}) by ${g.revokedBy} at ${g.revokedAt}\n`);
        return 0;
      };
    } else if (sub === undefined || sub.startsWith('--')) {
      const p = parseArgs(args, ['workflow']);
      exactly(p, 0, '');
      const workflow = p.flags.get('workflow');
      work = async (deps) => {
        const result = await autonomyReport(deps, workflow === undefined ? {} : { workflow });
        if (!result.ok) return failed(io, result);
        io.out(p.json ? `${JSON.stringify(result.report, null, 2)}\n` : `${reportText(result.report)}\n`);
        return 0;
      };
    } else {
      throw new UsageError(`unknown subcommand "${sub}" (apply, set, revert, or none to list)`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    // One line says what is wrong; `countersign autonomy help` prints the usage.
    io.err(`countersign autonomy: ${err.message}\n`);
    return 2;
  }
  const opened = await open();
  if (typeof opened === 'number') return opened;
  try {
    return await work(opened.deps);
  } finally {
    await opened.close();
  }
}
