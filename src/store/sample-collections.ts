import { type Connection, type Model, Schema } from 'mongoose';

/**
 * Collections a module keeps its sample business in (the demo's customers, orders, charges…): keyed by a string
 * `_id` the sample data chooses, so seeding can be repeated without duplicates.
 */

const opts = { versionKey: false, minimize: false } as const;

/**
 * The model `name` on `conn`, registered there on first use only: a test file and the app may both ask for the
 * same connection, and mongoose refuses to register a name twice. `fields` are the schema fields besides `_id`.
 */
export function sampleModel<T>(
  conn: Connection,
  name: string,
  collection: string,
  fields: Record<string, unknown>,
): Model<T> {
  const existing = conn.models[name] as Model<T> | undefined;
  return existing ?? conn.model<T>(name, new Schema<T>({ _id: String, ...fields }, { ...opts, collection }));
}

/**
 * Writes `docs` by `_id`, replacing what is there: running it again leaves the same documents (demo start, every
 * test). Unordered, so one bad document does not stop the rest.
 */
export async function upsertSampleDocs<T extends { _id: string }>(target: Model<T>, docs: T[]): Promise<void> {
  await target.bulkWrite(
    docs.map((doc) => ({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } })) as never,
    { ordered: false },
  );
}
