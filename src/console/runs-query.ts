import { z } from 'zod';
import type { RunDoc, RunStatus, Store, Usage } from '../store/models.js';

/**
 * The console's runs list (GET /runs): filters, a search box and cursor pages, newest first. Every filter leads an
 * index that ends in (createdAt, _id) (src/store/indexes.ts), so on MongoDB a page walks 51 index entries however
 * deep it is; only the summary fields are read. A page costs one `runs` find (cost and tokens are on the run
 * document: each pass that changes a run's status writes its usage so far), one `checkpoints` find for what the
 * waiting ones wait on, and one more for an approver filter.
 */

const PAGE_SIZE = 50;
/** An approver filter looks at this many of the person's newest decisions. */
const APPROVER_SCAN = 5_000;

export const RUN_STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled'] as const;

const day = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date as YYYY-MM-DD' })
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), { error: 'not a calendar date' });

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

/** The query string of GET /runs; empty fields count as absent, so a submitted blank form lists everything. */
export const runsQuerySchema = z
  .object({
    workflow: optional(z.string().trim().max(100)),
    status: optional(z.enum(RUN_STATUSES, { error: `expected one of ${RUN_STATUSES.join(', ')}` })),
    from: optional(day),
    to: optional(day),
    customer: optional(z.string().trim().toLowerCase().max(320)),
    approver: optional(z.string().trim().max(320)),
    q: optional(z.string().trim().max(200)),
    before: optional(z.string().max(200)),
    after: optional(z.string().max(200)),
  })
  .refine((q) => !(q.from && q.to) || q.from <= q.to, { error: 'must not be before "from"', path: ['to'] });

export type RunsQuery = z.output<typeof runsQuerySchema>;

