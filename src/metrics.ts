import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DependencyStatus } from './dependency-health.js';

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
    dependencyUp: new Gauge({
      name: 'countersign_dependency_up',
      help: 'Whether the dependency (mongo, redis) answers: 1 or 0 (sampled at scrape)',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
    dependencyDownSeconds: new Gauge({
      name: 'countersign_dependency_down_seconds',
      help: 'Length of the current outage of the dependency, 0 while it answers (sampled at scrape)',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
    dependencyOutages: new Counter({
      name: 'countersign_dependency_outages_total',
      help: 'Outages of the dependency seen by this process',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
    reconcilerRestored: new Counter({
      name: 'countersign_reconciler_restored_total',
      help: 'Work the reconciler restored (a lost job, a stranded step, a missed timer), by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
  };
  return m;
}

/** Sets the dependency gauges from the monitor's view, just before a scrape reads them. */
export function recordDependencyStatus(metrics: Metrics, status: DependencyStatus): void {
  for (const [dependency, state] of Object.entries(status)) {
    metrics.dependencyUp.set({ dependency }, state.up ? 1 : 0);
    metrics.dependencyDownSeconds.set({ dependency }, state.up ? 0 : (state.downForMs ?? 0) / 1000);
  }
}

export type Metrics = ReturnType<typeof createMetrics>;
