import { Retryable } from '../../errors.js';
import { isDuplicateKey } from '../../store/models.js';
import type { EmailStore } from './store.js';

/** How many automatic messages one address may get from us within a sliding window (RFC 3834 §2). */
export interface AutoReplyLimit {
  limit: number;
  windowMs: number;
}

export type SlotClaim = { ok: true; n: number } | { ok: false; until: Date };

/**
 * Claims the right to send one automatic message to `address`, once per `effectKey` (a retried send reuses its
 * claim). Claims are numbered 1, 2, 3… per address and only ever inserted: claim n is taken only when claim
 * n-limit is older than the window, so any window holds at most `limit` claims. Concurrent claimers collide on
 * the unique `_id` and move on to n+1, which checks its own n-limit, so the bound holds on FerretDB too.
 */
export async function claimAutoSlot(
  slots: EmailStore['autoSlots'],
  address: string,
  effectKey: string,
  cap: AutoReplyLimit,
  now: Date,
): Promise<SlotClaim> {
  const pointerId = `effect:${effectKey}`;
  const held = await slots.findById(pointerId).lean();
  if (held) return { ok: true, n: held.n };
  const slotId = (n: number) => `auto:${address}:${n}`;
  const has = async (n: number) => Boolean(await slots.exists({ _id: slotId(n) }));
  let n = await firstFree(has);
  // Each lost race means another sender took n; a few dozen in a row is contention worth a retry later.
  for (let tries = 0; tries < 32; tries++, n++) {
    if (n > cap.limit) {
      const older = await slots.findById(slotId(n - cap.limit)).lean();
      if (older && now.getTime() - new Date(older.at).getTime() < cap.windowMs) {
        return { ok: false, until: new Date(new Date(older.at).getTime() + cap.windowMs) };
      }
    }
    try {
      await slots.create({ _id: slotId(n), address, n, effectKey, at: now });
    } catch (err) {
      if (isDuplicateKey(err)) continue;
      throw err;
    }
    await slots.create({ _id: pointerId, address, n, effectKey, at: now }).catch((err: unknown) => {
      if (!isDuplicateKey(err)) throw err;
    });
    return { ok: true, n };
  }
  throw new Retryable(`too many concurrent automatic messages to one address; will try again`);
}

/**
 * The first unclaimed number. Claims are contiguous from 1 (n is inserted only after n-1 was seen), so a
 * galloping search by `_id` finds it in O(log n) point reads, with no counter to keep. Also numbers a thread's
 * follow-ups (intake-records.ts).
 */
export async function firstFree(has: (n: number) => Promise<boolean>): Promise<number> {
  if (!(await has(1))) return 1;
  let lo = 1;
  let hi = 2;
  while (await has(hi)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await has(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}
