import type { SliceRule } from './autonomy/boundary.js';
import { ANY } from './autonomy/slices.js';
import { ConfigError } from './config-error.js';
import { Secret } from './secret.js';
import {
  decodeSettings,
  issueLine,
  type ReadFile,
  readFileUtf8,
  readSettingsText,
  renderPath,
  settingsErrorMap,
  sourceLabel,
} from './settings-file.js';
import { crossFieldProblems, type Env, isRecord, list, type Path } from './settings-rules.js';
import {
  type Autonomy,
  type Settings,
  SLACK_USER,
  SLACK_USER_GROUP,
  settingsSchema,
  type WorkflowSettings,
} from './settings-schema.js';

export type { Env } from './settings-rules.js';
export {
  AUTONOMY_LEVELS,
  type Autonomy,
  type AutonomySettings,
  type ProviderSettings,
  type Settings,
  type StageSettings,
  settingsSchema,
  type WorkflowSettings,
} from './settings-schema.js';

/** Where a path lies in the decoded file, as the index of each key among its siblings: sorts problems by file order. */
function filePosition(raw: unknown, path: readonly PropertyKey[]): number[] {
  let node = raw;
  return path.map((seg) => {
    const index = Array.isArray(node) ? Number(seg) : isRecord(node) ? Object.keys(node).indexOf(String(seg)) : -1;
    node = isRecord(node) || Array.isArray(node) ? (node as Record<string, unknown>)[String(seg)] : undefined;
    return index;
  });
}

function comparePositions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  return a.length - b.length;
}

/**
 * Validates decoded file content. Throws ConfigError with one line per problem, each naming `source` and the path.
 * A key named by `apiKeyEnv` is read from `env` here, so a start without it fails at once, naming the provider.
 */
export function parseSettings(raw: unknown, source: string, env: Env = {}): Settings {
  const parsed = settingsSchema.safeParse(raw, { error: settingsErrorMap, reportInput: true });
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => ({ path: issue.path, line: issueLine(issue, source) }))),
    ...crossFieldProblems(raw, env).map((p) => ({
      path: p.path,
      line: `${sourceLabel(source)} ${renderPath(p.path)}: ${p.message}`,
    })),
  ];
  if (!parsed.success || problems.length > 0) {
    const order = new Map(problems.map((p) => [p, filePosition(raw, p.path)]));
    problems.sort((a, b) => comparePositions(order.get(a) ?? [], order.get(b) ?? []));
    throw new ConfigError(problems.map((p) => p.line));
  }
  const settings = parsed.data;
  for (const provider of Object.values(settings.providers)) {
    const fromEnv = provider.apiKeyEnv === undefined ? undefined : env[provider.apiKeyEnv];
    if (fromEnv) provider.apiKey = new Secret(fromEnv);
  }
  return settings;
}

/** Settings when no file is configured: no groups, no per-workflow policy, env defaults everywhere. */
export function emptySettings(): Settings {
  return settingsSchema.parse({});
}

/**
 * Reads `path` (JSON when it ends in `.json`, else YAML) and validates it. Without a path: empty settings.
 * Throws ConfigError: a missing file, a syntax error (with line:column) or one line per invalid value.
 */
export function loadSettings(path: string | undefined, readFile: ReadFile = readFileUtf8, env: Env = {}): Settings {
  if (path === undefined || path.trim() === '') return emptySettings();
  const text = readSettingsText(path, readFile);
  if (!text.ok) throw new ConfigError(text.problems);
  const decoded = decodeSettings(text.text, path);
  if (!decoded.ok) throw new ConfigError(decoded.problems);
  return parseSettings(decoded.value, path, env);
}

// ---- Lookups for the rest of the platform. Pure functions of validated settings. ----

export interface Members {
  emails: string[];
  slackUsers: string[];
  slackUserGroups: string[];
}

/**
 * The people a group name or a list (of members and group names) stands for, split by channel, groups expanded.
 * An unknown group has none.
 */
