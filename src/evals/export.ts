import { createHash } from 'node:crypto';
import type { EngineStore } from '../engine/store-port.js';
import type { CheckpointDoc, RunDoc, StepDoc, Store } from '../store/models.js';
import type { EvalCase } from './types.js';

/** Read in pages of this many checkpoints: an export of a year of decisions stays within memory. */
const PAGE = 500;

export interface ExportOptions {
  workflow: string;
  since?: Date;
  /** Replace personal data (emails, names, phone and card numbers) with stable stand-ins. */
  mask?: boolean;
}

/**
 * Decided checkpoints as eval cases: the run's input and its agents' findings as they saw them, the AI's proposal,
 * and the person's decision and edited values as the expected result. A run with several approval stages becomes
 * one case: the first stage holds the AI's proposal, the last the final values; any reject makes it a reject.
 * Decisions taken by the policy or a timeout are not exported: nobody compared them with the proposal.
 */
export async function exportCases(
  store: Pick<Store, 'checkpoints' | 'runs'>,
  journals: Pick<EngineStore, 'loadJournals'>,
  options: ExportOptions,
): Promise<EvalCase[]> {
  const decided: CheckpointDoc[] = [];
  for (const status of ['approved', 'rejected'] as const) {
    let cursor: { at: Date; id: string } | null = null;
    for (;;) {
      // Served by the { status, decision.decidedAt } index. Paged by (decidedAt, _id): a page of checkpoints that
      // share one decision time (a timeout sweep) moves on by id instead of reading the same page again.
      const after: Record<string, unknown> = cursor
        ? {
            $or: [
              { 'decision.decidedAt': { $gt: cursor.at } },
              { 'decision.decidedAt': cursor.at, _id: { $gt: cursor.id } },
            ],
          }
        : { 'decision.decidedAt': { $gte: options.since ?? new Date(0) } };
      const page = await store.checkpoints
        .find({
          status,
          workflow: options.workflow,
          'decision.channel': { $nin: ['policy', 'timeout'] },
          ...after,
        })
        .sort({ 'decision.decidedAt': 1, _id: 1 })
        .limit(PAGE)
        .lean<CheckpointDoc[]>();
      decided.push(...page.filter((c) => c.decision));
      const last = page.at(-1);
      if (page.length < PAGE || !last?.decision) break;
      cursor = { at: last.decision.decidedAt, id: last._id };
    }
  }
  const byRun = new Map<string, CheckpointDoc[]>();
  for (const c of decided) byRun.set(c.runId, [...(byRun.get(c.runId) ?? []), c]);
  const runIds = [...byRun.keys()];
  const cases: EvalCase[] = [];
  for (let i = 0; i < runIds.length; i += PAGE) {
    const ids = runIds.slice(i, i + PAGE);
    const runs = await store.runs.find({ _id: { $in: ids } }).lean<RunDoc[]>();
    // The journal holds each agent step's result and version as the run recorded them.
    const byJournal = await journals.loadJournals(ids);
    for (const run of runs) {
      const stages = (byRun.get(run._id) ?? []).sort(
        (a, b) => (a.decision?.decidedAt.getTime() ?? 0) - (b.decision?.decidedAt.getTime() ?? 0),
      );
      const steps = [...(byJournal.get(run._id)?.steps.values() ?? [])].filter((s) => s.kind === 'agent');
      const made = caseOf(run, stages, steps);
      if (made) cases.push(options.mask ? maskCase(made) : made);
    }
  }
  return cases.sort((a, b) => (a.recorded?.decidedAt ?? '').localeCompare(b.recorded?.decidedAt ?? ''));
}

