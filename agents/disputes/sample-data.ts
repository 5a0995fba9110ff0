/**
 * The sample business of the demo and the tests: Northwind Software sells subscriptions and hardware security keys.
 * Every sample dispute (samples.ts) is backed by these records, so the agents find what a real case would show.
 */

export interface Customer {
  _id: string; // the email address, lower-case
  name: string;
  country: string;
  plan: 'pro' | 'team' | 'business';
  createdAt: Date;
  emailVerified: boolean;
  /** Account signals noted by the sign-up and billing systems. */
  flags: string[];
}

export interface Charge {
  _id: string;
  customerEmail: string;
  amount: number; // major units
  currency: string;
  status: 'succeeded' | 'refunded';
  createdAt: Date;
  /** What appears on the card statement. */
  descriptor: string;
  product: string;
  card: { brand: 'visa' | 'mastercard' | 'amex'; last4: string };
  fulfillment: {
    kind: 'digital' | 'shipment';
    /** Access provisioned (digital) or carrier-confirmed delivery (shipment); null when not confirmed. */
    deliveredAt: Date | null;
    carrier: string | null;
    tracking: string | null;
  };
}

export type UsageKind = 'login' | 'export' | 'api_call' | 'seat_added' | 'settings_changed';

export interface UsageEvent {
  _id: string;
  customerEmail: string;
  at: Date;
  kind: UsageKind;
  device: string;
  ip: string;
}

export interface PriorDispute {
  _id: string;
  customerEmail: string;
  chargeId: string;
  reason: string;
  openedAt: Date;
  /** `refunded`: the customer got the money back; `upheld`: the charge stood; `withdrawn` by the customer. */
  outcome: 'refunded' | 'upheld' | 'withdrawn';
}

const d = (iso: string) => new Date(iso);

// biome-ignore format: one record per line reads as a table
export const SAMPLE_CUSTOMERS: Customer[] = [
  { _id: 'ada@example.com', name: 'Ada Lovelace', country: 'DE', plan: 'pro', createdAt: d('2023-02-14T10:00:00Z'), emailVerified: true, flags: [] },
  { _id: 'grace@example.com', name: 'Grace Hopper', country: 'US', plan: 'pro', createdAt: d('2022-06-01T15:30:00Z'), emailVerified: true, flags: [] },
  { _id: 'linus@example.com', name: 'Linus Nakamura', country: 'FI', plan: 'team', createdAt: d('2025-03-10T08:12:00Z'), emailVerified: true, flags: [] },
  { _id: 'mallory@example.com', name: 'Mallory Quinn', country: 'US', plan: 'pro', createdAt: d('2026-09-20T02:47:00Z'), emailVerified: false, flags: ['signed_up_via_vpn', 'card_changed_recently'] },
  { _id: 'bob@example.com', name: 'Bob Martin', country: 'GB', plan: 'pro', createdAt: d('2024-11-05T19:05:00Z'), emailVerified: true, flags: [] },
  { _id: 'chen@example.com', name: 'Chen Wei', country: 'SG', plan: 'business', createdAt: d('2021-01-19T04:40:00Z'), emailVerified: true, flags: ['subscription_canceled_2026-10-20'] },
  { _id: 'olga@example.com', name: 'Olga Petrova', country: 'PL', plan: 'pro', createdAt: d('2025-07-07T12:00:00Z'), emailVerified: true, flags: [] },
  { _id: 'sam@example.com', name: 'Sam Okafor', country: 'NG', plan: 'business', createdAt: d('2026-11-19T23:58:00Z'), emailVerified: false, flags: ['card_changed_recently'] },
];

type ChargeRow = [
  id: string,
  email: string,
  amount: number,
  currency: string,
  at: string,
  descriptor: string,
  product: string,
];

