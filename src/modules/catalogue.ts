import type { Agent } from '../agents/define.js';
import type { EmailRoute } from '../channels/email/routing.js';
import { ConfigError } from '../config-error.js';
import { toJSONSchemaWithMessages } from '../engine/schema-messages.js';
import type { Workflow } from '../engine/workflow.js';
import { issuesOf } from '../errors.js';
import type { WorkflowEvalSuite } from '../evals/types.js';
import type { Responder } from '../offline-model/responder.js';
import type { SlackIntakeRoutes } from './intake.js';
import type { DemoSample, DigestSection, ModuleContext, ModuleParts, UseCaseModule } from './types.js';

/**
 * Routing an operator sets in the configuration file; it comes before the modules' defaults. The composition
 * root passes `config.settings.routing` here once the configuration file is loaded.
 */
export interface ConfiguredRouting {
  email?: EmailRoute[];
  slack?: { commands?: Record<string, string> };
}

/** One row of `GET /api/workflows` and `countersign workflows`. */
export interface WorkflowListing {
  name: string;
  description: string;
  module: string;
  inputSchema: Record<string, unknown>;
  intake: {
    webhook: boolean;
    email: { route: string; to?: string; subject?: string }[];
    slack: { commands: string[]; shortcuts: string[]; mention: boolean };
  };
}

/** A workflow an eval can run: the workflow, its module, and the suite the module declares. */
export interface EvalTarget {
  module: string;
  workflow: Workflow<unknown, unknown>;
  suite: WorkflowEvalSuite;
}

/** Every module's parts, merged: what the platform registers and which inbound event starts what. */
export interface ModuleCatalogue {
  workflows: Workflow<unknown, unknown>[];
  agents: Agent<unknown, unknown>[];
  responders: Responder[];
  emailRoutes: EmailRoute[];
  slack: SlackIntakeRoutes;
  /** Names `POST /webhooks/:workflow` may start. */
  webhooks: ReadonlySet<string>;
  demoSamples: (DemoSample & { module: string })[];
  /** The eval suites the modules declare, by workflow name (`countersign eval`). */
  evalSuites: ReadonlyMap<string, EvalTarget>;
  listing(): WorkflowListing[];
  /** Why `input` would not start the named workflow, issue by issue; empty when it would. */
  inputProblems(name: string, input: unknown): { path: string; message: string }[];
  digestSections(period: { from: Date; to: Date }): Promise<DigestSection[]>;
  seedSampleData(): Promise<void>;
}

