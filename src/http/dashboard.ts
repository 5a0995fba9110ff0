import { Router } from 'express';
import { formatWhen, html, layout } from '../../templates/layout.js';
import type { RunView } from '../engine/types.js';
import type { HttpDeps } from './deps.js';
import { sendPage } from './pages.js';

/**
 * A first dashboard: recent runs with their status. It is unauthenticated, so it shows only ids, workflow
 * names, statuses and times, never run input (customer data) or outputs.
 */
function dashboardPage(runs: RunView[]): string {
  const pending = (r: RunView) => r.checkpoints.filter((c) => c.status === 'pending').length;
  return layout({
    title: 'Runs',
    body: html`<h1>Countersign</h1><p class="muted">The ${runs.length} most recent runs. Details: <code>GET /api/runs/:id</code> with the API token.</p>
${
  runs.length === 0
    ? html`<p>No runs yet. Start one with a signed <code>POST /webhooks/:workflow</code>.</p>`
    : html`<table><thead><tr><th>Run</th><th>Workflow</th><th>Status</th><th>Waiting on people</th><th>Started</th><th>Updated</th></tr></thead><tbody>${runs.map(
        (r) =>
          html`<tr><td><a href="/api/runs/${encodeURIComponent(r.id)}">${r.id}</a></td><td>${r.workflow}</td><td>${r.status}</td><td>${pending(r) || ''}</td><td>${formatWhen(new Date(r.createdAt))}</td><td>${formatWhen(new Date(r.updatedAt))}</td></tr>`,
      )}</tbody></table>`
}`,
  });
}

export function dashboardRoutes(deps: HttpDeps): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    sendPage(res, 200, dashboardPage(await deps.engine.listRuns({ limit: 50 })));
  });
  return router;
}