export function groupMembers(settings: Settings, groupOrList: string | readonly string[]): Members {
  const out: Members = { emails: [], slackUsers: [], slackUserGroups: [] };
  const seen = new Set<string>();
  const add = (entries: readonly string[]) => {
    for (const m of entries) {
      const group = Object.hasOwn(settings.groups, m) ? settings.groups[m] : undefined;
      if (group) {
        if (!seen.has(m)) {
          seen.add(m);
          add(group);
        }
      } else if (m.includes('@')) out.emails.push(m.toLowerCase());
      else if (SLACK_USER_GROUP.test(m)) out.slackUserGroups.push(m);
      else if (SLACK_USER.test(m)) out.slackUsers.push(m);
    }
  };
  add(typeof groupOrList === 'string' ? [groupOrList] : groupOrList);
  return {
    emails: [...new Set(out.emails)],
    slackUsers: [...new Set(out.slackUsers)],
    slackUserGroups: [...new Set(out.slackUserGroups)],
  };
}

/** The file's settings for one workflow; a workflow the file does not mention gets none (env defaults apply). */
export function workflowSettings(settings: Settings, name: string): WorkflowSettings {
  return settings.workflows[name] ?? { agents: {} };
}

/** Per-workflow autonomy ceilings from the file; `AUTONOMY` still caps each of them. */
export function workflowAutonomyCeilings(settings: Settings): Record<string, Autonomy> {
  const out: Record<string, Autonomy> = {};
  for (const [name, wf] of Object.entries(settings.workflows)) if (wf.autonomy) out[name] = wf.autonomy;
  return out;
}

/** Per-workflow slice levels from the file (`workflows.<name>.slices`), as patterns in file order. */
export function workflowSliceRules(settings: Settings): Record<string, SliceRule[]> {
  const out: Record<string, SliceRule[]> = {};
  for (const [name, wf] of Object.entries(settings.workflows)) {
    if (!wf.slices?.length) continue;
    out[name] = wf.slices.map((s) => ({
      pattern: { outcome: s.outcome ?? ANY, confidenceBand: s.confidence ?? ANY, amountBand: s.amount ?? ANY },
      level: s.autonomy,
    }));
  }
  return out;
}

/** Which provider and model an agent uses: the workflow's entry over the deployment-wide `agents` entry. */
export function agentModel(
  settings: Settings,
  workflow: string | undefined,
  agent: string,
): { provider?: string; model?: string } {
  const own = workflow === undefined ? undefined : settings.workflows[workflow]?.agents[agent];
  const base = settings.agents[agent];
  const provider = own?.provider ?? base?.provider;
  // A workflow that switches provider without naming a model must not inherit a model meant for another server.
  const model =
    own?.model ?? (own?.provider === undefined || own.provider === base?.provider ? base?.model : undefined);
  return { ...(provider !== undefined ? { provider } : {}), ...(model !== undefined ? { model } : {}) };
}

export interface EmailRouteSetting {
  name: string;
  workflow: string;
  to?: string;
  subject?: string;
  requireAuth: 'not-fail' | 'pass';
}

/** The file's email routes, in order, ahead of the modules' own. Unnamed routes are named by their path. */
export function routeEmail(settings: Settings): EmailRouteSetting[] {
  return settings.routing.email.map((r, i) => ({
    name: r.name ?? `routing.email[${i}]`,
    workflow: r.workflow,
    ...(r.to !== undefined ? { to: r.to } : {}),
    ...(r.subject !== undefined ? { subject: r.subject } : {}),
    requireAuth: r.requireAuth ?? 'not-fail',
  }));
}

/** The workflow `/countersign <word>` opens according to the file, if it names one. */
export function slackCommandWorkflow(settings: Settings, word: string): string | undefined {
  const commands: Record<string, string> = settings.routing.slack.commands;
  return Object.hasOwn(commands, word.toLowerCase()) ? commands[word.toLowerCase()] : undefined;
}

