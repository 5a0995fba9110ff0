import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { approvalLink } from '../src/approvals/tokens.js';
import { readableIssues, toJSONSchemaWithMessages } from '../src/engine/schema-messages.js';
import { hasPendingCheckpoint } from './support/app.js';
import { PEOPLE, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { blockActions, slashCommand, viewSubmission } from './support/slack-payloads.js';
import { register, signOffWorkflow } from './support/slack-workflows.js';

/** The dispute workflow's own words for a reply that is too short (agents/disputes/workflow.ts). */
const TOO_SHORT = 'Write at least a short paragraph to the customer (20 characters or more)';

/** What zod alone would have said; no person should ever read it. */
const ZOD_GENERIC = /Too small|expected string|Invalid input/;

describe('validation messages through the JSON Schema round trip', () => {
  const rebuiltIssues = (schema: Record<string, unknown>, input: Record<string, unknown>) => {
    const parsed = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(input);
    return parsed.success ? [] : readableIssues(schema, parsed.error.issues, input);
  };

  it('carries custom messages under errorMessage and gives them back for the rule that failed', () => {
    const schema = toJSONSchemaWithMessages(
      z.object({
        outcome: z.enum(['accept', 'reject'], 'Choose accept or reject'),
        reply: z.string().min(20, 'Write at least a short paragraph').max(50, 'Keep it short'),
        amount: z.number().positive('A refund is more than nothing'),
      }),
    );
    expect((schema.properties as Record<string, { errorMessage?: unknown }>).reply?.errorMessage).toEqual({
      minLength: 'Write at least a short paragraph',
      maxLength: 'Keep it short',
    });
    expect(rebuiltIssues(schema, { outcome: 'maybe', reply: 'short', amount: 0 })).toEqual([
      { path: 'outcome', message: 'Choose accept or reject' },
      { path: 'reply', message: 'Write at least a short paragraph' },
      { path: 'amount', message: 'A refund is more than nothing' },
    ]);
    expect(rebuiltIssues(schema, { outcome: 'accept', reply: 'x'.repeat(51), amount: 1 })).toEqual([
      { path: 'reply', message: 'Keep it short' },
    ]);
  });

  it('says what is wrong in plain words, naming the field, when the schema has no messages of its own', () => {
    const schema = toJSONSchemaWithMessages(
      z.object({
        reply: z.string().min(20),
        customerEmail: z.email(),
        refundAmount: z.number().max(100).meta({ title: 'Refund' }),
        outcome: z.enum(['accept', 'reject']),
      }),
    );
    const issues = rebuiltIssues(schema, { reply: 'short', customerEmail: 'nope', refundAmount: 500 });
    expect(issues).toEqual([
      { path: 'reply', message: 'Reply must be at least 20 characters' },
      { path: 'customerEmail', message: 'Customer email must be an email address' },
      { path: 'refundAmount', message: 'Refund must be at most 100' },
      { path: 'outcome', message: 'Outcome is required' },
    ]);
  });

  it('reads checkpoints stored before messages were carried (the frozen v1 fixture) with the plain fallback', () => {
    const text = readFileSync(new URL('./fixtures/v1/waiting-at-review/checkpoints.json', import.meta.url), 'utf8');
    const [frozen] = JSON.parse(text) as { editableSchema: Record<string, unknown> }[];
    const schema = frozen?.editableSchema ?? {};
    expect(JSON.stringify(schema)).not.toContain('errorMessage');
    expect(rebuiltIssues(schema, { outcome: 'accept', reply: 'Too short' })).toEqual([
      { path: 'reply', message: 'Reply must be at least 20 characters' },
    ]);
  });
});

describe('where people see them', () => {
  let t: SlackTestApp;
  const note = 'validation-note';

  beforeAll(async () => {
    t = await startSlackTestApp({ label: 'validmsg' });
    register(t.app, signOffWorkflow(note, {}));
  });
  afterAll(async () => {
    await t?.close();
  });

  let n = 0;
  async function pendingDispute() {
    n++;
    return t.startDispute({ ...SAMPLE_DISPUTES.needsReview, customerEmail: `valid-${n}@example.com` });
  }

  /** Opens the Edit modal from the checkpoint's card and returns a function that submits it. */
  async function editModal(checkpointId: string) {
    const card = await t.card(checkpointId);
    const before = t.slack.callsTo('views.open').length;
    await t.interact(
      blockActions({
        user: PEOPLE.alice.id,
        actionId: 'countersign.edit',
        value: checkpointId,
        channel: card.channel,
        messageTs: card.ts,
      }),
    );
    const open = await t.slack.waitFor(() => t.slack.callsTo('views.open').slice(before)[0]);
    const view = open.args.view as { private_metadata: string };
    return async (values: Record<string, Record<string, Record<string, unknown>>>) => {
      const res = await t.interact(
        viewSubmission({
          user: PEOPLE.alice.id,
          callbackId: 'countersign.edit',
          privateMetadata: view.private_metadata,
          values,
        }),
      );
      return (await res.json()) as { response_action: string; errors?: Record<string, string> };
    };
  }

  it("shows the dispute workflow's own message in the Slack edit modal", async () => {
    const { checkpoint } = await pendingDispute();
    const submit = await editModal(checkpoint._id);
    // Slack would check min_length in its own words; the workflow wrote its own, so the server says it instead.
    const view = t.slack.callsTo('views.open').at(-1)?.args.view as {
      blocks: { block_id?: string; element?: object }[];
    };
    const reply = view.blocks.find((b) => b.block_id === 'reply');
    expect(reply?.element).toMatchObject({ type: 'plain_text_input', multiline: true });
    expect(reply?.element).not.toHaveProperty('min_length');
    const answer = await submit({
      outcome: { value: { type: 'static_select', selected_option: { value: 'accept' } } },
      reply: { value: { type: 'plain_text_input', value: 'Too short' } },
    });
    expect(answer).toEqual({ response_action: 'errors', errors: { reply: TOO_SHORT } });
  });

  it('shows a readable sentence in the Slack edit modal when the workflow wrote no message', async () => {
    const { runId } = await t.app.engine.startRun({
      workflow: note,
      input: { title: 'A sign-off' },
      source: { channel: 'api' },
    });
    const run = await t.waitForRun(runId, hasPendingCheckpoint);
    const submit = await editModal(run.checkpoints[0]?.id ?? '');
    const answer = await submit({ note: { value: { type: 'plain_text_input', value: 'no' } } });
    expect(answer).toEqual({ response_action: 'errors', errors: { note: 'Note must be at least 3 characters' } });
  });

  it("shows the workflow's own message on the web approval form and keeps what was typed", async () => {
    const { checkpoint } = await pendingDispute();
    const link = approvalLink(t.app.config.publicUrl, t.app.config.appSecret, {
      checkpointId: checkpoint._id,
      recipient: PEOPLE.bob.email,
    });
    const res = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        decision: 'approve',
        'edit.outcome': 'accept',
        'edit.reply': 'Too short',
      }).toString(),
    });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain(`<div class="error" role="alert">${TOO_SHORT}</div>`);
    expect(page).not.toMatch(ZOD_GENERIC);
    expect(page).toContain('Too short</textarea>');
    expect((await t.app.engine.getCheckpoint(checkpoint._id))?.status).toBe('pending');
  });

  it("answers the API's 400 with the workflow's own message per field", async () => {
    const { checkpoint } = await pendingDispute();
    const res = await t.api(`/api/checkpoints/${checkpoint._id}/decision`, {
      decision: 'approve',
      actor: 'lead@example.com',
      edits: { reply: 'Too short', outcome: 'maybe' },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { path: string; message: string }[] };
    expect(body.issues).toEqual([
      { path: 'outcome', message: 'Choose accept (refund the customer) or reject (the charge stands)' },
      { path: 'reply', message: TOO_SHORT },
    ]);
  });

  it("shows the input schema's own words, or a sentence naming the field, in the Slack intake modal", async () => {
    const before = t.slack.callsTo('views.open').length;
    await t.command(slashCommand({ user: PEOPLE.alice.id, channel: 'CAPPROVALS', text: 'dispute' }));
    const open = await t.slack.waitFor(() => t.slack.callsTo('views.open').slice(before)[0]);
    const view = open.args.view as { private_metadata: string };
    const d = SAMPLE_DISPUTES.needsReview;
    const res = await t.interact(
      viewSubmission({
        user: PEOPLE.alice.id,
        callbackId: 'countersign.intake',
        privateMetadata: view.private_metadata,
        values: {
          customerEmail: { value: { type: 'plain_text_input', value: 'intake@example.com' } },
          chargeId: { value: { type: 'plain_text_input', value: 'order-17' } },
          amount: { value: { type: 'plain_text_input', value: String(d.amount) } },
          currency: { value: { type: 'plain_text_input', value: d.currency } },
          reason: { value: { type: 'plain_text_input', value: d.reason } },
        },
      }),
    );
    const answer = (await res.json()) as { response_action: string; errors: Record<string, string> };
    expect(answer.response_action).toBe('errors');
    expect(answer.errors).toEqual({
      chargeId: 'a charge id like "ch_1001"',
      description: 'Description is required',
    });
  });
});
