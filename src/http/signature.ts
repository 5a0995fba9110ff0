import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';

export const SIGNATURE_HEADER = 'x-countersign-signature';

/**
 * The secret that signs webhooks: WEBHOOK_SECRET; in demo mode without one, APP_SECRET (the demo's fixed
 * secret), so `npm run demo` can post a sample without more setup. Outside demo mode, no WEBHOOK_SECRET
 * means webhooks are switched off rather than accepted unsigned.
 */
export function webhookSecretOf(config: Config): string | undefined {
  return config.webhookSecret ?? (config.demo ? config.appSecret : undefined);
}

/** `sha256=<hex>` as a sender computes it; exported for the demo, tests and client examples. */
export function signWebhook(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of the signature header against the raw body. */
export function webhookSignatureMatches(secret: string, body: Buffer, header: string | undefined): boolean {
  if (header === undefined) return false;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1].toLowerCase(), 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(given, expected);
}
