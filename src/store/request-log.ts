import type { mongo } from 'mongoose';

type CommandStartedEvent = mongo.CommandStartedEvent;
type MongoClient = mongo.MongoClient;

/**
 * How a filter names a field, as far as an index can tell: `eq` (a value, `$eq`, `$in`, `$all`, `$elemMatch`),
 * `range` (`$gt`, `$gte`, `$lt`, `$lte`), or `other` (`$ne`, `$nin`, `$exists`, `$regex`…), which an index
 * cannot narrow the scan with.
 */
export type FieldUse = 'eq' | 'range' | 'other';

/** The shape of one filter: its fields and how each is matched, and the branches of its `$or` / `$and`. */
export interface FilterShape {
  fields: { key: string; use: FieldUse }[];
  /** The branches of the filter's `$or`, each a filter of its own; empty when it has none. */
  or: FilterShape[];
  /** The members of the filter's `$and`; empty when it has none. */
  and: FilterShape[];
}

/** One request the app sent to the store, as the driver's command monitoring saw it. */
export interface StoreRequest {
  command: string;
  collection: string;
  /** The top-level keys of the filter (find, update, delete, count, findAndModify), or of the first `$match`. */
  filterKeys: string[];
  /** The sort's keys, when the request sorts. */
  sortKeys: string[];
  /**
   * The filters the request selects documents by, one per statement of an update or delete (a bulk write sends
   * several), so the index test can judge each: empty for requests that select nothing (inserts, index builds,
   * cursor continuations). A query without a filter has one empty shape: it reads the whole collection.
   */
  filters: FilterShape[];
}

/** What the driver sends on its own (handshakes, heartbeats, sessions): not requests of the app. */
const DRIVER_COMMANDS = new Set([
  'hello',
  'ismaster',
  'isMaster',
  'ping',
  'endSessions',
  'buildInfo',
  'saslStart',
  'saslContinue',
  'killCursors',
]);

export interface StoreRequestLog {
  /** Requests seen since the log was started or last reset. */
  requests(): readonly StoreRequest[];
  count(): number;
  /** `collection.command` → count. */
  byCollection(): Map<string, number>;
  reset(): void;
  stop(): void;
}

type Doc = Record<string, unknown>;

/** A plain document; Dates, ObjectIds, Buffers and arrays are values. */
function isDoc(v: unknown): v is Doc {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const EQ_OPERATORS = new Set(['$eq', '$in', '$all', '$elemMatch']);
const RANGE_OPERATORS = new Set(['$gt', '$gte', '$lt', '$lte']);

/** A condition with several operators (`{ $in: […], $ne: x }`) is as good for an index as its best one. */
function useOf(condition: unknown): FieldUse {
  if (!isDoc(condition)) return 'eq';
  const ops = Object.keys(condition);
  if (ops.length === 0 || !ops.every((k) => k.startsWith('$'))) return 'eq';
  if (ops.some((op) => EQ_OPERATORS.has(op))) return 'eq';
  if (ops.some((op) => RANGE_OPERATORS.has(op))) return 'range';
  return 'other';
}

const branches = (v: unknown): FilterShape[] => (Array.isArray(v) ? v.filter(isDoc).map(shapeOf) : []);

/** The shape of a filter document; exported for the index test's own cases. */
export function shapeOf(filter: Doc | undefined): FilterShape {
  const shape: FilterShape = { fields: [], or: [], and: [] };
  for (const [key, condition] of Object.entries(filter ?? {})) {
    if (key === '$or') shape.or.push(...branches(condition));
    else if (key === '$and') shape.and.push(...branches(condition));
    else if (key === '$comment') continue;
    // `$nor`, `$expr`, `$where`, `$text`: evaluated per document, no index narrows them.
    else if (key.startsWith('$')) shape.fields.push({ key, use: 'other' });
    else shape.fields.push({ key, use: useOf(condition) });
  }
  return shape;
}

interface Statement {
  q?: Doc;
}

/** The filters a command selects by; undefined for commands that select nothing. */
function filtersOf(command: CommandStartedEvent['command'], name: string): (Doc | undefined)[] | undefined {
  switch (name) {
    case 'find':
    case 'count':
    case 'distinct':
    case 'findAndModify':
      return [(command.filter ?? command.query) as Doc | undefined];
    case 'update':
      return ((command.updates ?? []) as Statement[]).map((s) => s.q);
    case 'delete':
      return ((command.deletes ?? []) as Statement[]).map((s) => s.q);
    case 'aggregate': {
      const pipeline = (command.pipeline ?? []) as Doc[];
      const first = pipeline[0];
      // A pipeline that does not start with `$match` reads every document of the collection.
      return [first && isDoc(first.$match) ? first.$match : undefined];
    }
    default:
      return undefined;
  }
}

/** The sort's keys in order; the driver sends a cursor's sort as a Map. */
function sortKeysOf(command: CommandStartedEvent['command'], name: string): string[] {
  const sort: unknown =
    name === 'aggregate' ? ((command.pipeline ?? []) as Doc[]).find((s) => s.$sort !== undefined)?.$sort : command.sort;
  if (sort instanceof Map) return [...sort.keys()].map(String);
  return isDoc(sort) ? Object.keys(sort) : [];
}

/** Statements of one bulk write that share a shape are judged once. */
function distinctShapes(filters: (Doc | undefined)[]): FilterShape[] {
  const seen = new Map<string, FilterShape>();
  for (const f of filters) {
    const shape = shapeOf(f);
    seen.set(JSON.stringify(shape), shape);
  }
  return [...seen.values()];
}

/**
 * Counts every request the app sends to the store by listening to the driver's command monitoring (the client
 * must be opened with `monitorCommands: true`, as `openStore` does). The counts hold for MongoDB and FerretDB
 * alike, unlike times: the bench reports them per run, and a test checks every filter against the index list.
 */
export function logStoreRequests(client: MongoClient): StoreRequestLog {
  let seen: StoreRequest[] = [];
  const listener = (event: CommandStartedEvent) => {
    if (DRIVER_COMMANDS.has(event.commandName)) return;
    const command = event.command;
    const collection =
      event.commandName === 'getMore' ? String(command.collection ?? '') : String(command[event.commandName] ?? '');
    const filters = filtersOf(command, event.commandName);
    seen.push({
      command: event.commandName,
      collection,
      filterKeys: Object.keys(filters?.[0] ?? {}),
      sortKeys: sortKeysOf(command, event.commandName),
      filters: filters ? distinctShapes(filters) : [],
    });
  };
  client.on('commandStarted', listener);
  return {
    requests: () => seen,
    count: () => seen.length,
    byCollection() {
      const counts = new Map<string, number>();
      for (const r of seen) {
        const key = `${r.collection}.${r.command}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    },
    reset() {
      seen = [];
    },
    stop() {
      client.off('commandStarted', listener);
    },
  };
}
