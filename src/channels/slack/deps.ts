import type { Logger } from 'pino';
import type { IntakeAgent } from '../../../agents/disputes/intake-agent.js';
import type { AgentRunner } from '../../agents/define.js';
import type { Engine } from '../../engine/types.js';
import type { WorkflowRegistry } from '../../engine/workflow.js';
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
  intakeAgent: IntakeAgent;
  logger: Logger;
  enqueue(job: SlackJob): Promise<void>;
  runUrl(runId: string): string;
  now(): Date;
  approvalsChannel: string | undefined;
  /** Channels whose mentions start disputes; empty = any channel the bot was invited to. */
  intakeChannels: string[];
}
