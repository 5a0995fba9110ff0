import {
  ENV_NAME,
  isMember,
  MEMBER_MESSAGE,
  NAME,
  SLACK_USER_GROUP,
  type StageSettings,
  stageSchema,
} from './settings-schema.js';

/** Rules of the configuration file that span sections: names that must exist, loops, sizes, the environment. */

export type Env = Readonly<Record<string, string | undefined>>;
export type Path = (string | number)[];

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const list = (names: Iterable<string>) => [...names].map((n) => `"${n}"`).join(', ');

const keysOf = (section: unknown): string[] | undefined =>
  section === undefined ? [] : isRecord(section) ? Object.keys(section) : undefined;
const entriesOf = (section: unknown): [string, unknown][] => (isRecord(section) ? Object.entries(section) : []);
const itemsOf = (section: unknown): unknown[] => (Array.isArray(section) ? section : []);

/**
 * The people and Slack user groups behind a list of members and group names, groups expanded (they may name other
 * groups). Undefined when a name is not a group or the groups loop.
 */
function expandMembers(
  entries: readonly unknown[],
  groups: Readonly<Record<string, unknown>>,
  seen: ReadonlySet<string> = new Set(),
): string[] | undefined {
  const out: string[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'string') return undefined;
    const name = entry.trim();
    if (isMember(name)) out.push(name.includes('@') ? name.toLowerCase() : name);
    else if (Object.hasOwn(groups, name) && !seen.has(name)) {
      const inner = expandMembers(itemsOf(groups[name]), groups, new Set([...seen, name]));
      if (!inner) return undefined;
      out.push(...inner);
    } else return undefined;
  }
  return out;
}

/** A group that reaches itself through the groups it names: the path of names, or undefined. */
function groupLoop(start: string, groups: Readonly<Record<string, unknown>>): string[] | undefined {
  const walk = (name: string, trail: string[]): string[] | undefined => {
    for (const entry of itemsOf(groups[name])) {
      if (typeof entry !== 'string' || isMember(entry.trim()) || !Object.hasOwn(groups, entry.trim())) continue;
      const next = entry.trim();
      if (next === start) return [...trail, next];
      if (trail.includes(next)) continue;
      const found = walk(next, [...trail, next]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(start, [start]);
}

/**
 * Rules across sections. Each entry is checked on its own (a name only needs to exist to be referred to), so a bad
 * value in one group does not hide an unknown group elsewhere: a single run lists every problem.
 */
export function crossFieldProblems(raw: unknown, env: Env): { path: Path; message: string }[] {
  if (!isRecord(raw)) return [];
  const problems: { path: Path; message: string }[] = [];
  const groups = raw.groups === undefined ? {} : isRecord(raw.groups) ? raw.groups : undefined;
  const groupNames = groups ? Object.keys(groups) : [];
  const providerNames = keysOf(raw.providers);
  const known = (what: string, names: string[]) =>
    names.length ? `${what}s: ${list(names)}` : `no ${what}s are defined`;
  // `default` is the provider built from OPENAI_* (or the offline model); a file may not redefine it.
  if (providerNames?.includes('default'))
    problems.push({
      path: ['providers', 'default'],
      message: 'the name "default" is reserved for the provider built from OPENAI_* (or the offline model)',
    });

  // Name-shaped entries pass the schema; here they must be groups. Other bad entries the schema has reported.
  const checkEntries = (entries: unknown, path: Path) => {
    if (!groups) return;
    itemsOf(entries).forEach((entry, j) => {
      if (typeof entry !== 'string') return;
      const name = entry.trim();
      if (isMember(name) || !NAME.test(name) || Object.hasOwn(groups, name)) return;
      problems.push({
        path: [...path, j],
        message: `${MEMBER_MESSAGE}, got "${name}" (${known('group', groupNames)})`,
      });
    });
  };
  const checkApprovers = (approvers: unknown, path: Path) => {
    if (Array.isArray(approvers)) return checkEntries(approvers, path);
    if (typeof approvers !== 'string' || !groups || Object.hasOwn(groups, approvers)) return;
    const hint = isMember(approvers) ? '; to name people directly, write a list' : '';
    problems.push({ path, message: `unknown group "${approvers}" (${known('group', groupNames)})${hint}` });
  };
  const checkAgents = (agents: unknown, path: Path) => {
    if (!providerNames) return;
    for (const [agent, choice] of entriesOf(agents)) {
      const provider = isRecord(choice) ? choice.provider : undefined;
      if (typeof provider !== 'string' || providerNames.includes(provider)) continue;
      problems.push({
        path: [...path, agent, 'provider'],
        message: `unknown provider "${provider}" (${known('provider', providerNames)})`,
      });
    }
  };
  const checkQuorum = (stage: StageSettings, path: Path) => {
    const count = typeof stage.quorum === 'object' ? stage.quorum.count : undefined;
    if (count === undefined || !groups) return;
    const members = expandMembers(typeof stage.approvers === 'string' ? [stage.approvers] : stage.approvers, groups);
    // A Slack user group's size is known only to Slack, so such a stage is not checked here.
    if (!members || members.some((m) => SLACK_USER_GROUP.test(m))) return;
    const size = new Set(members).size;
    if (count > size)
      problems.push({
        path,
        message: `quorum of ${count} but the approvers have only ${size} member${size === 1 ? '' : 's'}`,
      });
  };

  for (const [name, entries] of Object.entries(groups ?? {})) {
    checkEntries(entries, ['groups', name]);
    const loop = groupLoop(name, groups ?? {});
    if (loop)
      problems.push({ path: ['groups', name], message: `group "${name}" includes itself (${loop.join(' → ')})` });
  }
  for (const [name, wf] of entriesOf(raw.workflows)) {
    if (!isRecord(wf)) continue;
    itemsOf(wf.stages).forEach((entry, i) => {
      if (isRecord(entry)) checkApprovers(entry.approvers, ['workflows', name, 'stages', i, 'approvers']);
      const stage = stageSchema.safeParse(entry);
      if (stage.success) checkQuorum(stage.data, ['workflows', name, 'stages', i, 'quorum', 'count']);
    });
    if (isRecord(wf.timeout)) checkApprovers(wf.timeout.escalateTo, ['workflows', name, 'timeout', 'escalateTo']);
    checkAgents(wf.agents, ['workflows', name, 'agents']);
  }
  checkAgents(raw.agents, ['agents']);
  for (const [name, provider] of entriesOf(raw.providers)) {
    const variable = isRecord(provider) ? provider.apiKeyEnv : undefined;
    if (typeof variable === 'string' && ENV_NAME.test(variable) && !env[variable])
      problems.push({ path: ['providers', name, 'apiKeyEnv'], message: `environment variable ${variable} is not set` });
  }
  return problems;
}
