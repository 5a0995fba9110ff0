import { canonicalJson, shortHash } from '../agents/version.js';
import { type EvalCase, type EvalCaseInput, evalCaseSchema } from './types.js';

/** Names the exact cases a run saw: the gate compares like with like, and a report says which data it measured. */
export function datasetHash(cases: readonly EvalCase[]): string {
  return shortHash(cases.map((c) => canonicalJson(c)).join('\n'));
}

export type ParsedDataset = { ok: true; cases: EvalCase[] } | { ok: false; problems: string[] };

/** At most this many problems are listed: a file of the wrong kind would otherwise print one per line. */
const MAX_PROBLEMS = 10;

/**
 * A JSONL dataset (one case per line; blank lines and lines starting with `//` are skipped). Every problem names
 * the file and line, so a person can fix the file; nothing is run unless every case is valid.
 */
export function parseDataset(text: string, source: string, workflow: string): ParsedDataset {
  const problems: string[] = [];
  const cases: EvalCase[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('//')) return;
    const where = `${source}:${index + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      problems.push(`${where}: not JSON (${(err as Error).message})`);
      return;
    }
    const parsed = evalCaseSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(case)'}: ${i.message}`).join('; ');
      problems.push(`${where}: ${issues}`);
      return;
    }
    const c = parsed.data;
    if (c.workflow !== workflow)
      problems.push(`${where}: case "${c.id}" is for workflow ${c.workflow}, not ${workflow}`);
    else if (seen.has(c.id)) problems.push(`${where}: case id "${c.id}" appears twice`);
    else {
      seen.add(c.id);
      cases.push(c);
    }
  });
  if (problems.length === 0 && cases.length === 0) problems.push(`${source}: no cases`);
  if (problems.length > MAX_PROBLEMS)
    return { ok: false, problems: [...problems.slice(0, MAX_PROBLEMS), `…and ${problems.length - MAX_PROBLEMS} more`] };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, cases };
}

/**
 * The tags and guardrail of a hand-written case: one that names a clean `twin` carries an attack, so it is tagged
 * adversarial and gated as a guardrail against that twin.
 */
export function caseLabels(extra: { tags?: string[]; twin?: string }): Pick<EvalCaseInput, 'tags' | 'guardrail'> {
  const tags = extra.tags ?? [];
  return extra.twin === undefined
    ? { tags }
    : { tags: ['adversarial', 'guardrail', ...tags], guardrail: { twin: extra.twin } };
}

/** A module's hand-written cases, checked like a file: a bad one is the module's bug and names the case. */
export function suiteCases(cases: readonly EvalCaseInput[], workflow: string, module: string): EvalCase[] {
  const text = cases.map((c) => JSON.stringify(c)).join('\n');
  const parsed = parseDataset(text, `module ${module} evals`, workflow);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.cases;
}

/** JSONL, one case per line, as `--dataset` reads it back. */
export function writeDataset(cases: readonly EvalCase[]): string {
  return cases.map((c) => JSON.stringify(c)).join('\n') + (cases.length > 0 ? '\n' : '');
}
