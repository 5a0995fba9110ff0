import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { type App, createApp } from './app.js';
import { approvalLink } from './approvals/tokens.js';
import { startMailCatcher } from './channels/mail-catcher.js';
import type { Config } from './config.js';
import { SIGNATURE_HEADER, signWebhook, webhookSecretOf } from './http/signature.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `npm run demo`: Countersign with the offline model and a local mail catcher, one sample dispute submitted
 * through the signed webhook like any client would, and the approval link printed once the run waits.
 */
export async function runDemo(
  env: Record<string, string | undefined>,
  loadConfig: (env: Record<string, string | undefined>) => Config | number,
): Promise<number> {
  const catcher = await startMailCatcher({
    port: Number(env.DEMO_SMTP_PORT ?? 2525),
    onMail: (m) => say(`\n✉  mail to ${m.to}: "${m.subject}"\n${indent(m.text.split('\n').slice(0, 12).join('\n'))}\n`),
  }).catch(() => startMailCatcher({ port: 0, onMail: (m) => say(`✉  mail to ${m.to}: "${m.subject}"`) }));
  const config = loadConfig({
    OFFLINE_MODEL_LATENCY_MS: '600',
    APPROVER_EMAILS: 'approver@example.com',
    LOG_LEVEL: 'warn',
    ...env,
    COUNTERSIGN_DEMO: '1',
    SMTP_URL: env.SMTP_URL ?? catcher.url,
  });
  if (typeof config === 'number') return config;
  const app = await createApp({ config, seedSampleData: true });
  await app.listen();
  app.startWorkers();
  say(
    `Countersign demo on ${config.publicUrl} (model: ${config.modelName === 'offline' ? 'the offline model' : config.modelName})`,
  );
  say(`  mail catcher: ${catcher.url} (emails are printed here)`);

  const body = JSON.stringify(SAMPLE_DISPUTES.needsReview);
  const secret = webhookSecretOf(config) ?? config.appSecret;
  const res = await fetch(`http://127.0.0.1:${config.port}/webhooks/card-dispute`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [SIGNATURE_HEADER]: signWebhook(secret, body),
      'idempotency-key': `demo-${Date.now()}`,
    },
    body,
  });
  const { runId } = (await res.json()) as { runId: string };
  say(`\nSubmitted a sample dispute by signed webhook → run ${runId}`);
  say(`  dashboard: ${config.publicUrl}/`);
  say(`  the run:   curl -H 'Authorization: Bearer ${config.apiToken}' ${config.publicUrl}/api/runs/${runId}`);
  await followUntilCheckpoint(app, runId, config);
  return new Promise((resolve) => {
    const stop = () => {
      say('\nstopping…');
      app
        .close()
        .then(() => catcher.close())
        .then(
          () => resolve(0),
          () => resolve(1),
        );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

async function followUntilCheckpoint(app: App, runId: string, config: Config) {
  const shown = new Set<string>();
  for (;;) {
    const run = await app.engine.getRun(runId);
    if (!run) return;
    for (const step of run.steps) {
      const key = `${step.id}:${step.status}`;
      if (shown.has(key) || step.status === 'queued') continue;
      shown.add(key);
      say(`  · ${step.name.padEnd(20)} ${step.status}`);
    }
    const pending = run.checkpoints.find((c) => c.status === 'pending');
    if (pending) {
      const link = approvalLink(config.publicUrl, config.appSecret, {
        checkpointId: pending.id,
        recipient: 'approver@example.com',
      });
      say(`\nThe run waits for a person. Open the approval link (approver@example.com):\n  ${link}`);
      say('Approve, reject or edit the reply there; the customer email appears here. Ctrl-C to stop.');
      return;
    }
    if (run.status === 'completed' || run.status === 'failed') {
      say(`run ${run.status}${run.error ? `: ${run.error.message}` : ''}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function indent(text: string) {
  return text
    .split('\n')
    .map((l) => `   │ ${l}`)
    .join('\n');
}