function caseOf(run: RunDoc, stages: CheckpointDoc[], steps: StepDoc[]): EvalCase | null {
  const first = stages[0];
  const last = stages.at(-1);
  if (!first?.decision || !last?.decision) return null;
  const rejected = stages.some((s) => s.decision?.decision === 'reject');
  const field = first.agreement?.field ?? null;
  const finalValues = { ...last.values, ...last.decision.edits };
  const agents = new Set(first.agreement?.agents ?? []);
  const evidence: Record<string, unknown> = {};
  const versions: Record<string, string> = {};
  for (const s of steps) {
    if (s.status !== 'completed') continue;
    evidence[s.stepId] = s.result;
    if (s.agentVersion && (agents.size === 0 || agents.has(s.name))) versions[s.name] = s.agentVersion;
  }
  const decidedBy = stages.map((s) => s.decision?.actor ?? '').join(', then ');
  return {
    id: `${run._id}/${first.name}`,
    workflow: run.workflow,
    source: 'export',
    tags: ['exported', ...(rejected ? ['rejected'] : []), ...(last.decision.diff.length > 0 ? ['edited'] : [])],
    note: `decided by ${decidedBy} on ${last.decision.channel}, ${last.decision.decidedAt.toISOString().slice(0, 10)}`,
    input: run.input,
    expected: {
      decision: rejected ? 'reject' : 'approve',
      outcome: rejected ? null : field === null ? null : stringOrNull(finalValues[field]),
      values: rejected ? {} : finalValues,
    },
    recorded: {
      runId: run._id,
      checkpointId: first._id,
      proposal: { ...first.proposal, values: first.originalValues, proposed: first.agreement?.proposed ?? null },
      evidence,
      versions,
      decidedBy,
      channel: last.decision.channel,
      decidedAt: last.decision.decidedAt.toISOString(),
    },
  };
}

const stringOrNull = (x: unknown): string | null => (x === undefined || x === null ? null : String(x));

const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
// Card numbers: 13–19 digits, spaced or not, that pass the Luhn check (order numbers and amounts rarely do).
const CARD = /(?<![\w.])\d(?:[ -]?\d){12,18}(?![\w.])/g;
// Phone numbers in international form (+44 20 7946 0958) or with an area code in brackets; never dates or decimals.
const PHONE = /\+\d[\d ()-]{7,}\d|\(\d{2,5}\) ?\d{3,4}[ -]?\d{3,4}/g;
// Keys that hold a person's name; `merchantName`, `productName` and the like are not personal.
const PERSON_NAME_KEY = /^(customerName|name|fullName|firstName|lastName|displayName|contactName|requesterName)$/;

const tag = (value: string, size: number) => createHash('sha256').update(value).digest('hex').slice(0, size);

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Personal data replaced by stable stand-ins: the same address becomes the same stand-in everywhere in the case (the
 * reply that greets the customer by name is masked like the input that names them), so the case still reads true.
 * Names are replaced as whole words only ("Ada" never inside "Canada"). A masked case no longer matches the business
 * data the agents' tools read: use it to share and read, not replay.
 */
export function maskCase(c: EvalCase): EvalCase {
  const replacements = new Map<string, string>();
  const collect = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      for (const m of value.match(EMAIL) ?? [])
        replacements.set(m, `person-${tag(m.toLowerCase(), 8)}@example.invalid`);
      if (PERSON_NAME_KEY.test(key) && value.trim().length > 1 && !value.includes('@'))
        replacements.set(value.trim(), `Person ${tag(value.trim(), 6)}`);
    } else if (Array.isArray(value)) {
      for (const v of value) collect(v, key);
    } else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) collect(v, k);
  };
  collect(c, '');
  // Longest first, so a full name is replaced before a part of it could be; whole words only.
  const ordered = [...replacements]
    .sort(([a], [b]) => b.length - a.length)
    .map(([from, to]) => [new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(from)}(?![\\p{L}\\p{N}])`, 'gu'), to] as const);
  const mask = (value: unknown): unknown => {
    if (typeof value === 'string') {
      let s = value;
      for (const [from, to] of ordered) s = s.replace(from, to);
      return s
        .replace(CARD, (m) => (luhn(m.replace(/\D/g, '')) ? '[card number]' : m))
        .replace(PHONE, (m) => (m.replace(/\D/g, '').length >= 9 ? '[phone]' : m));
    }
    if (Array.isArray(value)) return value.map(mask);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, mask(v)]));
    return value;
  };
  return { ...(mask(c) as EvalCase), id: c.id, workflow: c.workflow, tags: [...c.tags, 'masked'] };
}
