import type { Logger } from 'pino';
import type { Agent, AgentRunner } from '../agents/define.js';
import type { EmailStore } from '../channels/email/store.js';
import type { ThreadMail } from '../channels/email/thread-mail.js';
import type { Mailer } from '../channels/mailer.js';
import type { SlackHandlerDeps } from '../channels/slack/deps.js';
import type { Config } from '../config.js';
import type { Clock } from '../engine/deps.js';
import type { Failpoints } from '../engine/failpoints.js';
import type { Engine } from '../engine/types.js';
import type { Workflow } from '../engine/workflow.js';
import type { WorkflowEvalSuite } from '../evals/types.js';
import type { Responder } from '../offline-model/responder.js';
import type { IndexSpec } from '../store/indexes.js';
import type { Store } from '../store/models.js';
import type { SlackCommandIntake, SlackShortcutIntake } from './intake.js';

export type { SlackCommandIntake, SlackShortcutIntake } from './intake.js';

/**
 * A use case (one approval process: the built-in ones, the process a team writes next) as one folder under `agents/`.
 * The folder exports a `UseCaseModule`; the composition root loads a list of them and the platform under `src/`
 * never names one. Everything a process brings is declared here: workflows, agents, offline-model responders,
 * intake adapters, its digest section and sample data.
 */
export interface UseCaseModule {
  /** Folder-like name, e.g. `disputes`; unique in a deployment. */
  readonly name: string;
  /** One sentence for `countersign workflows` and `GET /api/workflows`. */
  readonly description: string;
  /** Builds the module's parts from what the platform hands it. Called once per app. */
  create(ctx: ModuleContext): ModuleParts | Promise<ModuleParts>;
  /**
   * Indexes of the module's own collections, built at startup beside the platform's (src/store/indexes.ts): every
   * query the module sends must be served by one, which test/store-indexes.test.ts checks.
   */
  readonly indexes?: readonly IndexSpec[];
}

/** What the platform hands a module: connections and clients, never a global. */
export interface ModuleContext {
  config: Config;
  store: Store;
  mailer: Mailer;
  logger: Logger;
  clock: Clock;
  failpoints: Failpoints;
  /** The engine is built from the modules' workflows, so it is read lazily (inside steps, never at create time). */
  engine(): Engine;
  /** Built after the offline model, which needs every module's responders first: read it lazily too. */
  runner(): AgentRunner;
  /** Email threads: the platform's mail store and the thread-aware sender (receipts, questions, replies). */
  email: { store: EmailStore; threadMail: ThreadMail };
  /** Slack, when SLACK_BOT_TOKEN is set; built after the engine, so read lazily. */
  slack(): SlackHandlerDeps | undefined;
}

export interface ModuleParts {
  workflows: Workflow<unknown, unknown>[];
  agents: Agent<unknown, unknown>[];
  /** Offline-model rules for the module's agents (demo and tests, no network). */
  responders: Responder[];
  intake?: ModuleIntake;
  /** A section of the manager digest for the period. */
  digest?(period: { from: Date; to: Date }): Promise<DigestSection | null>;
  /** Seeds the sample business data the module's agents read (demo, tests, bench). Idempotent. */
  seedSampleData?(): Promise<void>;
  /** One sentence per workflow name, for `GET /api/workflows` and `countersign workflows`; else the module's. */
  descriptions?: Record<string, string>;
  /** Inputs `npm run demo` submits by signed webhook, one run each (the workflow must be in `intake.webhooks`). */
  demoSamples?: DemoSample[];
  /** Eval suites by workflow name: hand-written cases, the reply rubric, extra scorers (`countersign eval`). */
  evals?: Record<string, WorkflowEvalSuite>;
}

export interface DemoSample {
  workflow: string;
  /** Shown by the demo, e.g. `a card dispute that needs review`. */
  label: string;
  input: unknown;
}

/** Which inbound events start the module's workflows. */
export interface ModuleIntake {
  /** Workflows that `POST /webhooks/:workflow` may start (by name). */
  webhooks?: string[];
  /** Words after `/countersign` that open a workflow's intake form, e.g. `{ word: 'expense', workflow: 'expense-claim' }`. */
  slackCommands?: SlackCommandIntake[];
  /** Message shortcuts (`callback_id`) that turn a Slack message into a workflow's intake form. */
  slackShortcuts?: SlackShortcutIntake[];
  /**
   * Default email routes to the module's workflows (input: the platform's `InboundEmail`); the configuration
   * file's routing comes first. `to` is an address, `@domain` or `local@`; `subject` a case-insensitive regex.
   */
  email?: { name: string; workflow: string; to?: string; subject?: string; requireAuth?: 'not-fail' | 'pass' }[];
  /**
   * The workflow a mention of the bot in a channel thread starts (one per thread; the first module that declares
   * one wins). Its input is `{ channel, threadTs, ts, user, text }`; `intakeWord` is suggested once it closes.
   */
  slackMention?: { workflow: string; intakeWord?: string };
}

export interface DigestSection {
  title: string;
  /** Label and value rows, plain text (templates escape them). */
  rows: { label: string; value: string }[];
}
