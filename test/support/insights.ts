import { type AgreementDoc, agreementModel } from '../../src/store/agreements.js';
import type { Store } from '../../src/store/models.js';
import { CONSOLE_PEOPLE } from './console.js';

/** The recommendation `earlierDecisions` supports under an `assisted` ceiling with card disputes at shadow. */
export const RAISE_ID = 'card-dispute/accept/ge0.9/le50/assisted';

function earlierDecision(i: number): AgreementDoc {
  const at = new Date(Date.now() - (i + 10) * 60_000);
  return {
    _id: `seed-${i}`,
    v: 1,
    runId: `seed-run-${i}`,
    workflow: 'card-dispute',
    checkpoint: 'review',
    agents: ['dispute-manager'],
    field: 'outcome',
    proposed: 'accept',
    final: 'accept',
    decision: 'approve',
    editedFields: [],
    agreed: true,
    decidedBy: 'person',
    actor: CONSOLE_PEOPLE.approver,
    channel: 'api',
    decidedAt: at,
    recordedAt: at,
    confidence: 0.95,
    amount: 30,
    versions: { 'dispute-manager': 'v1' },
  };
}

/**
 * `count` earlier decisions people made on clear duplicates (accept, confidence 0.95, 30 EUR), all kept, in the last
 * days: enough evidence for the boundary to recommend raising that slice even after a disagreement or two.
 */
export async function seedEarlierDecisions(store: Pick<Store, 'connection'>, count: number): Promise<void> {
  await agreementModel(store).insertMany(Array.from({ length: count }, (_, i) => earlierDecision(i)));
}
