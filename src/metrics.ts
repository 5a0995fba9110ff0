import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per process, built by the composition root and passed to whoever records. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'countersign_' });
  const m = {
    registry,
    runsStarted: new Counter({
      name: 'countersign_runs_started_total',
      help: 'Runs created, by workflow and inbound channel',
      labelNames: ['workflow', 'channel'] as const,
      registers: [registry],
    }),
    runsFinished: new Counter({
      name: 'countersign_runs_finished_total',
      help: 'Runs that reached a final status',
      labelNames: ['workflow', 'status'] as const,
      registers: [registry],
    }),
    runPasses: new Histogram({
      name: 'countersign_run_pass_seconds',
      help: 'Duration of one run pass (journal replay and dispatch)',
      labelNames: ['workflow'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    agentSteps: new Histogram({
      name: 'countersign_agent_step_seconds',
      help: 'Duration of agent steps',
      labelNames: ['agent', 'outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    decisions: new Counter({
      name: 'countersign_decisions_total',
      help: 'Checkpoint decisions that took effect, by channel and decision',
      labelNames: ['channel', 'decision'] as const,
      registers: [registry],
    }),
    decisionsRefused: new Counter({
      name: 'countersign_decisions_refused_total',
      help: 'Decision attempts refused (already decided, not authorised, invalid edits)',
      labelNames: ['channel', 'reason'] as const,
      registers: [registry],
    }),
    modelTokens: new Counter({
      name: 'countersign_model_tokens_total',
      help: 'Model tokens by model and kind (input, output, cached)',
      labelNames: ['model', 'kind'] as const,
      registers: [registry],
    }),
    modelCostUsd: new Counter({
      name: 'countersign_model_cost_usd_total',
      help: 'Estimated model cost in US dollars',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'countersign_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    pendingCheckpoints: new Gauge({
      name: 'countersign_pending_checkpoints',
      help: 'Checkpoints waiting for a person (sampled at scrape)',
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
