import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CheckpointDoc } from '../src/store/models.js';
import { checkpointCard } from '../templates/slack/checkpoint-card.js';
import { editModal } from '../templates/slack/modals.js';
import { formBlocks, formErrors, formValues } from '../templates/slack/schema-form.js';
import { blockProblems, viewProblems } from './support/slack-blocks.js';

const editable = z.object({
  outcome: z.enum(['accept', 'reject']),
  reply: z.string().min(20).max(5_000),
  amount: z.number().positive(),
  notifyCustomer: z.boolean(),
  reference: z.string().max(100).optional(),
});
const schema = z.toJSONSchema(editable, { io: 'input' }) as Record<string, unknown>;

function checkpoint(over: Partial<CheckpointDoc> = {}): CheckpointDoc {
  const now = new Date();
  return {
    _id: 'cp_test',
    v: 1,
    runId: 'run_test',
    stepId: 'review',
    workflow: 'card-dispute',
    name: 'review',
    status: 'pending',
    version: 0,
    title: 'T'.repeat(400),
    summary: 'S'.repeat(5_000),
    evidence: Array.from({ length: 60 }, (_, i) => ({
      title: `Section ${i}`,
      items: Array.from({ length: 20 }, (_, j) => ({ label: `Item ${j}`, value: `<@U123> *bold* ${'x'.repeat(500)}` })),
    })),
    proposal: { outcome: 'accept', confidence: 0.8, rationale: 'R'.repeat(4_000) },
    editableSchema: schema,
    values: { outcome: 'accept', reply: 'Dear customer,\n'.repeat(400), amount: 10, notifyCustomer: true },
    originalValues: {},
    approvers: { emails: [], slackUsers: [], slackGroups: [], slackChannels: [] },
    quorum: { mode: 'any', required: 1 },
    approvals: [],
    timers: { remindersSent: 0, timeoutFired: false },
    audit: [],
    createdAt: now,
    updatedAt: now,
    ...over,
  };
}

describe('Slack Block Kit built from a checkpoint', () => {
  it('keeps an oversized checkpoint within Slack limits, shortening with links to the run', () => {
    const card = checkpointCard(checkpoint(), { runUrl: 'https://cs.example.com/api/runs/run_test' });
    expect(blockProblems(card.blocks, 'message')).toEqual([]);
    expect(card.blocks.length).toBeLessThanOrEqual(50);
    const text = JSON.stringify(card.blocks);
    expect(text).toContain('https://cs.example.com/api/runs/run_test');
    expect(text).not.toContain('<@U123>'); // evidence is data: no mentions or links from it
  });

  it('shows who decided, the changes, and no buttons once decided', () => {
    const cp = checkpoint({
      status: 'approved',
      approvals: [{ actor: 'a@example.com', aliases: ['UALICE'], channel: 'slack', at: new Date(), diff: [] }],
      decision: {
        decision: 'approve',
        actor: 'a@example.com',
        channel: 'slack',
        edits: { outcome: 'reject' },
        diff: [{ field: 'outcome', before: 'accept', after: 'reject' }],
        decidedAt: new Date(),
      },
    });
    const text = JSON.stringify(checkpointCard(cp, { runUrl: 'https://x/run' }).blocks);
    expect(text).toContain('Approved* by <@UALICE> via slack');
    expect(text).toContain('Outcome: accept → reject');
    expect(text).not.toContain('countersign.approve');
  });

  it('builds the edit modal from the editable schema: select, multiline, number, checkbox, optional text', () => {
    const view = editModal(checkpoint(), { checkpointId: 'cp_test', channel: 'C1' });
    expect(viewProblems(view)).toEqual([]);
    const kinds = Object.fromEntries(
      formBlocks(schema).map((b) => {
        const el = (b as { element: { type: string; multiline?: boolean } }).element;
        return [(b as { block_id: string }).block_id, el.multiline ? 'multiline' : el.type];
      }),
    );
    expect(kinds).toEqual({
      outcome: 'static_select',
      reply: 'multiline',
      amount: 'number_input',
      notifyCustomer: 'checkboxes',
      reference: 'plain_text_input',
    });
  });

  it('reads submitted values back in the schema types and maps issues to the field blocks', () => {
    const values = formValues(schema, {
      values: {
        outcome: { value: { type: 'static_select', selected_option: { value: 'reject' } } },
        reply: { value: { type: 'plain_text_input', value: 'A reply long enough to pass.' } },
        amount: { value: { type: 'number_input', value: '12.5' } },
        notifyCustomer: { value: { type: 'checkboxes', selected_options: [] } },
        reference: { value: { type: 'plain_text_input', value: null } },
      },
    });
    expect(values).toEqual({
      outcome: 'reject',
      reply: 'A reply long enough to pass.',
      amount: 12.5,
      notifyCustomer: false,
    });
    expect(
      formErrors(schema, [
        { path: 'reply', message: 'too short' },
        { path: '(root)', message: 'bad' },
      ]),
    ).toEqual({
      reply: 'too short',
      outcome: '(root): bad',
    });
  });
});
