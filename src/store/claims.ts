import { isDuplicateKey, type Store } from './models.js';

/** True for the one caller that inserted `key` first (see ClaimDoc). */
export async function claim(
  store: Pick<Store, 'claims'>,
  key: string,
  intent?: unknown,
  at = new Date(),
): Promise<boolean> {
  try {
    await store.claims.create({ _id: key, at, ...(intent === undefined ? {} : { intent }) });
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}
