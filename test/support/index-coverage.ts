import type { IndexSpec } from '../../src/store/indexes.js';
import type { FilterShape, StoreRequest } from '../../src/store/request-log.js';

/**
 * Collections small by design, whose every document a query may read: none so far. An entry needs a reason the
 * collection stays small whatever the traffic (bounded by configuration, not by runs or messages).
 */
const TINY_COLLECTIONS: ReadonlyMap<string, string> = new Map<string, string>([]);

/** A query shape no index serves, with how often the workload sent it. */
export interface UncoveredShape {
  collection: string;
  command: string;
  /** `{status: eq, wakeAt: other} sort {createdAt}`: each field with how it is matched. */
  shape: string;
  count: number;
}

/** The leading key of every index, per collection: what a query must name to be served. */
function leadingKeys(indexes: readonly IndexSpec[]): Map<string, Set<string>> {
  const leads = new Map<string, Set<string>>();
  for (const i of indexes) {
    const first = Object.keys(i.keys)[0];
    if (!first) continue;
    const set = leads.get(i.collection) ?? new Set<string>();
    set.add(first);
    leads.set(i.collection, set);
  }
  return leads;
}

const isEmpty = (s: FilterShape) => s.fields.length === 0 && s.or.length === 0 && s.and.length === 0;

/**
 * Served when the filter names `_id` or an index's leading key by equality or range, or one member of its `$and`
 * is served, or every branch of its `$or` is (one unserved branch makes the whole `$or` a scan).
 */
function served(shape: FilterShape, leads: ReadonlySet<string>): boolean {
  if (shape.fields.some((f) => f.use !== 'other' && (f.key === '_id' || leads.has(f.key)))) return true;
  if (shape.and.some((s) => served(s, leads))) return true;
  return shape.or.length > 0 && shape.or.every((s) => served(s, leads));
}

function describeShape(shape: FilterShape): string {
  const parts = [
    ...shape.fields.map((f) => `${f.key}: ${f.use}`),
    ...(shape.or.length > 0 ? [`$or: [${shape.or.map(describeShape).join(' | ')}]`] : []),
    ...(shape.and.length > 0 ? [`$and: [${shape.and.map(describeShape).join(', ')}]`] : []),
  ];
  return `{${parts.join(', ')}}`;
}

/**
 * The request shapes of `requests` that no index of `indexes` serves, each once with its count. A filter that
 * names nothing (a full scan) passes only when it sorts by an index's leading key (or `_id`) or reads a collection
 * of `tiny`.
 */
export function uncoveredShapes(
  requests: readonly StoreRequest[],
  indexes: readonly IndexSpec[],
  tiny: ReadonlyMap<string, string> = TINY_COLLECTIONS,
): UncoveredShape[] {
  const leads = leadingKeys(indexes);
  const found = new Map<string, UncoveredShape>();
  for (const r of requests) {
    const collectionLeads = leads.get(r.collection) ?? new Set<string>();
    for (const filter of r.filters) {
      if (isEmpty(filter)) {
        const firstSort = r.sortKeys[0];
        if (firstSort !== undefined && (firstSort === '_id' || collectionLeads.has(firstSort))) continue;
        if (tiny.has(r.collection)) continue;
      } else if (served(filter, collectionLeads)) continue;
      const shape = `${describeShape(filter)}${r.sortKeys.length > 0 ? ` sort {${r.sortKeys.join(', ')}}` : ''}`;
      const id = `${r.collection} ${r.command} ${shape}`;
      const seen = found.get(id);
      if (seen) seen.count++;
      else found.set(id, { collection: r.collection, command: r.command, shape, count: 1 });
    }
  }
  return [...found.values()];
}

/** One line per shape, for an assertion's message. */
export const formatShapes = (shapes: readonly UncoveredShape[]): string =>
  shapes.map((s) => `${s.collection}.${s.command} ${s.shape} ×${s.count}`).join('\n');
