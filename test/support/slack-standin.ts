import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blockProblems, viewProblems } from './slack-blocks.js';

/**
 * A local Slack Web API: the methods Countersign calls, answering like Slack (HTTP 200 with `ok: false` and an
 * error code; 429 with Retry-After), recording every call, and refusing Block Kit that breaks Slack's limits with
 * `invalid_blocks` / `msg_too_long`. Tests point SLACK_API_URL at `url`.
 */

type Args = Record<string, unknown>;
interface StandinCall {
  method: string;
  args: Args;
  at: number;
}
export interface StandinMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  threadTs?: string;
  updates: number;
  /** Message metadata as posted; conversations.history returns it only with include_all_metadata. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}
export interface StandinUser {
  id: string;
  email?: string;
  name?: string;
}
interface Failure {
  method: string;
  error?: string;
  retryAfter?: number;
  times: number;
  when?: (args: Args) => boolean;
}

export const BOT_TOKEN = 'xoxb-test-0000-countersign';
export const BOT_USER = 'UBOTCOUNTER';
export const APP_TOKEN = 'xapp-1-A0COUNTERSIGN-0000-test';

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

async function readArgs(req: IncomingMessage): Promise<Args> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('application/json')) return raw ? (JSON.parse(raw) as Args) : {};
  const args: Args = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    // WebClient sends objects (blocks, view) as JSON strings inside the form, as Slack expects.
    args[k] = /^[[{]/.test(v) ? (JSON.parse(v) as unknown) : v;
  }
  return args;
}

export async function startSlackStandin(opts: { token?: string } = {}) {
  const token = opts.token ?? BOT_TOKEN;
  /** Socket Mode: apps.connections.open answers with a fresh URL from here (test/support/slack-socket-standin.ts). */
  let socketUrls: (() => string) | undefined;
  const calls: StandinCall[] = [];
  const users = new Map<string, StandinUser>();
  const groups = new Map<string, string[]>();
  const channels = new Map<string, { members: string[]; botIsMember: boolean }>();
  const messages = new Map<string, StandinMessage>();
  const failures: Failure[] = [];
  let lastMicros = 0;
  let views = 0;
  const listeners = new Set<() => void>();

  // Slack's ts is the post's Unix time in microseconds, unique per channel; `oldest`/`latest` compare against it.
  const nextTs = () => {
    lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
    return `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, '0')}`;
  };
  const channelOk = (channel: string): string | undefined => {
    if (channel.startsWith('D') || users.has(channel)) return undefined;
    const c = channels.get(channel);
    if (!c) return 'channel_not_found';
    return c.botIsMember ? undefined : 'not_in_channel';
  };
  const dmOf = (user: string) => `D${user}`;

  function handle(method: string, a: Args): { status?: number; headers?: Record<string, string>; body: Args } {
    const fail = failures.find((f) => f.method === method && (!f.when || f.when(a)));
    if (fail) {
      fail.times--;
      if (fail.times <= 0) failures.splice(failures.indexOf(fail), 1);
      if (fail.retryAfter !== undefined) {
        return {
          status: 429,
          headers: { 'retry-after': String(fail.retryAfter) },
          body: { ok: false, error: 'ratelimited' },
        };
      }
      return { body: { ok: false, error: fail.error ?? 'internal_error' } };
    }
    const err = (error: string, extra: Args = {}) => ({ body: { ok: false, error, ...extra } });
    switch (method) {
      case 'apps.connections.open':
        return socketUrls ? { body: { ok: true, url: socketUrls() } } : err('not_allowed_token_type');
      case 'auth.test':
        return {
          body: {
            ok: true,
            user_id: BOT_USER,
            bot_id: 'BCOUNTER',
            team_id: 'T0TEST',
            team: 'Test',
            url: 'https://test.slack.com/',
          },
        };
      case 'users.info': {
        const u = users.get(str(a.user) ?? '');
        if (!u) return err('user_not_found');
        return {
          body: {
            ok: true,
            user: {
              id: u.id,
              name: u.name ?? u.id,
              real_name: u.name,
              profile: { ...(u.email ? { email: u.email } : {}), real_name: u.name },
            },
          },
        };
      }
      case 'usergroups.users.list': {
        const g = groups.get(str(a.usergroup) ?? '');
        return g ? { body: { ok: true, users: g } } : err('no_such_subteam');
      }
      case 'conversations.members': {
        const c = channels.get(str(a.channel) ?? '');
        if (!c) return err('channel_not_found');
        const limit = Number(a.limit ?? 100);
        const start = Number(str(a.cursor) ?? 0);
        const page = c.members.slice(start, start + limit);
        const next = start + limit < c.members.length ? String(start + limit) : '';
        return { body: { ok: true, members: page, response_metadata: { next_cursor: next } } };
      }
      case 'conversations.open': {
        const user = (str(a.users) ?? '').split(',')[0] ?? '';
        return users.has(user) ? { body: { ok: true, channel: { id: dmOf(user) } } } : err('user_not_found');
      }
      case 'chat.postMessage':
      case 'chat.update': {
        let channel = str(a.channel) ?? '';
        if (users.has(channel)) channel = dmOf(channel);
        const bad = channelOk(channel);
        if (bad) return err(bad);
        const text = str(a.text) ?? '';
        if (text.length > 40_000) return err('msg_too_long');
        if (a.blocks !== undefined) {
          const problems = blockProblems(a.blocks, 'message');
          if (problems.length) return err('invalid_blocks', { response_metadata: { messages: problems } });
        } else if (!text) return err('no_text');
        const metadata = a.metadata as StandinMessage['metadata'] | undefined;
        if (
          metadata !== undefined &&
          (typeof metadata?.event_type !== 'string' ||
            typeof metadata.event_payload !== 'object' ||
            metadata.event_payload === null)
        )
          return err('invalid_metadata_format');
        if (method === 'chat.update') {
          const m = messages.get(`${channel}:${str(a.ts)}`);
          if (!m) return err('message_not_found');
          Object.assign(m, { text, blocks: (a.blocks as unknown[]) ?? [], updates: m.updates + 1 });
          return { body: { ok: true, channel, ts: m.ts, text } };
        }
        const ts = nextTs();
        const threadTs = str(a.thread_ts);
        messages.set(`${channel}:${ts}`, {
          channel,
          ts,
          text,
          blocks: (a.blocks as unknown[]) ?? [],
          updates: 0,
          ...(threadTs ? { threadTs } : {}),
          ...(metadata ? { metadata } : {}),
        });
        return { body: { ok: true, channel, ts, message: { ts, text } } };
      }
      case 'conversations.history': {
        // Top-level messages only (replies stay in their thread), newest first, paged by an opaque cursor.
        const channel = str(a.channel) ?? '';
        const bad = channelOk(channel);
        if (bad) return err(bad);
        const inclusive = a.inclusive === true || a.inclusive === 'true';
        // Compared in whole microseconds: as a float, a 16-digit ts loses its last digit.
        const us = (ts: unknown) => {
          const [sec = '0', frac = ''] = String(ts).split('.');
          return Number(sec) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6));
        };
        const after = (ts: string, bound: unknown) =>
          bound === undefined || (inclusive ? us(ts) >= us(bound) : us(ts) > us(bound));
        const before = (ts: string, bound: unknown) =>
          bound === undefined || (inclusive ? us(ts) <= us(bound) : us(ts) < us(bound));
        const withMeta = a.include_all_metadata === true || a.include_all_metadata === 'true';
        const all = [...messages.values()]
          .filter((m) => m.channel === channel && !m.threadTs && after(m.ts, a.oldest) && before(m.ts, a.latest))
          .sort((x, y) => us(y.ts) - us(x.ts));
        const limit = Math.min(Math.max(Number(a.limit ?? 100), 1), 999);
        const start = a.cursor ? Number(Buffer.from(String(a.cursor), 'base64').toString().replace('next_ts:', '')) : 0;
        const page = all.slice(start, start + limit);
        const hasMore = start + limit < all.length;
        return {
          body: {
            ok: true,
            messages: page.map((m) => ({
              type: 'message',
              user: BOT_USER,
              bot_id: 'BCOUNTER',
              ts: m.ts,
              text: m.text,
              blocks: m.blocks,
              ...(withMeta && m.metadata ? { metadata: m.metadata } : {}),
            })),
            has_more: hasMore,
            pin_count: 0,
            response_metadata: {
              next_cursor: hasMore ? Buffer.from(`next_ts:${start + limit}`).toString('base64') : '',
            },
          },
        };
      }
      case 'conversations.replies': {
        // The thread's replies we know, oldest first; metadata only with include_all_metadata, as Slack does.
        const channel = str(a.channel) ?? '';
        const bad = channelOk(channel);
        if (bad) return err(bad);
        const withMeta = a.include_all_metadata === true || a.include_all_metadata === 'true';
        const thread = [...messages.values()]
          .filter((m) => m.channel === channel && (m.ts === str(a.ts) || m.threadTs === str(a.ts)))
          .sort((x, y) => x.ts.localeCompare(y.ts));
        if (thread.length === 0) return err('thread_not_found');
        return {
          body: {
            ok: true,
            messages: thread.map((m) => ({
              type: 'message',
              user: BOT_USER,
              bot_id: 'BCOUNTER',
              ts: m.ts,
              text: m.text,
              ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
              ...(withMeta && m.metadata ? { metadata: m.metadata } : {}),
            })),
            has_more: false,
            response_metadata: { next_cursor: '' },
          },
        };
      }
      case 'chat.postEphemeral': {
        const bad = channelOk(str(a.channel) ?? '');
        return bad ? err(bad) : { body: { ok: true, message_ts: nextTs() } };
      }
      case 'chat.getPermalink':
        return {
          body: {
            ok: true,
            permalink: `https://test.slack.com/archives/${str(a.channel)}/p${(str(a.message_ts) ?? '').replace('.', '')}`,
          },
        };
      case 'views.open':
      case 'views.update':
      case 'views.push':
      case 'views.publish': {
        if (method === 'views.open' && !str(a.trigger_id)) return err('invalid_trigger_id');
        const problems = viewProblems(a.view);
        if (problems.length) return err('invalid_arguments', { response_metadata: { messages: problems } });
        const id = str(a.view_id) ?? `V${++views}`;
        return { body: { ok: true, view: { id, hash: `h${Date.now()}`, ...(a.view as Args) } } };
      }
      default:
        return err('unknown_method');
    }
  }

  /**
   * Sign in with Slack (OpenID Connect), as Slack documents it: the browser is sent to `/openid/connect/authorize`,
   * which (after the person agrees; here: at once, as `oidcUser`) redirects to the app with a one-time code; the app
   * exchanges it with `openid.connect.token` (client id and secret) and reads `openid.connect.userInfo`.
   */
  const oidc = {
    clientId: 'C0CLIENT.123',
    clientSecret: 'oidc-client-secret-0123456789',
    user: undefined as string | undefined,
    codes: new Map<string, { user: string; redirectUri: string; nonce: string }>(),
    tokens: new Map<string, string>(),
  };
  function authorize(url: URL, res: ServerResponse) {
    const q = url.searchParams;
    const redirect = q.get('redirect_uri') ?? '';
    if (q.get('client_id') !== oidc.clientId || q.get('response_type') !== 'code' || !redirect) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_request');
      return;
    }
    const back = new URL(redirect);
    if (!oidc.user) back.searchParams.set('error', 'access_denied');
    else {
      const code = `code-${Math.random().toString(36).slice(2)}`;
      oidc.codes.set(code, { user: oidc.user, redirectUri: redirect, nonce: q.get('nonce') ?? '' });
      back.searchParams.set('code', code);
    }
    back.searchParams.set('state', q.get('state') ?? '');
    res.writeHead(302, { location: back.toString() }).end();
  }
  function openid(method: string, a: Args, auth: string): Args {
    if (method === 'openid.connect.token') {
      const grant = oidc.codes.get(str(a.code) ?? '');
      if (a.client_id !== oidc.clientId || a.client_secret !== oidc.clientSecret)
        return { ok: false, error: 'invalid_client_id' };
      if (!grant || grant.redirectUri !== a.redirect_uri) return { ok: false, error: 'invalid_code' };
      oidc.codes.delete(str(a.code) ?? '');
      const access = `xoxp-oidc-${Math.random().toString(36).slice(2)}`;
      oidc.tokens.set(access, grant.user);
      return { ok: true, access_token: access, token_type: 'Bearer', id_token: 'not-used-by-countersign' };
    }
    const user = users.get(oidc.tokens.get(auth.replace(/^Bearer /, '')) ?? '');
    if (!user) return { ok: false, error: 'invalid_auth' };
    return {
      ok: true,
      sub: user.id,
      'https://slack.com/user_id': user.id,
      'https://slack.com/team_id': 'T0TEST',
      email: user.email,
      email_verified: Boolean(user.email),
      name: user.name,
    };
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      if (url.pathname === '/openid/connect/authorize') return authorize(url, res);
      const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
      const args = await readArgs(req);
      const auth = req.headers.authorization ?? (args.token ? `Bearer ${String(args.token)}` : '');
      delete args.token;
      calls.push({ method, args, at: Date.now() });
      // Slack takes only an app-level token (xapp-) for apps.connections.open, and a bot token for the rest.
      const allowed = method === 'apps.connections.open' ? auth === `Bearer ${APP_TOKEN}` : auth === `Bearer ${token}`;
      const out = method.startsWith('openid.connect.')
        ? { body: openid(method, args, auth) }
        : allowed
          ? handle(method, args)
          : { body: { ok: false, error: 'invalid_auth' } };
      res.writeHead(out.status ?? 200, { 'content-type': 'application/json', ...(out.headers ?? {}) });
      res.end(JSON.stringify(out.body));
      for (const l of listeners) l();
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  const standin = {
    url: `http://127.0.0.1:${port}/api/`,
    /** Sign in with Slack: SLACK_CLIENT_ID/SECRET and SLACK_OIDC_AUTHORIZE_URL for the app, and who agrees. */
    oidc: {
      clientId: oidc.clientId,
      clientSecret: oidc.clientSecret,
      authorizeUrl: `http://127.0.0.1:${port}/openid/connect/authorize`,
      signInAs(userId: string | undefined) {
        oidc.user = userId;
      },
    },
    calls,
    messages,
    callsTo: (method: string) => calls.filter((c) => c.method === method),
    addUser(u: StandinUser) {
      users.set(u.id, u);
    },
    addChannel(id: string, members: string[], botIsMember = true) {
      channels.set(id, { members, botIsMember });
    },
    addGroup(id: string, members: string[]) {
      groups.set(id, members);
    },
    /** The next `times` calls of `method` (matching `when`) answer `ok: false` with `error`. */
    failNext(method: string, error: string, o: { times?: number; when?: (args: Args) => boolean } = {}) {
      failures.push({ method, error, times: o.times ?? 1, ...(o.when ? { when: o.when } : {}) });
    },
    /** The next `times` calls of `method` answer HTTP 429 with Retry-After: `seconds`. */
    rateLimitNext(method: string, seconds: number, times = 1) {
      failures.push({ method, retryAfter: seconds, times });
    },
    messagesIn: (channel: string) => [...messages.values()].filter((m) => m.channel === channel),
    dmOf,
    /** Resolves once `pred` holds over the recorded calls and messages; no sleeps in tests. */
    async waitFor<T>(pred: () => T | undefined | false, timeoutMs = 45_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = pred();
        if (v) return v;
        if (Date.now() > deadline) throw new Error('slack stand-in: condition not met in time');
        await new Promise<void>((r) => {
          const done = () => {
            listeners.delete(done);
            clearTimeout(t);
            r();
          };
          const t = setTimeout(done, 50);
          listeners.add(done);
        });
      }
    },
    /** Where apps.connections.open sends Socket Mode clients (SLACK_APP_TOKEN = APP_TOKEN). */
    useSocketMode(nextUrl: () => string) {
      socketUrls = nextUrl;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return standin;
}

export type SlackStandin = Awaited<ReturnType<typeof startSlackStandin>>;
