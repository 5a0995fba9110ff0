/** The offline model: a local OpenAI-compatible server that plays agents from rules (demo and tests). */
export type { ServerSupport } from './complete.js';
export type { FaultControl, FaultKind, FaultSpec } from './faults.js';
export { type Clause, honouredRules, missingMarkers } from './instructions.js';
export type { ChatMessage } from './protocol.js';
export type { Reply, Responder, RespondRequest, ToolResult } from './responder.js';
export { type OfflineModel, type OfflineModelOptions, startOfflineModel } from './server.js';
export { askForTools, type ToolCall, type ToolResultSchemas, toolResultReader } from './tools.js';
