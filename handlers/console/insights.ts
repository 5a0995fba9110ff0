import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { autonomyReport } from '../../src/autonomy/service.js';
import { svgToPng, toCsv } from '../../src/console/chart-export.js';
import { chartTable, INSIGHT_CHART_NAMES, renderInsightChart, sourcesFor } from '../../src/console/insight-charts.js';
import { INSIGHT_PERIODS, type InsightPeriodDays, loadInsights, waitingNow } from '../../src/console/insights.js';
import type { HttpDeps } from '../../src/http/deps.js';
import { insightsPage, type LiveCounts, liveCountsFragment } from '../../templates/console/insights.js';
import { consoleMessagePage } from '../../templates/console/layout.js';
import { requireRole, signedIn } from './auth.js';
import { autonomyDeps } from './evals.js';
import { etagOf, sendConsolePage, sendFragment } from './pages.js';

const PERIOD_VALUES = INSIGHT_PERIODS.map(String) as [string, ...string[]];

const filterQuery = z.strictObject({
  days: z
    .enum(PERIOD_VALUES, { error: `the period is one of ${INSIGHT_PERIODS.join(', ')} days` })
    .default('30')
    .transform((d) => Number(d) as InsightPeriodDays),
  workflow: z
    .string()
    .trim()
    .max(100)
    .optional()
    .transform((w) => w || undefined),
});
const liveQuery = filterQuery.pick({ workflow: true });
const chartFile = z.object({ file: z.string().max(100) }).transform(({ file }, ctx) => {
  const [, name, ext] = /^([a-z-]+)\.(png|csv)$/.exec(file) ?? [];
  const chart = INSIGHT_CHART_NAMES.find((n) => n === name);
  if (!chart || (ext !== 'png' && ext !== 'csv')) {
    ctx.addIssue({ code: 'custom', message: 'no such chart' });
    return z.NEVER;
  }
  return { name: chart, ext };
});

type Filter = z.output<typeof filterQuery>;

/**
 * `/insights` (viewers and up): charts of volume, time to decision, cost and agreement over 7, 30 or 90 days, the
 * autonomy boundary, and the queues now. Charts are SVG rendered on the server; each downloads as PNG and CSV
 * from the same numbers (`/insights/charts/:name.png|csv` with the page's filter).
 */
export function insightsRoutes(deps: HttpDeps): Router {
  const router = Router();
  const now = () => (deps.now ?? (() => new Date()))();
  const workflows = () =>
    deps.workflows
      .listing()
      .map((w) => w.name)
      .sort();

  /** The filter, or a 400 page naming what is wrong (nothing is read). */
  const filterOf = (
    req: Request,
    res: Response,
    schema: z.ZodType<Partial<Filter>> = filterQuery,
  ): Partial<Filter> | null => {
    const parsed = schema.safeParse(req.query);
    const unknown = parsed.success && parsed.data.workflow && !workflows().includes(parsed.data.workflow);
    if (parsed.success && !unknown) return parsed.data;
    const problem = parsed.success
      ? `There is no workflow "${parsed.data.workflow}" (registered: ${workflows().join(', ')}).`
      : parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');
    sendConsolePage(
      res,
      400,
      consoleMessagePage({
        title: 'These insights cannot be shown',
        person: signedIn(res),
        section: 'insights',
        lines: [problem, 'Choose a period of 7, 30 or 90 days and a registered workflow.'],
      }),
    );
    return null;
  };

  const liveCounts = async (workflow: string | undefined): Promise<LiveCounts> => {
    const [waiting, queues] = await Promise.all([
      waitingNow(deps.store, workflow),
      deps.console.queueDepth().then(
        (q) => ({ q, error: null }),
        (err: unknown) => {
          deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'queue depth unavailable');
          // The page names no host or address: the log has the cause.
          return { q: [], error: 'the queue server did not answer' };
        },
      ),
    ]);
    return { ...waiting, queues: queues.q, queuesError: queues.error };
  };

  router.get('/insights', requireRole('viewer'), async (req, res) => {
    const filter = filterOf(req, res);
    if (!filter) return;
    const days = filter.days ?? 30;
    const wf = filter.workflow;
    const names = [...INSIGHT_CHART_NAMES];
    const [data, live] = await Promise.all([
      loadInsights(deps.store, { days, workflow: wf, now: now() }, sourcesFor(names, Boolean(wf))),
      liveCounts(wf),
    ]);
    // The boundary of the workflows people or the policy decided in this period: 4 reads each, not 4 per registered one.
    const reports = await Promise.all(
      data.decidedWorkflows.map((workflow) => autonomyReport(autonomyDeps(deps), { workflow })),
    );
    const ok = reports.flatMap((r) => (r.ok ? [r.report] : []));
    const boundary = ok[0] ? { ...ok[0], workflows: ok.flatMap((r) => r.workflows) } : null;
    const charts = await Promise.all(names.map((n) => renderInsightChart(n, data)));
    const person = signedIn(res);
    const query = `?${new URLSearchParams({ days: String(days), ...(wf ? { workflow: wf } : {}) })}`;
    sendConsolePage(
      res,
      200,
      insightsPage({
        person,
        days,
        periods: INSIGHT_PERIODS,
        workflow: wf ?? null,
        workflows: workflows(),
        charts,
        query,
        truncated: data.truncated,
        boundary,
        live,
        liveEtag: etagOf(String(liveCountsFragment(live))),
      }),
    );
  });

  router.get('/insights/live', requireRole('viewer'), async (req, res) => {
    const filter = filterOf(req, res, liveQuery);
    if (!filter) return;
    sendFragment(req, res, liveCountsFragment(await liveCounts(filter.workflow)));
  });

  router.get('/insights/charts/:file', requireRole('viewer'), async (req, res) => {
    const file = chartFile.safeParse(req.params);
    if (!file.success) {
      sendConsolePage(
        res,
        404,
        consoleMessagePage({
          title: 'No such chart',
          person: signedIn(res),
          section: 'insights',
          lines: [`Charts: ${INSIGHT_CHART_NAMES.join(', ')}; each as .png or .csv.`],
        }),
      );
      return;
    }
    const filter = filterOf(req, res);
    if (!filter) return;
    const { name, ext } = file.data;
    const days = filter.days ?? 30;
    const wf = filter.workflow;
    const data = await loadInsights(deps.store, { days, workflow: wf, now: now() }, sourcesFor([name], Boolean(wf)));
    const base = `countersign-${name}-${days}d${wf ? `-${wf}` : ''}-${data.period.days.at(-1)}`;
    res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    if (ext === 'csv') {
      res
        .set('Content-Disposition', `attachment; filename="${base}.csv"`)
        .type('text/csv; charset=utf-8')
        .send(toCsv(chartTable(name, data)));
      return;
    }
    const chart = await renderInsightChart(name, data);
    res.set('Content-Disposition', `attachment; filename="${base}.png"`).type('image/png').send(svgToPng(chart.svg));
  });

  return router;
}