/** Reminder and timeout policy of human checkpoints, as `Config.review` holds the env defaults. */
export interface ReviewPolicy {
  remindEveryMs: number;
  reminders: number;
  timeoutMs: number;
  timeoutAction: 'escalate' | 'reject' | 'approve' | 'keep-waiting';
  escalateTo: { emails: string[]; slackUsers: string[]; slackChannels: string[]; slackGroups: string[] };
}

/** What a workflow hands `ctx.checkpoint` for reminders and the timeout path (CheckpointSpec's two fields). */
export interface CheckpointTimers {
  reminders?: { everyMs: number; max: number };
  timeout: { afterMs: number; action: ReviewPolicy['timeoutAction']; escalateTo: ReviewPolicy['escalateTo'] };
}

/** A workflow's reminders and timeout as checkpoint options: the file's values over the CHECKPOINT_* defaults. */
export function checkpointTimers(defaults: ReviewPolicy, settings: Settings, workflow: string): CheckpointTimers {
  const review = reviewPolicy(defaults, settings, workflow);
  return {
    ...(review.reminders > 0 ? { reminders: { everyMs: review.remindEveryMs, max: review.reminders } } : {}),
    timeout: { afterMs: review.timeoutMs, action: review.timeoutAction, escalateTo: review.escalateTo },
  };
}

/** A workflow's review policy: each value the file sets for the workflow overrides the env default (CHECKPOINT_*). */
export function reviewPolicy(defaults: ReviewPolicy, settings: Settings, workflow: string): ReviewPolicy {
  const wf = settings.workflows[workflow];
  const escalateTo = wf?.timeout?.escalateTo;
  const members = escalateTo === undefined ? undefined : groupMembers(settings, escalateTo);
  return {
    remindEveryMs:
      wf?.reminders?.everyMinutes !== undefined ? wf.reminders.everyMinutes * 60_000 : defaults.remindEveryMs,
    reminders: wf?.reminders?.max ?? defaults.reminders,
    timeoutMs: wf?.timeout?.afterHours !== undefined ? wf.timeout.afterHours * 3_600_000 : defaults.timeoutMs,
    timeoutAction: wf?.timeout?.action ?? defaults.timeoutAction,
    escalateTo: members
      ? {
          emails: members.emails,
          slackUsers: members.slackUsers,
          slackChannels: [],
          slackGroups: members.slackUserGroups,
        }
      : defaults.escalateTo,
  };
}

/**
 * The providers with their keys revealed, for the one place that builds model clients (never log the result).
 * `apiKeyEnv` was resolved when the file was loaded.
 */
export function revealProviders(
  settings: Settings,
): Record<
  string,
  { baseUrl: string; apiKey?: string; supports?: { strictJsonSchema?: boolean; jsonMode?: boolean; tools?: boolean } }
> {
  const out: ReturnType<typeof revealProviders> = {};
  for (const [name, p] of Object.entries(settings.providers)) {
    const supports = p.supports
      ? Object.fromEntries(Object.entries(p.supports).filter(([, v]) => v !== undefined))
      : undefined;
    out[name] = {
      baseUrl: p.baseUrl,
      ...(p.apiKey ? { apiKey: p.apiKey.reveal() } : {}),
      ...(supports ? { supports } : {}),
    };
  }
  return out;
}

/**
 * Names in the file that no registered workflow has (a typo would otherwise route mail or a command nowhere).
 * For the composition root, once the modules are loaded; lines are shaped like ConfigError's.
 */
export function unknownWorkflowProblems(settings: Settings, registered: readonly string[], source: string): string[] {
  const known = new Set(registered);
  const hint = `registered: ${list(registered)}`;
  const lines: string[] = [];
  const check = (name: string, path: Path) => {
    if (!known.has(name))
      lines.push(`${sourceLabel(source)} ${renderPath(path)}: unknown workflow "${name}" (${hint})`);
  };
  for (const name of Object.keys(settings.workflows)) check(name, ['workflows', name]);
  for (const [i, r] of settings.routing.email.entries()) check(r.workflow, ['routing', 'email', i, 'workflow']);
  for (const [word, wf] of Object.entries(settings.routing.slack.commands))
    check(wf, ['routing', 'slack', 'commands', word]);
  return lines;
}
