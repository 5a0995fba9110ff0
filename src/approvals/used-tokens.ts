import { isDuplicateKey } from '../duplicate-key.js';
import type { Store } from '../store/models.js';

/**
 * Whether an approval link was used already: the engine records a link's token id when a decision is made with
 * it, so a second click can be answered "already used" before "expired".
 */
export async function tokenAlreadyUsed(store: Pick<Store, 'usedTokens'>, tokenId: string): Promise<boolean> {
  return (await store.usedTokens.exists({ _id: tokenId })) !== null;
}

/**
 * Claims a link before deciding with it, so two clicks cannot both decide: false when another click has it.
 * The claim is the unique token id; `releaseToken` gives it back when the decision did not take effect.
 */
export async function claimToken(
  store: Pick<Store, 'usedTokens'>,
  t: { tokenId: string; checkpointId: string; recipient: string; usedAt: Date },
): Promise<boolean> {
  try {
    await store.usedTokens.create({
      _id: t.tokenId,
      checkpointId: t.checkpointId,
      recipient: t.recipient,
      usedAt: t.usedAt,
    });
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export async function releaseToken(store: Pick<Store, 'usedTokens'>, tokenId: string): Promise<void> {
  await store.usedTokens.deleteOne({ _id: tokenId });
}
