/**
 * The sample business behind refund requests: Larkspur Coffee Co. sells grinders, espresso machines and coffee
 * subscriptions. Every sample request (samples.ts) is backed by these records.
 *
 * Dates are written relative to the day the data is seeded (midnight UTC), so "delivered 12 days ago" stays true
 * whenever the demo runs; seeding twice on one day writes the same documents.
 */

export interface Account {
  _id: string; // the email address, lower-case
  name: string;
  customerSince: Date;
  /** What the customer has paid us in total, net of refunds, in `currency`. */
  lifetimeValue: number;
  currency: string;
}

export interface Order {
  _id: string;
  customerEmail: string;
  /** The provider's charge the refund goes against. */
  chargeId: string;
  product: string;
  amount: number; // major units
  currency: string;
  orderedAt: Date;
  /** Carrier-confirmed delivery; null while in transit or lost. */
  deliveredAt: Date | null;
}

export interface Adjustment {
  _id: string;
  customerEmail: string;
  /** A refund pays money back; a credit is store credit for a later order. */
  kind: 'refund' | 'credit';
  orderId: string | null;
  amount: number;
  currency: string;
  at: Date;
  reason: string;
}

export interface SampleBusiness {
  accounts: Account[];
  orders: Order[];
  adjustments: Adjustment[];
}

const DAY_MS = 86_400_000;

/** The sample business as of `today` (truncated to midnight UTC). */
export function sampleBusiness(today: Date): SampleBusiness {
  const midnight = Math.floor(today.getTime() / DAY_MS) * DAY_MS;
  const ago = (days: number) => new Date(midnight - days * DAY_MS);
  // biome-ignore format: one record per line reads as a table
  const accounts: Account[] = [
    { _id: 'maria@example.com', name: 'Maria Gonzalez', customerSince: ago(1_900), lifetimeValue: 2_340, currency: 'EUR' },
    { _id: 'tom@example.com', name: 'Tom Baker', customerSince: ago(420), lifetimeValue: 410, currency: 'GBP' },
    { _id: 'rex@example.com', name: 'Rex Doyle', customerSince: ago(70), lifetimeValue: 150, currency: 'USD' },
    { _id: 'priya@example.com', name: 'Priya Raman', customerSince: ago(2_600), lifetimeValue: 8_900, currency: 'USD' },
    { _id: 'jo@example.com', name: 'Jo Park', customerSince: ago(300), lifetimeValue: 220, currency: 'EUR' },
  ];
  // biome-ignore format: one record per line reads as a table
  const orders: Order[] = [
    // Maria: the burr grinder arrived with a cracked hopper twelve days ago.
    { _id: 'ord_5101', customerEmail: 'maria@example.com', chargeId: 'ch_lk5101', product: 'Burr grinder M2', amount: 64, currency: 'EUR', orderedAt: ago(15), deliveredAt: ago(12) },
    { _id: 'ord_5102', customerEmail: 'maria@example.com', chargeId: 'ch_lk5102', product: 'Coffee subscription, 12 months', amount: 240, currency: 'EUR', orderedAt: ago(200), deliveredAt: ago(199) },
    // Tom: the espresso machine stopped heating after seven weeks.
    { _id: 'ord_5201', customerEmail: 'tom@example.com', chargeId: 'ch_lk5201', product: 'Espresso machine Duo', amount: 380, currency: 'GBP', orderedAt: ago(55), deliveredAt: ago(52) },
    // Rex: a third refund within a year.
    { _id: 'ord_5301', customerEmail: 'rex@example.com', chargeId: 'ch_lk5301', product: 'Coffee subscription, 3 months', amount: 72, currency: 'USD', orderedAt: ago(20), deliveredAt: ago(18) },
    { _id: 'ord_5302', customerEmail: 'rex@example.com', chargeId: 'ch_lk5302', product: 'Milk frother', amount: 39, currency: 'USD', orderedAt: ago(60), deliveredAt: ago(57) },
    { _id: 'ord_5303', customerEmail: 'rex@example.com', chargeId: 'ch_lk5303', product: 'Pour-over kit', amount: 45, currency: 'USD', orderedAt: ago(45), deliveredAt: ago(42) },
    // Priya: a commercial grinder for her café came with the wrong voltage.
    { _id: 'ord_5401', customerEmail: 'priya@example.com', chargeId: 'ch_lk5401', product: 'Commercial grinder K30 (230 V)', amount: 1_450, currency: 'USD', orderedAt: ago(11), deliveredAt: ago(8) },
    // Jo: changed their mind about a pour-over kit after ten weeks.
    { _id: 'ord_5501', customerEmail: 'jo@example.com', chargeId: 'ch_lk5501', product: 'Pour-over kit', amount: 45, currency: 'EUR', orderedAt: ago(73), deliveredAt: ago(70) },
  ];
  // biome-ignore format: one record per line reads as a table
  const adjustments: Adjustment[] = [
    { _id: 'adj_9001', customerEmail: 'rex@example.com', kind: 'refund', orderId: 'ord_5302', amount: 39, currency: 'USD', at: ago(50), reason: 'frother arrived late' },
    { _id: 'adj_9002', customerEmail: 'rex@example.com', kind: 'refund', orderId: 'ord_5303', amount: 45, currency: 'USD', at: ago(35), reason: 'did not like the taste' },
    { _id: 'adj_9003', customerEmail: 'maria@example.com', kind: 'credit', orderId: null, amount: 10, currency: 'EUR', at: ago(400), reason: 'late delivery goodwill' },
    { _id: 'adj_9004', customerEmail: 'tom@example.com', kind: 'credit', orderId: null, amount: 15, currency: 'GBP', at: ago(100), reason: 'missing beans in a box' },
  ];
  return { accounts, orders, adjustments };
}