/** A position in the list: opaque to people, `<createdAt ms>.<run id>` underneath. */
export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.createdAt.getTime()}.${c.id}`).toString('base64url');
}

function decodeCursor(raw: string): Cursor | undefined {
  const text = Buffer.from(raw, 'base64url').toString('utf8');
  const m = /^(\d{1,15})\.([\x21-\x7e]{1,200})$/.exec(text);
  return m ? { createdAt: new Date(Number(m[1])), id: m[2] as string } : undefined;
}

export interface RunSummary {
  id: string;
  workflow: string;
  status: RunStatus;
  customer: string | null;
  /** Pending checkpoints (only asked of waiting runs). */
  waitingOn: number;
  costUsd: number;
  tokens: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface RunsPage {
  runs: RunSummary[];
  /** Cursors for the links: absent when there is nothing that way. */
  older?: string;
  newer?: string;
}

type Filter = Record<string, unknown>;

function dbOf(store: Store) {
  const db = store.connection.db;
  if (!db) throw new Error('the store is not connected');
  return db;
}

const prefixRange = (text: string) => ({ $gte: text, $lt: `${text}\uffff` });

/** The filter without the cursor; `null` when it cannot match anything (an approver who decided nothing). */
async function baseFilter(store: Store, q: RunsQuery): Promise<Filter | null> {
  const and: Filter[] = [];
  if (q.workflow) and.push({ workflow: q.workflow });
  // A run's first pass leaves its document `queued` while the agents work: people call that running.
  if (q.status) and.push({ status: q.status === 'running' ? { $in: ['queued', 'running'] } : q.status });
  if (q.customer) and.push({ 'input.customerEmail': q.customer });
  if (q.q) {
    const text = q.q;
    and.push({ $or: [{ _id: prefixRange(text) }, { 'input.customerEmail': prefixRange(text.toLowerCase()) }] });
  }
  const created: Filter = {};
  if (q.from) created.$gte = new Date(`${q.from}T00:00:00Z`);
  if (q.to) created.$lt = new Date(Date.parse(`${q.to}T00:00:00Z`) + 86_400_000);
  if (Object.keys(created).length > 0) and.push({ createdAt: created });
  if (q.approver) {
    const decided = await dbOf(store)
      .collection('checkpoints')
      .find({ 'decision.actor': q.approver }, { projection: { runId: 1 }, limit: APPROVER_SCAN })
      .toArray();
    const ids = [...new Set(decided.map((c) => String(c.runId)))];
    if (ids.length === 0) return null;
    and.push({ _id: { $in: ids } });
  }
  return and.length === 0 ? {} : and.length === 1 ? (and[0] as Filter) : { $and: and };
}

/**
 * Past the cursor, in the direction of travel: `createdAt` bounds the index walk, `_id` breaks ties within one
 * millisecond. The range on `createdAt` is written on its own so the planner narrows the index scan with it.
 */
function pastCursor(c: Cursor, direction: 'older' | 'newer'): Filter {
  const [inclusive, strict] = direction === 'older' ? ['$lte', '$lt'] : ['$gte', '$gt'];
  return {
    $and: [
      { createdAt: { [inclusive]: c.createdAt } },
      { $or: [{ createdAt: { [strict]: c.createdAt } }, { _id: { [strict]: c.id } }] },
    ],
  };
}

const SUMMARY_FIELDS = {
  _id: 1,
  workflow: 1,
  status: 1,
  'input.customerEmail': 1,
  usage: 1,
  createdAt: 1,
  updatedAt: 1,
};

type SummaryDoc = Pick<RunDoc, '_id' | 'workflow' | 'status' | 'createdAt' | 'updatedAt'> & {
  usage?: Partial<Usage>;
  input?: { customerEmail?: unknown };
};

/** One page of the runs list. Throws only for store errors; a bad cursor is treated as none. */
export async function listRunsPage(store: Store, q: RunsQuery, pageSize = PAGE_SIZE): Promise<RunsPage> {
  const base = await baseFilter(store, q);
  if (base === null) return { runs: [] };
  const afterRaw = q.after ? decodeCursor(q.after) : undefined;
  const beforeRaw = afterRaw ? undefined : q.before ? decodeCursor(q.before) : undefined;
  const direction = afterRaw ? 'newer' : 'older';
  const cursor = afterRaw ?? beforeRaw;
  const filter = cursor ? { $and: [base, pastCursor(cursor, direction)] } : base;
  const order = direction === 'older' ? -1 : 1;
  const docs = (await dbOf(store)
    .collection('runs')
    .find(filter, { projection: SUMMARY_FIELDS, sort: { createdAt: order, _id: order }, limit: pageSize + 1 })
    .toArray()) as unknown as SummaryDoc[];
  const more = docs.length > pageSize;
  const page = docs.slice(0, pageSize);
  if (direction === 'newer') page.reverse();
  const runs = await summaries(store, page);
  const first = page[0];
  const last = page.at(-1);
  const at = (d: SummaryDoc) => encodeCursor({ createdAt: new Date(d.createdAt), id: d._id });
  return {
    runs,
    // Going older, there is more when the extra row came back; there is newer when we came from a cursor. And back.
    ...(last && (direction === 'older' ? more : true) ? { older: at(last) } : {}),
    ...(first && (direction === 'newer' ? more : Boolean(cursor)) ? { newer: at(first) } : {}),
  };
}

/** Pending checkpoints of the page's waiting runs: one find at most. */
async function summaries(store: Store, docs: SummaryDoc[]): Promise<RunSummary[]> {
  if (docs.length === 0) return [];
  const waiting = docs.filter((d) => d.status === 'waiting').map((d) => d._id);
  const pending =
    waiting.length === 0
      ? []
      : await dbOf(store)
          .collection('checkpoints')
          .find({ runId: { $in: waiting }, status: 'pending' }, { projection: { runId: 1 } })
          .toArray();
  const waitingOn = new Map<string, number>();
  for (const c of pending) waitingOn.set(String(c.runId), (waitingOn.get(String(c.runId)) ?? 0) + 1);
  return docs.map((d) => {
    const email = d.input?.customerEmail;
    return {
      id: d._id,
      workflow: d.workflow,
      status: d.status,
      customer: typeof email === 'string' ? email : null,
      waitingOn: waitingOn.get(d._id) ?? 0,
      costUsd: Math.round((d.usage?.costUsd ?? 0) * 1e6) / 1e6,
      tokens: (d.usage?.inputTokens ?? 0) + (d.usage?.outputTokens ?? 0),
      createdAt: new Date(d.createdAt),
      updatedAt: new Date(d.updatedAt),
    };
  });
}