function digital(row: ChargeRow, last4: string, status: Charge['status'] = 'succeeded', provisioned = true): Charge {
  const [_id, customerEmail, amount, currency, at, descriptor, product] = row;
  const createdAt = d(at);
  const deliveredAt = provisioned ? new Date(createdAt.getTime() + 4_000) : null;
  const fulfillment: Charge['fulfillment'] = { kind: 'digital', deliveredAt, carrier: null, tracking: null };
  return {
    _id,
    customerEmail,
    amount,
    currency,
    status,
    createdAt,
    descriptor,
    product,
    card: { brand: 'visa', last4 },
    fulfillment,
  };
}

function shipped(row: ChargeRow, last4: string, carrier: string, tracking: string, deliveredAt: string | null): Charge {
  const fulfillment: Charge['fulfillment'] = {
    kind: 'shipment',
    deliveredAt: deliveredAt ? d(deliveredAt) : null,
    carrier,
    tracking,
  };
  return { ...digital(row, last4), card: { brand: 'mastercard', last4 }, fulfillment };
}

// biome-ignore format: one record per line reads as a table
export const SAMPLE_CHARGES: Charge[] = [
  // Ada: the November renewal went through twice, 36 seconds apart (a retry after a gateway timeout).
  digital(['ch_1001', 'ada@example.com', 49, 'EUR', '2026-11-03T09:14:05Z', 'NORTHWIND* PRO MONTHLY', 'Pro plan, monthly'], '4242'),
  digital(['ch_1002', 'ada@example.com', 49, 'EUR', '2026-11-03T09:14:41Z', 'NORTHWIND* PRO MONTHLY', 'Pro plan, monthly'], '4242'),
  digital(['ch_1003', 'ada@example.com', 49, 'EUR', '2026-10-03T09:13:58Z', 'NORTHWIND* PRO MONTHLY', 'Pro plan, monthly'], '4242'),
  digital(['ch_2001', 'grace@example.com', 199, 'USD', '2026-10-15T14:02:11Z', 'NORTHWIND* PRO ANNUAL', 'Pro plan, annual'], '1881'),
  digital(['ch_2002', 'grace@example.com', 199, 'USD', '2025-10-15T14:01:47Z', 'NORTHWIND* PRO ANNUAL', 'Pro plan, annual'], '1881'),
  digital(['ch_3001', 'linus@example.com', 89, 'EUR', '2026-11-10T07:30:00Z', 'NORTHWIND* TEAM MONTHLY', 'Team plan, monthly (5 seats)'], '5100'),
  digital(['ch_3002', 'linus@example.com', 89, 'EUR', '2026-10-10T07:30:00Z', 'NORTHWIND* TEAM MONTHLY', 'Team plan, monthly (5 seats)'], '5100'),
  digital(['ch_4001', 'mallory@example.com', 249, 'USD', '2026-11-12T03:21:09Z', 'NORTHWIND* PRO ANNUAL', 'Pro plan, annual'], '0077'),
  shipped(['ch_4002', 'mallory@example.com', 35, 'USD', '2026-10-01T01:10:00Z', 'NORTHWIND* SECURITY KEYS', 'Security key, 1-pack'], '3310', 'UPS', '1Z999AA10123456784', '2026-10-06T16:20:00Z'),
  digital(['ch_4003', 'mallory@example.com', 35, 'USD', '2026-10-20T02:02:00Z', 'NORTHWIND* PRO MONTHLY', 'Pro plan, monthly'], '3310', 'refunded'),
  shipped(['ch_5001', 'bob@example.com', 64, 'GBP', '2026-10-28T11:45:00Z', 'NORTHWIND* SECURITY KEYS', 'Security key, 2-pack'], '8210', 'Royal Mail', 'RM123456785GB', null),
  digital(['ch_5002', 'bob@example.com', 19, 'GBP', '2026-11-05T11:00:00Z', 'NORTHWIND* PRO MONTHLY', 'Pro plan, monthly'], '8210'),
  // Chen canceled on 20 October; the November renewal should not have run and never provisioned access.
  digital(['ch_6001', 'chen@example.com', 120, 'SGD', '2026-11-01T00:00:05Z', 'NORTHWIND* BUSINESS MONTHLY', 'Business plan, monthly'], '6006', 'succeeded', false),
  digital(['ch_6002', 'chen@example.com', 120, 'SGD', '2026-10-01T00:00:04Z', 'NORTHWIND* BUSINESS MONTHLY', 'Business plan, monthly'], '6006'),
  shipped(['ch_7001', 'olga@example.com', 249, 'PLN', '2026-10-18T09:00:00Z', 'NORTHWIND* SECURITY KEYS', 'Security key, 2-pack'], '7373', 'InPost', 'PL6203948576', '2026-10-22T13:37:00Z'),
  digital(['ch_8001', 'sam@example.com', 499, 'USD', '2026-11-20T00:03:00Z', 'NORTHWIND* BUSINESS ANNUAL', 'Business plan, annual'], '9911'),
];