/** Builds each module once and checks that no two claim the same workflow, word, shortcut or route name. */
export async function buildCatalogue(
  modules: readonly UseCaseModule[],
  ctx: ModuleContext,
  routing: ConfiguredRouting = {},
): Promise<ModuleCatalogue> {
  const built: { module: UseCaseModule; parts: ModuleParts }[] = [];
  const names = new Set<string>();
  for (const module of modules) {
    if (names.has(module.name)) throw new Error(`module "${module.name}" is listed twice`);
    names.add(module.name);
    built.push({ module, parts: await module.create(ctx) });
  }
  const owner = new Map<string, { module: UseCaseModule; parts: ModuleParts }>();
  for (const b of built) {
    for (const w of b.parts.workflows) {
      const other = owner.get(w.name);
      if (other)
        throw new Error(`workflow "${w.name}" is declared by modules ${other.module.name} and ${b.module.name}`);
      owner.set(w.name, b);
    }
  }
  const known = (workflow: string, where: string) => {
    if (!owner.has(workflow)) throw new Error(`${where} names workflow "${workflow}", which no module declares`);
    return workflow;
  };
  // The operator's file names workflows too: every unknown one is reported at once, as a configuration error.
  const registered = [...owner.keys()];
  const unknown = [
    ...(routing.email ?? []).flatMap((r, i) =>
      owner.has(r.workflow) ? [] : [[`routing.email[${i}].workflow`, r.workflow]],
    ),
    ...Object.entries(routing.slack?.commands ?? {}).flatMap(([word, w]) =>
      owner.has(w) ? [] : [[`routing.slack.commands.${word}`, w]],
    ),
  ];
  if (unknown.length > 0) {
    throw new ConfigError(
      unknown.map(
        ([path, w]) => `COUNTERSIGN_CONFIG ${path}: unknown workflow "${w}" (registered: ${registered.join(', ')})`,
      ),
    );
  }

  const slack: SlackIntakeRoutes = { commands: [], shortcuts: [], mention: undefined };
  for (const [word, workflow] of Object.entries(routing.slack?.commands ?? {})) {
    slack.commands.push({
      word: word.toLowerCase(),
      workflow: known(workflow, `routing.slack.commands.${word}`),
      description: `start ${workflow}`,
    });
  }
  const emailRoutes: EmailRoute[] = (routing.email ?? []).map((r, i) => ({
    ...r,
    workflow: known(r.workflow, `routing.email[${i}]`),
  }));
  const webhooks = new Set<string>();
  const demoSamples: (DemoSample & { module: string })[] = [];
  for (const { module, parts } of built) {
    const intake = parts.intake ?? {};
    const where = (field: string) => `module ${module.name} intake.${field}`;
    for (const name of intake.webhooks ?? []) webhooks.add(known(name, where('webhooks')));
    for (const c of intake.slackCommands ?? []) {
      const word = c.word.toLowerCase();
      // A configured word wins over a module's default for the same word.
      if (slack.commands.some((s) => s.word === word)) continue;
      slack.commands.push({ ...c, word, workflow: known(c.workflow, where('slackCommands')) });
    }
    for (const s of intake.slackShortcuts ?? []) {
      // handlers/slack acknowledges any other callback_id as someone else's and ignores it.
      if (!s.callbackId.startsWith('countersign.')) {
        throw new Error(`${where('slackShortcuts')}: callback_id "${s.callbackId}" must start with "countersign."`);
      }
      if (slack.shortcuts.some((x) => x.callbackId === s.callbackId)) {
        throw new Error(`${where('slackShortcuts')}: callback_id "${s.callbackId}" is already taken`);
      }
      slack.shortcuts.push({ ...s, workflow: known(s.workflow, where('slackShortcuts')) });
    }
    if (intake.slackMention && !slack.mention) {
      slack.mention = { ...intake.slackMention, workflow: known(intake.slackMention.workflow, where('slackMention')) };
    }
    for (const r of intake.email ?? []) {
      emailRoutes.push({ requireAuth: 'not-fail', ...r, workflow: known(r.workflow, where('email')) });
    }
    for (const sample of parts.demoSamples ?? []) {
      if (!webhooks.has(sample.workflow)) {
        throw new Error(`module ${module.name} demoSamples: "${sample.workflow}" is not in intake.webhooks`);
      }
      demoSamples.push({ ...sample, module: module.name });
    }
  }

  const evalSuites = new Map<string, EvalTarget>();
  for (const { module, parts } of built) {
    for (const [name, suite] of Object.entries(parts.evals ?? {})) {
      const workflow = parts.workflows.find((w) => w.name === name);
      if (!workflow) throw new Error(`module ${module.name} evals: "${name}" is not one of its workflows`);
      evalSuites.set(name, { module: module.name, workflow, suite });
    }
  }

  const listing = (): WorkflowListing[] =>
    built.flatMap(({ module, parts }) =>
      parts.workflows.map((w) => ({
        name: w.name,
        description: parts.descriptions?.[w.name] ?? module.description,
        module: module.name,
        inputSchema: toJSONSchemaWithMessages(w.input, { unrepresentable: 'any' }),
        intake: {
          webhook: webhooks.has(w.name),
          email: emailRoutes
            .filter((r) => r.workflow === w.name)
            .map((r) => ({
              route: r.name,
              ...(r.to ? { to: r.to } : {}),
              ...(r.subject ? { subject: r.subject } : {}),
            })),
          slack: {
            commands: slack.commands.filter((c) => c.workflow === w.name).map((c) => c.word),
            shortcuts: slack.shortcuts.filter((s) => s.workflow === w.name).map((s) => s.callbackId),
            mention: slack.mention?.workflow === w.name,
          },
        },
      })),
    );

  return {
    workflows: built.flatMap((b) => b.parts.workflows),
    agents: built.flatMap((b) => b.parts.agents),
    responders: built.flatMap((b) => b.parts.responders),
    emailRoutes,
    slack,
    webhooks,
    demoSamples,
    evalSuites,
    listing,
    inputProblems(name, input) {
      const workflow = built.flatMap((b) => b.parts.workflows).find((w) => w.name === name);
      if (!workflow) return [{ path: '', message: `no workflow named ${name}` }];
      const parsed = workflow.input.safeParse(input);
      return parsed.success ? [] : issuesOf(parsed.error);
    },
    async digestSections(period) {
      const sections = await Promise.all(built.map((b) => b.parts.digest?.(period) ?? null));
      return sections.filter((s): s is DigestSection => s !== null);
    },
    async seedSampleData() {
      for (const b of built) await b.parts.seedSampleData?.();
    },
  };
}
