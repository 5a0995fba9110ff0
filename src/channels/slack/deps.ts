import type { App as BoltApp } from '@slack/bolt';
import type { Logger } from 'pino';
import type { AgentRunner } from '../../agents/define.js';
import type { Engine } from '../../engine/types.js';
import type { WorkflowRegistry } from '../../engine/workflow.js';
import type { SlackIntakeRoutes } from '../../modules/intake.js';
import type { Store } from '../../store/models.js';
import type { SlackCollections } from './collections.js';
import type { Outbox } from './outbox.js';
import type { People } from './people.js';

/** Work that must not hold up Slack's 3-second acknowledgement; each kind is handled in handlers/slack/. */
export type SlackJob =
  | { kind: 'decide'; checkpointId: string; decision: 'approve' | 'reject'; user: string; channel?: string }
  | { kind: 'mention'; channel: string; ts: string; threadTs?: string; user: string; text: string; mention: boolean }
  | { kind: 'home'; user: string };

/** What Slack's inbound handlers may use, handed in by createSlackIntegration. */
export interface SlackHandlerDeps {
  engine: Engine;
  workflows: WorkflowRegistry;
  store: Store;
  db: SlackCollections;
  outbox: Outbox;
  people: People;
  runner: AgentRunner;
  /** Which `/countersign` words, message shortcuts and thread mentions start which workflow (from the modules). */
  intake: SlackIntakeRoutes;
  logger: Logger;
  /** `delayMs` and `jobId`: a job kept as a safety net for work done at once (see handlers/slack/actions.ts). */
  enqueue(job: SlackJob, options?: { delayMs?: number; jobId?: string }): Promise<void>;
  /** Withdraws a safety-net job once the work it covered is done. */
  withdraw(jobId: string): Promise<boolean>;
  /** Appends a line to a checkpoint's audit (a refused click, say) without touching the checkpoint itself. */
  audit(
    cp: { _id: string; runId: string },
    entry: { at: Date; actor: string; channel: string; outcome: string; detail?: string },
  ): Promise<void>;
  runUrl(runId: string): string;
  now(): Date;
  approvalsChannel: string | undefined;
  /** Channels whose mentions start the mention workflow; empty = any channel the bot was invited to. */
  intakeChannels: string[];
}

/** Slack's inbound listeners (handlers/slack/), handed to the platform by the composition root. */
export interface SlackInbound {
  /** Registers every listener on a Bolt app (HTTP receiver or Socket Mode). */
  register(app: BoltApp, deps: SlackHandlerDeps): void;
  /** The queued half of Slack requests, run by the `slack` worker. */
  handleJob(deps: SlackHandlerDeps, job: SlackJob, jobId?: string): Promise<void>;
}