/** `count` events, `everyHours` apart from `from`, cycling through `kinds`. */
function sessions(
  email: string,
  from: string,
  count: number,
  everyHours: number,
  device: string,
  ip: string,
  kinds: UsageKind[],
): UsageEvent[] {
  const start = d(from).getTime();
  const tag = `${email.split('@')[0]}_${from.slice(0, 10).replaceAll('-', '')}`;
  return Array.from({ length: count }, (_, i) => ({
    _id: `ev_${tag}_${i + 1}`,
    customerEmail: email,
    at: new Date(start + i * everyHours * 3_600_000),
    kind: kinds[i % kinds.length] ?? 'login',
    device,
    ip,
  }));
}

const MAC = 'MacBook Pro · Chrome';
// biome-ignore format: one series per line reads as a table
export const SAMPLE_USAGE: UsageEvent[] = [
  ...sessions('ada@example.com', '2026-10-04T08:00:00Z', 6, 96, 'ThinkPad · Firefox', '198.51.100.7', ['login', 'export']),
  ...sessions('ada@example.com', '2026-11-04T08:00:00Z', 4, 72, 'ThinkPad · Firefox', '198.51.100.7', ['login']),
  // Grace says she never authorised the annual renewal, yet kept working from her usual laptop and address.
  ...sessions('grace@example.com', '2026-10-16T13:00:00Z', 14, 60, MAC, '203.0.113.24', ['login', 'export', 'api_call']),
  ...sessions('linus@example.com', '2026-10-12T09:00:00Z', 5, 120, 'Pixel 8 · Chrome', '192.0.2.41', ['login', 'seat_added']),
  ...sessions('linus@example.com', '2026-11-12T09:00:00Z', 2, 150, 'Pixel 8 · Chrome', '192.0.2.41', ['login', 'export']),
  ...sessions('mallory@example.com', '2026-11-12T04:00:00Z', 9, 40, 'Windows · Edge', '100.64.12.9', ['login', 'export', 'api_call']),
  ...sessions('bob@example.com', '2026-11-06T18:00:00Z', 5, 48, 'iPad · Safari', '198.51.100.88', ['login']),
  ...sessions('chen@example.com', '2026-10-02T03:00:00Z', 6, 72, 'Windows · Chrome', '203.0.113.90', ['login', 'export']),
  ...sessions('olga@example.com', '2026-10-23T10:00:00Z', 3, 24, 'Linux · Firefox', '192.0.2.200', ['login', 'settings_changed']),
];

// biome-ignore format: one record per line reads as a table
export const SAMPLE_DISPUTES_HISTORY: PriorDispute[] = [
  { _id: 'dp_9001', customerEmail: 'mallory@example.com', chargeId: 'ch_4002', reason: 'not_received', openedAt: d('2026-10-09T05:00:00Z'), outcome: 'upheld' },
  { _id: 'dp_9002', customerEmail: 'mallory@example.com', chargeId: 'ch_4003', reason: 'unrecognized', openedAt: d('2026-10-25T05:30:00Z'), outcome: 'refunded' },
];
