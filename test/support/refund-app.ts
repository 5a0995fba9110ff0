import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { disputesModule } from '../../agents/disputes/module.js';
import { type BillingStandin, startBillingStandin } from '../../agents/refunds/billing/standin.js';
import { createRefundsModule } from '../../agents/refunds/module.js';
import { toMinorUnits } from '../../agents/refunds/money.js';
import { sampleBusiness } from '../../agents/refunds/sample-data.js';
import type { UseCaseModule } from '../../src/modules/types.js';
import type { TestApp } from './app.js';

/** The billing provider stand-in, holding the charges of today's sample business so its orders can be refunded. */
export function startSampleBilling(): Promise<BillingStandin> {
  return startBillingStandin({
    charges: sampleBusiness(new Date()).orders.map((o) => ({
      id: o.chargeId,
      amountMinor: toMinorUnits(o.amount, o.currency),
      currency: o.currency,
    })),
  });
}

/** Both modules of one deployment, the refund module paying through `billing` over real HTTP. */
export const refundDeployment = (billing: BillingStandin): UseCaseModule[] => [
  disputesModule,
  createRefundsModule({ billing: { baseUrl: billing.baseUrl, apiKey: billing.apiKey } }),
];

/** Writes `settings` as an operator's countersign.json in a fresh temporary directory; returns its path. */
export function writeSettingsFile(label: string, settings: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), `countersign-${label}-`)), 'countersign.json');
  writeFileSync(path, JSON.stringify(settings));
  return path;
}

/** Starts a refund request through its webhook and returns the run id. */
export async function startRefund(t: TestApp, input: unknown): Promise<string> {
  const res = await t.webhook('refund-request', input);
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}
