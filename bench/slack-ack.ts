import { createHmac, randomBytes } from 'node:crypto';
import type { PhaseResult } from './report-types.js';
import { fmt, histogram, percentile } from './stats.js';

/**
 * Slack acknowledgement latency: signed Approve clicks POSTed to /slack/events at a fixed rate (open loop: a
 * click leaves every 1000/rate ms whether or not earlier ones were answered, as Slack would send them), timed
 * from the request to the HTTP response. Slack gives up after 3 s, so p99 is the number to watch.
 *
 * The app must run with SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_API_URL pointing at a Web API stand-in
 * (test/support/slack-standin.ts: `startSlackStandin()`), so the queued decisions have a Slack to talk to.
 */
export interface SlackAckOptions {
  baseUrl: string;
  signingSecret: string;
  /** Checkpoints to click on (pending or not: the acknowledgement does not wait for the decision). */
  checkpointIds: string[];
  /** Slack user ids clicking, taken in turn. */
  users: string[];
  /** Clicks per second (default 50). */
  rate?: number;
  /** Clicks in total (default 500, i.e. 10 s at 50/s). */
  clicks?: number;
}

function signedClick(secret: string, checkpointId: string, user: string) {
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), team_id: 'T0BENCH' },
    api_app_id: 'A0BENCH',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'CBENCH', is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomBytes(6).toString('hex')}`,
    team: { id: 'T0BENCH', domain: 'bench' },
    channel: { id: 'CBENCH', name: 'bench' },
    actions: [
      {
        action_id: 'countersign.approve',
        block_id: 'countersign.decide',
        value: checkpointId,
        type: 'button',
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const ts = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': signature,
    },
  };
}

export async function measureSlackAck(
  o: SlackAckOptions,
): Promise<PhaseResult & { samplesMs: number[]; failures: number }> {
  const rate = o.rate ?? 50;
  const clicks = o.clicks ?? 500;
  const samples: number[] = [];
  let failures = 0;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < clicks; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const { body, headers } = signedClick(
      o.signingSecret,
      o.checkpointIds[i % o.checkpointIds.length] ?? '',
      o.users[i % o.users.length] ?? 'UBENCH',
    );
    const t0 = performance.now();
    inFlight.push(
      fetch(`${o.baseUrl}/slack/events`, { method: 'POST', headers, body }).then(
        async (res) => {
          await res.arrayBuffer();
          if (res.status === 200) samples.push(performance.now() - t0);
          else failures++;
        },
        () => {
          failures++;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  const over3s = samples.filter((s) => s >= 3_000).length;
  return {
    samplesMs: samples,
    failures,
    rows: [
      {
        metric: 'Slack ack p50',
        value: fmt(percentile(samples, 50)),
        unit: 'ms',
        notes: `${rate} signed clicks/s, ${clicks} clicks`,
      },
      {
        metric: 'Slack ack p99',
        value: fmt(percentile(samples, 99)),
        unit: 'ms',
        notes: `Slack's limit is 3,000 ms; ${over3s} over it`,
      },
      {
        metric: 'Slack ack failures',
        value: String(failures),
        unit: 'requests',
        notes: 'non-200 answers or network errors',
      },
    ],
    charts: [histogram('Slack acknowledgement latency', samples, 'ms')],
  };
}
