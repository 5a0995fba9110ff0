/**
 * The public surface for people writing workflows and agents: everything else is internal.
 *
 * @example
 * import { defineAgent, defineTool, defineWorkflow } from 'countersign';
 */
export { agentAsTool } from './agents/as-tool.js';
export type { Agent, AgentLimits, Tool, ToolContext } from './agents/define.js';
export { defineAgent, defineTool } from './agents/define.js';
export type {
  CheckpointResult,
  CheckpointSpec,
  StepInfo,
  StepOptions,
  Workflow,
  WorkflowContext,
} from './engine/workflow.js';
export { defineWorkflow } from './engine/workflow.js';
export { NonRetryable, Retryable } from './errors.js';
