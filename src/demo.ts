import type { App, AppOptions } from './app.js';
import { approvalLink } from './approvals/tokens.js';
import { startMailCatcher } from './channels/mail-catcher.js';
import type { Config } from './config.js';
import { SIGNATURE_HEADER, signWebhook, webhookSecretOf } from './http/signature.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `npm run demo`: Countersign with the offline model and a local mail catcher, one sample run per module (each
 * module's `demoSamples`) submitted through the signed webhook like any client would, and the approval link
 * printed once each run waits. `DEMO_WORKFLOWS=<workflow>` (comma-separated) picks which samples run.
 */
export async function runDemo(
  env: Record<string, string | undefined>,
  loadConfig: (env: Record<string, string | undefined>) => Config | number,
  createApp: (options: Omit<AppOptions, 'modules' | 'inbound'>) => Promise<App>,
): Promise<number> {
  const catcher = await startMailCatcher({
    port: Number(env.DEMO_SMTP_PORT ?? 2525),
    onMail: (m) => say(`\n✉  mail to ${m.to}: "${m.subject}"\n${indent(m.text.split('\n').slice(0, 12).join('\n'))}\n`),
  }).catch(() => startMailCatcher({ port: 0, onMail: (m) => say(`✉  mail to ${m.to}: "${m.subject}"`) }));
  const config = loadConfig({
    OFFLINE_MODEL_LATENCY_MS: '600',
    APPROVER_EMAILS: 'approver@example.com',
    CONSOLE_ADMINS: 'approver@example.com',
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
  say(`  processes: ${[...new Set(app.demoSamples.map((s) => s.module))].join(', ') || 'none with demo samples'}`);

  const wanted = (env.DEMO_WORKFLOWS ?? '')
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);
  const samples = app.demoSamples.filter((s) => wanted.length === 0 || wanted.includes(s.workflow));
  if (samples.length === 0) say(`\nNo demo sample matches DEMO_WORKFLOWS=${env.DEMO_WORKFLOWS ?? ''}.`);
  const secret = webhookSecretOf(config) ?? config.appSecret;
  for (const sample of samples) {
    const body = JSON.stringify(sample.input);
    const res = await fetch(`http://127.0.0.1:${config.port}/webhooks/${sample.workflow}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signWebhook(secret, body),
        'idempotency-key': `demo-${sample.workflow}-${Date.now()}`,
      },
      body,
    });
    if (!res.ok) {
      say(`\n${sample.module}: ${sample.workflow} refused the sample (${res.status}): ${await res.text()}`);
      continue;
    }
    const { runId } = (await res.json()) as { runId: string };
    say(`\n[${sample.module}] Submitted ${sample.label} by signed webhook → ${sample.workflow} run ${runId}`);
    say(`  the run:   curl -H 'Authorization: Bearer ${config.apiToken}' ${config.publicUrl}/api/runs/${runId}`);
    await followUntilCheckpoint(app, runId, config);
  }
  say(
    `\n  console: ${config.publicUrl}/ — sign in as approver@example.com; the sign-in link is mailed, so it appears here.`,
  );
  say('Approve, reject or edit in the console or by the links above; the emails appear here. Ctrl-C to stop.');
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
      say(`The run waits for a person. Open the approval link (approver@example.com):\n  ${link}`);
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
