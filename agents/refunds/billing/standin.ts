import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for a payment provider's refund API, shaped like Stripe's: `POST /v1/refunds` (form-encoded `charge`,
 * `amount` in minor units, `reason`, `metadata[...]`), Bearer key, `Idempotency-Key`, Stripe's error envelope
 * `{ error: { type, code, message, param } }`. It runs as a real HTTP server (demo, tests) so the adapter's fetch,
 * headers and error handling are exercised as they would be against the real thing.
 *
 * Idempotency as Stripe documents it: the first result for a key (success or a 4xx from executing it) is saved and
 * replayed with `Idempotent-Replayed: true`; the same key with other parameters is a 400 `idempotency_error`. Injected 429s and 5xx happen before execution, so nothing
 * is saved and the retry with the same key executes.
 */
export interface StandinCharge {
  id: string;
  amountMinor: number;
  currency: string;
}

export interface StandinRefund {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  currency: string;
  status: 'succeeded';
  reason: string | null;
  metadata: Record<string, string>;
  created: number;
}

export type InjectedFault =
  | { kind: 'rate_limit'; retryAfterSeconds: number }
  | { kind: 'server_error'; status?: number };

export interface BillingStandin {
  baseUrl: string;
  apiKey: string;
  /** Every refund created (replays are not new refunds). */
  refunds(): StandinRefund[];
  /** Requests received, replays and failures included. */
  requestCount(): number;
  addCharge(charge: StandinCharge): void;
  /** The next requests fail this way, in order, before anything executes. */
  failNext(...faults: InjectedFault[]): void;
  close(): Promise<void>;
}

type Saved = { fingerprint: string; status: number; body: unknown };

export async function startBillingStandin(
  options: {
    charges?: StandinCharge[];
    apiKey?: string;
    port?: number;
    /** Let the process exit while it listens (the demo runs it beside the app, with nothing to close it). */
    unref?: boolean;
  } = {},
): Promise<BillingStandin> {
  const apiKey = options.apiKey ?? `sk_test_${randomBytes(12).toString('hex')}`;
  const charges = new Map<string, StandinCharge & { refundedMinor: number }>();
  for (const c of options.charges ?? []) charges.set(c.id, { ...c, refundedMinor: 0 });
  const created: StandinRefund[] = [];
  const saved = new Map<string, Saved>();
  const faults: InjectedFault[] = [];
  let requests = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'request-id': `req_${randomBytes(7).toString('hex')}`,
      ...headers,
    });
    res.end(JSON.stringify(body));
  };
  const invalid = (code: string, message: string, param?: string) => ({
    error: { type: 'invalid_request_error', code, message, ...(param ? { param } : {}) },
  });

  function execute(form: URLSearchParams): { status: number; body: unknown } {
    const chargeId = form.get('charge');
    if (!chargeId)
      return { status: 400, body: invalid('parameter_missing', 'Missing required param: charge.', 'charge') };
    const charge = charges.get(chargeId);
    if (!charge) {
      return { status: 404, body: invalid('resource_missing', `No such charge: '${chargeId}'`, 'charge') };
    }
    const left = charge.amountMinor - charge.refundedMinor;
    if (left <= 0) {
      return { status: 400, body: invalid('charge_already_refunded', `Charge ${chargeId} has already been refunded.`) };
    }
    const rawAmount = form.get('amount');
    const amount = rawAmount === null ? left : Number(rawAmount);
    if (!Number.isInteger(amount) || amount < 1) {
      return { status: 400, body: invalid('parameter_invalid_integer', 'Invalid positive integer', 'amount') };
    }
    if (amount > left) {
      return {
        status: 400,
        body: invalid(
          'amount_too_large',
          `Refund amount (${amount}) is greater than unrefunded amount on charge (${left}).`,
          'amount',
        ),
      };
    }
    const metadata: Record<string, string> = {};
    for (const [k, v] of form) {
      const m = /^metadata\[(.+)\]$/.exec(k);
      if (m?.[1]) metadata[m[1]] = v;
    }
    charge.refundedMinor += amount;
    const refund: StandinRefund = {
      id: `re_${randomBytes(12).toString('hex')}`,
      object: 'refund',
      amount,
      charge: chargeId,
      currency: charge.currency.toLowerCase(),
      status: 'succeeded',
      reason: form.get('reason'),
      metadata,
      created: Math.floor(Date.now() / 1_000),
    };
    created.push(refund);
    return { status: 200, body: refund };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return send(res, 401, {
        error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' },
      });
    }
    if (req.method !== 'POST' || req.url !== '/v1/refunds') {
      return send(res, 404, invalid('resource_missing', `Unrecognized request URL (${req.method}: ${req.url}).`));
    }
    const fault = faults.shift();
    if (fault?.kind === 'rate_limit') {
      return send(
        res,
        429,
        {
          error: {
            type: 'invalid_request_error',
            code: 'rate_limit',
            message: 'Too many requests hit the API too quickly.',
          },
        },
        { 'retry-after': String(fault.retryAfterSeconds) },
      );
    }
    if (fault?.kind === 'server_error') {
      return send(res, fault.status ?? 500, {
        error: { type: 'api_error', message: "Something went wrong on the provider's end." },
      });
    }
    const form = new URLSearchParams(raw);
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0) {
      const { status, body } = execute(form);
      return send(res, status, body);
    }
    const fingerprint = createHash('sha256')
      .update([...form].sort().join('&'))
      .digest('hex');
    const previous = saved.get(key);
    if (previous) {
      if (previous.fingerprint !== fingerprint) {
        return send(res, 400, {
          error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          },
        });
      }
      return send(res, previous.status, previous.body, { 'idempotent-replayed': 'true' });
    }
    // Executing is synchronous once the body is read, so two requests with one key never overlap here (a real
    // provider answers the second with 409 while the first runs; the adapter treats 409 as retryable).
    const { status, body } = execute(form);
    saved.set(key, { fingerprint, status, body });
    return send(res, status, body);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => send(res, 500, { error: { type: 'api_error', message: err.message } }));
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  if (options.unref) server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    apiKey,
    refunds: () => created.map((r) => ({ ...r, metadata: { ...r.metadata } })),
    requestCount: () => requests,
    addCharge: (c) => charges.set(c.id, { ...c, refundedMinor: 0 }),
    failNext: (...f) => faults.push(...f),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
