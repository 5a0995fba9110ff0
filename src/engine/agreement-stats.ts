import { type AgreementDoc, agreementModel } from '../store/agreements.js';
import type { Store } from '../store/models.js';

export interface AgreementFilter {
  workflow?: string;
  /** Decisions at or after this time. */
  since?: Date;
  /** Decisions at or before this time. */
  until?: Date;
}

/** Agreement over a set of decisions. Only a person's decision on a clear proposal is compared. */
export interface AgreementCounts {
  /** Person decisions on a clear AI proposal. */
  compared: number;
  /** Of those, how many kept the proposal. */
  agreed: number;
  /** agreed / compared, null when nothing was compared. */
  rate: number | null;
  /** Person decisions that changed at least one editable field. */
  edited: number;
}

export interface WorkflowAgreement extends AgreementCounts {
  workflow: string;
  /** Every decided decision point, by whom it was settled. */
  decided: number;
  byPerson: number;
  byPolicy: number;
  byTimeout: number;
  /** The same counts for each agent whose output formed the proposals. */
  agents: ({ agent: string } & AgreementCounts)[];
}

export interface AgreementStats {
  workflows: WorkflowAgreement[];
}

/** Reads at most this many records per call; a digest period or an API query stays well under it. */
const READ_LIMIT = 20_000;

function counts(docs: AgreementDoc[]): AgreementCounts {
  const people = docs.filter((d) => d.decidedBy === 'person');
  const compared = people.filter((d) => d.agreed !== null);
  const agreed = compared.filter((d) => d.agreed === true).length;
  return {
    compared: compared.length,
    agreed,
    rate: compared.length === 0 ? null : agreed / compared.length,
    edited: people.filter((d) => d.editedFields.length > 0).length,
  };
}

/**
 * Aggregated in JavaScript: FerretDB 1.x lacks most `$group` accumulators, and a period holds at most a few thousand
 * decisions.
 */
export async function agreementStats(
  store: Pick<Store, 'connection'>,
  filter: AgreementFilter = {},
): Promise<AgreementStats> {
  const query: Record<string, unknown> = {};
  if (filter.workflow) query.workflow = filter.workflow;
  if (filter.since || filter.until) {
    query.decidedAt = {
      ...(filter.since ? { $gte: filter.since } : {}),
      ...(filter.until ? { $lte: filter.until } : {}),
    };
  }
  // Newest first: the index on decidedAt serves it, and the limit keeps the latest decisions.
  const docs = await agreementModel(store).find(query).sort({ decidedAt: -1 }).limit(READ_LIMIT).lean<AgreementDoc[]>();
  const byWorkflow = new Map<string, AgreementDoc[]>();
  for (const d of docs) byWorkflow.set(d.workflow, [...(byWorkflow.get(d.workflow) ?? []), d]);
  const workflows = [...byWorkflow]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([workflow, list]): WorkflowAgreement => {
      const agentNames = [...new Set(list.flatMap((d) => d.agents ?? []))].sort();
      return {
        workflow,
        decided: list.length,
        byPerson: list.filter((d) => d.decidedBy === 'person').length,
        byPolicy: list.filter((d) => d.decidedBy === 'policy').length,
        byTimeout: list.filter((d) => d.decidedBy === 'timeout').length,
        ...counts(list),
        agents: agentNames.map((agent) => ({
          agent,
          ...counts(list.filter((d) => (d.agents ?? []).includes(agent))),
        })),
      };
    });
  return { workflows };
}
