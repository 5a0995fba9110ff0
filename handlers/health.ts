import { Router } from 'express';
import type { DependencyHealth } from '../src/dependency-health.js';
import type { HttpDeps } from '../src/http/deps.js';
import { countPendingCheckpoints, pingStore } from '../src/http/probes.js';
import { recordDependencyStatus } from '../src/metrics.js';

const PING_TIMEOUT_MS = 2_000;

/** Resolves to 'ok' or 'error: …'; never rejects and never waits longer than the timeout. */
async function probe(ping: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([ping(), timeout]);
    return 'ok';
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Connection errors can echo a URI; credentials in it must not reach an unauthenticated endpoint.
    return `error: ${message.replace(/\/\/[^@/\s]*@/g, '//***@').slice(0, 200)}`;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Tells the monitor what the pings found (a load balancer's probe is evidence too) and names each dependency
 * down with the length of its outage, as the monitor has seen it.
 */
function outagesOf(health: DependencyHealth, answers: { mongo: string; redis: string }) {
  for (const dependency of ['mongo', 'redis'] as const) {
    const answer = answers[dependency];
    if (answer === 'ok') health.markUp(dependency);
    else health.markDown(dependency, answer.slice('error: '.length));
  }
  const down: Record<string, { since: string; seconds: number }> = {};
  for (const [dependency, state] of Object.entries(health.status())) {
    if (state.up || !state.downSince) continue;
    down[dependency] = { since: state.downSince.toISOString(), seconds: Math.round((state.downForMs ?? 0) / 1000) };
  }
  return Object.keys(down).length > 0 ? { down } : {};
}

/** `/healthz` for load balancers and `/metrics` for Prometheus. */
export function healthRoutes(deps: HttpDeps): Router {
  const router = Router();

  router.get('/healthz', async (_req, res) => {
    const [mongo, redis] = await Promise.all([probe(() => pingStore(deps.store)), probe(() => deps.redis.ping())]);
    const down = deps.health ? outagesOf(deps.health, { mongo, redis }) : {};
    res
      .status(mongo === 'ok' && redis === 'ok' ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ mongo, redis, ...down });
  });

  router.get('/metrics', async (_req, res) => {
    const status = deps.health?.status();
    if (status) recordDependencyStatus(deps.metrics, status);
    // While the store is known to be down the count would only wait out a driver timeout; the last one stays.
    if (status?.mongo.up !== false) {
      try {
        deps.metrics.pendingCheckpoints.set(await countPendingCheckpoints(deps.store));
      } catch (err) {
        // A scrape still reports everything else when the store is down; /healthz says what is wrong.
        res.locals.log?.warn({ err }, 'could not count pending checkpoints');
      }
    }
    res.set('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  return router;
}
