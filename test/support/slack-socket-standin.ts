import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * Slack's Socket Mode end, for tests: `apps.connections.open` (on the Web API stand-in) hands out single-use
 * `ws://…/link/?ticket=…` URLs; a connection that presents a fresh ticket gets Slack's `hello`, then envelopes
 * `{envelope_id, type, payload, accepts_response_payload, retry_attempt?, retry_reason?}`; the client answers each
 * with `{envelope_id, payload?}`. Like Slack it pings, sends `disconnect` (`refresh_requested`, `warning`,
 * `link_disabled`) before closing a link, and re-sends an envelope nobody acknowledged.
 * Message shapes follow @slack/socket-mode's client and the envelopes in Slack's own SDK tests
 * (python-slack-sdk tests/slack_sdk/socket_mode/mock_socket_mode_server.py).
 */

export type EnvelopeType = 'events_api' | 'interactive' | 'slash_commands';
export interface Envelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}
export interface SocketAck {
  envelope_id: string;
  payload?: unknown;
  /** Which connection (1-based, in order of hello) carried the ack. */
  connection: number;
  at: number;
}

const APP_ID = 'A0COUNTERSIGN';

export async function startSocketStandin() {
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade required');
  });
  const wss = new WebSocketServer({ noServer: true });
  const tickets = new Set<string>();
  const sockets: { ws: WebSocket; n: number }[] = [];
  const acks: SocketAck[] = [];
  const sent = new Map<string, Envelope>();
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  let helloed = 0;
  let refused = 0;

  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? '/', 'ws://localhost');
    const ticket = url.searchParams.get('ticket') ?? '';
    // A ticket from apps.connections.open opens one link, once; anything else is refused as Slack does.
    if (url.pathname !== '/link/' || !tickets.delete(ticket)) {
      refused++;
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      notify();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const n = ++helloed;
      sockets.push({ ws, n });
      const ping = setInterval(() => ws.ping(), 5_000);
      ws.on('close', () => {
        clearInterval(ping);
        const i = sockets.findIndex((s) => s.ws === ws);
        if (i >= 0) sockets.splice(i, 1);
        notify();
      });
      ws.on('message', (data) => {
        let msg: unknown;
        try {
          msg = JSON.parse(String(data));
        } catch {
          return; // Slack ignores what it cannot read; the test sees no ack
        }
        const m = msg as { envelope_id?: unknown; payload?: unknown };
        if (typeof m.envelope_id !== 'string') return;
        acks.push({
          envelope_id: m.envelope_id,
          ...(m.payload === undefined ? {} : { payload: m.payload }),
          connection: n,
          at: Date.now(),
        });
        notify();
      });
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: sockets.length,
          debug_info: { host: 'applink-standin', build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: APP_ID },
        }),
      );
      notify();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  const current = () => {
    const s = sockets.at(-1);
    if (!s) throw new Error('socket stand-in: no client connected');
    return s;
  };

  const standin = {
    /** For the Web API stand-in's apps.connections.open: a new single-use URL. */
    nextUrl(): string {
      const ticket = randomUUID();
      tickets.add(ticket);
      return `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${APP_ID}`;
    },
    acks,
    /** Connections that received hello so far (reconnections count). */
    get connections() {
      return helloed;
    },
    get open() {
      return sockets.length;
    },
    get refused() {
      return refused;
    },
    acksFor: (envelopeId: string) => acks.filter((a) => a.envelope_id === envelopeId),
    /** Sends an envelope over the newest link; returns it so the test can re-send the very same one. */
    deliver(
      type: EnvelopeType,
      payload: Record<string, unknown>,
      o: { acceptsResponsePayload?: boolean; retryAttempt?: number; retryReason?: string } = {},
    ): Envelope {
      const envelope: Envelope = {
        envelope_id: randomUUID(),
        type,
        payload,
        accepts_response_payload: o.acceptsResponsePayload ?? type !== 'events_api',
        ...(type === 'events_api' ? { retry_attempt: o.retryAttempt ?? 0, retry_reason: o.retryReason ?? '' } : {}),
      };
      sent.set(envelope.envelope_id, envelope);
      current().ws.send(JSON.stringify(envelope));
      return envelope;
    },
    /** Slack re-sends an envelope that was not acknowledged: same envelope_id and payload, retry counted up. */
    redeliver(envelope: Envelope, reason = 'timeout'): Envelope {
      const again: Envelope =
        envelope.type === 'events_api'
          ? { ...envelope, retry_attempt: (envelope.retry_attempt ?? 0) + 1, retry_reason: reason }
          : envelope;
      current().ws.send(JSON.stringify(again));
      return again;
    },
    /** Sends raw text over the newest link (for messages the client must survive). */
    sendRaw(text: string) {
      current().ws.send(text);
    },
    /** Slack's notice before it recycles a link; the client is expected to open a new one. */
    disconnect(reason: 'refresh_requested' | 'warning' | 'link_disabled' = 'refresh_requested') {
      current().ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-standin' } }));
    },
    /** Resolves once `pred` holds; woken by every socket event, polled as a fallback. */
    async waitFor<T>(pred: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = pred();
        if (v) return v;
        if (Date.now() > deadline) throw new Error('socket stand-in: condition not met in time');
        await new Promise<void>((r) => {
          const done = () => {
            listeners.delete(done);
            clearTimeout(timer);
            r();
          };
          const timer = setTimeout(done, 50);
          listeners.add(done);
        });
      }
    },
    async close() {
      for (const s of sockets) s.ws.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return standin;
}

export type SocketStandin = Awaited<ReturnType<typeof startSocketStandin>>;
