import { describe, expect, it } from 'vitest';
import {
  completeDispute,
  createIntakeAgent,
  EMPTY_INTAKE_FIELDS,
  type IntakeInput,
  intakeOutputSchema,
} from '../agents/disputes/intake-agent.js';
import { parseAmount } from '../agents/disputes/offline-intake.js';
import { disputeResponders } from '../agents/disputes/offline-rules.js';
import { compileAgent } from '../src/agents/structured-output.js';

const agent = createIntakeAgent();
const responder = disputeResponders().find((r) => r.agent === 'dispute-intake');

async function read(partial: Partial<IntakeInput> & { text: string }) {
  const input = agent.input.parse({
    source: 'email',
    subject: null,
    sender: { email: 'ada@example.com', name: 'Ada Lovelace' },
    known: EMPTY_INTAKE_FIELDS,
    attachments: [],
    ...partial,
  });
  if (!responder) throw new Error('dispute-intake has no offline responder');
  const reply = await responder.respond({ input, messages: [], toolResults: [], availableTools: [] });
  if (!('output' in reply)) throw new Error('the intake agent called a tool');
  return intakeOutputSchema.parse(reply.output);
}

describe('dispute-intake agent', () => {
  it('compiles to a strict structured-output schema', () => {
    expect(() => compileAgent(agent)).not.toThrow();
  });

  it('reads a complete dispute from free text', async () => {
    const out = await read({
      subject: 'Charged twice',
      text: 'Hello, I was charged twice for my Pro subscription on 3 November: 49,00 € each, charge ch_1002. Please refund one.\n\n-- \nAda',
    });
    expect(out.fields).toMatchObject({
      customerEmail: 'ada@example.com',
      customerName: 'Ada Lovelace',
      chargeId: 'ch_1002',
      amount: 49,
      currency: 'EUR',
      reason: 'duplicate',
    });
    expect(out.missing).toEqual([]);
    expect(out.question).toBeNull();
    expect(completeDispute(out.fields)).toMatchObject({ ok: true, input: { chargeId: 'ch_1002', amount: 49 } });
  });

  it('asks for the charge id and keeps what the first message said when the answer arrives', async () => {
    const first = await read({
      text: 'I did not authorize the charge of $199 on my card last week. Please refund it.',
    });
    expect(first.missing).toEqual(['chargeId']);
    expect(first.question).toMatch(/charge id/);
    const second = await read({
      text: 'It is ch_2001.\n\nOn Mon, Nov 3 Countersign wrote:\n> To look into this…',
      known: first.fields,
    });
    expect(second.missing).toEqual([]);
    expect(second.fields).toMatchObject({ chargeId: 'ch_2001', amount: 199, currency: 'USD', reason: 'fraudulent' });
    expect(second.fields.description).toBe(first.fields.description);
  });

  it('reads amounts the way customers write them', () => {
    expect(parseAmount('1.234,56')).toBe(1234.56);
    expect(parseAmount('1,234.56')).toBe(1234.56);
    expect(parseAmount('49,00')).toBe(49);
    expect(parseAmount('1,234')).toBe(1234);
  });

  it('counts a value the workflow schema refuses as missing', () => {
    const result = completeDispute({ ...EMPTY_INTAKE_FIELDS, customerEmail: 'not-an-address', chargeId: 'ch_1' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.missing).toContain('customerEmail');
  });
});

describe('dispute-intake classification (offline model)', () => {
  it('reads a charge with a reason as a dispute and says which one', async () => {
    const out = await read({ text: 'I was charged twice: 49,00 € each, charge ch_1002. Please refund one of them.' });
    expect(out.kind).toBe('dispute');
    expect(out.summary).toBe('Disputes charge ch_1002, 49.00 EUR, duplicate');
  });

  it('reads a message without any word about charges as something else', async () => {
    const out = await read({ subject: 'Password', text: 'How do I reset the password of my login, please?' });
    expect(out.kind).toBe('other');
    expect(out.summary).toMatch(/^Not about a card charge: "How do I reset/);
  });

  it('calls a vague message about billing unclear', async () => {
    expect((await read({ subject: 'Invoice', text: 'Please look at my invoice.' })).kind).toBe('unclear');
    expect((await read({ text: '' })).kind).toBe('unclear');
  });

  it('keeps a conversation that established a dispute one, even for a terse answer', async () => {
    const first = await read({ text: 'I did not authorize the charge of $199 on my card last week.' });
    const answer = await read({ text: 'ch_2001', known: first.fields });
    expect([first.kind, answer.kind]).toEqual(['dispute', 'dispute']);
  });
});
