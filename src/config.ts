import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { AUTONOMY_LEVELS, type Autonomy, loadSettings, type ReviewPolicy, type Settings } from './settings.js';
import type { ReadFile } from './settings-file.js';

export { ConfigError } from './config-error.js';
export type { Autonomy } from './settings.js';

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

/** The names proxy-addr (behind express "trust proxy") knows besides addresses and subnets. */
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d+$/.test(bits)) return isIP(bits) === 4 && family === 4;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY as express wants it: `true`/`false`, a hop count, or proxies by name, address or subnet. Checked
 * here, because express only finds a bad entry when the first request arrives and then fails every request.
 */
const trustProxySchema = z.string().transform((raw, ctx): boolean | number | string => {
  const value = raw.trim();
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',').map((e) => e.trim());
  const bad = entries.filter((e) => !isProxyEntry(e));
  if (bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected true, false, a hop count, or loopback/linklocal/uniquelocal, addresses and subnets (not ${bad.join(', ')})`,
    });
    return z.NEVER;
  }
  return entries.join(',');
});
const optionalUrl = (what: string) => z.preprocess(emptyToUndefined, z.url({ message: `expected ${what}` }).optional());
const intFrom = (def: number, min: number, max: number) =>
  z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ message: `expected a whole number from ${min} to ${max}` })
      .int({ message: `expected a whole number from ${min} to ${max}` })
      .min(min, { message: `expected a whole number from ${min} to ${max}` })
      .max(max, { message: `expected a whole number from ${min} to ${max}` })
      .default(def),
  );
const emailList = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .optional()
    .transform((s) =>
      s
        ? s
            .split(',')
            .map((e) => e.trim().toLowerCase())
            .filter(Boolean)
        : [],
    )
    .pipe(z.array(z.email({ message: 'expected a comma-separated list of email addresses' }))),
);

const envSchema = z
  .object({
    PORT: intFrom(3000, 1, 65535),
    PUBLIC_URL: optionalUrl('an absolute URL such as https://countersign.example.com'),
    MONGODB_URI: z.preprocess(
      emptyToUndefined,
      z
        .string({
          message:
            'required: a MongoDB connection string such as mongodb://127.0.0.1:27017/countersign (npx countersign services env prints one)',
        })
        .regex(/^mongodb(\+srv)?:\/\//, { message: 'expected a mongodb:// or mongodb+srv:// URI' }),
    ),
    REDIS_URL: z.preprocess(
      emptyToUndefined,
      z
        .string({
          message: 'required: a Redis URL such as redis://127.0.0.1:6379 (npx countersign services env prints one)',
        })
        .regex(/^rediss?:\/\//, { message: 'expected a redis:// or rediss:// URL' }),
    ),
    APP_SECRET: optionalString.pipe(
      z.string().min(32, { message: 'expected at least 32 characters of random text' }).optional(),
    ),
    COUNTERSIGN_API_TOKEN: optionalString.pipe(
      z.string().min(16, { message: 'expected at least 16 characters' }).optional(),
    ),
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: optionalUrl('an OpenAI-compatible base URL such as https://api.openai.com/v1'),
    OPENAI_MODEL: z.preprocess(emptyToUndefined, z.string().default('gpt-4.1-mini')),
    SLACK_BOT_TOKEN: optionalString,
    SLACK_SIGNING_SECRET: optionalString,
    SLACK_APP_TOKEN: optionalString,
    SLACK_API_URL: z.preprocess(
      emptyToUndefined,
      z.url({ message: 'expected a URL' }).default('https://slack.com/api/'),
    ),
    SLACK_APPROVALS_CHANNEL: optionalString,
    /** "Sign in with Slack" (OpenID Connect) on the console: the Slack app's client id and secret. */
    SLACK_CLIENT_ID: optionalString,
    SLACK_CLIENT_SECRET: optionalString,
    /** Where the browser is sent to authorise (default Slack's own page); a stand-in's in tests. */
    SLACK_OIDC_AUTHORIZE_URL: z.preprocess(
      emptyToUndefined,
      z.url({ message: 'expected a URL' }).default('https://slack.com/openid/connect/authorize'),
    ),
    /** Channels (ids, comma-separated) where mentioning the bot starts work; empty = any channel the bot is in. */
    SLACK_INTAKE_CHANNELS: optionalString,
    SMTP_URL: optionalUrl('an SMTP URL such as smtp://user:pass@mail.example.com:587'),
    MAIL_FROM: z.preprocess(emptyToUndefined, z.string().default('Countersign <disputes@countersign.local>')),
    IMAP_URL: optionalUrl('imap://user:pass@host:port or imaps://…'),
    IMAP_MAILBOX: z.preprocess(emptyToUndefined, z.string().default('INBOX')),
    /** The authserv-id our receiving MTA writes into Authentication-Results; no other server's verdict is trusted. */
    IMAP_AUTHSERV_ID: optionalString,
    /** Automatic messages (receipts, questions, refusals) one address may get per window, across all threads. */
    EMAIL_AUTO_REPLY_LIMIT: intFrom(4, 1, 100),
    /** RFC 3834 §2 asks responders not to answer one sender again within days; a day is our floor by default. */
    EMAIL_AUTO_REPLY_WINDOW_MINUTES: intFrom(1_440, 1, 43_200),
    APPROVER_EMAILS: emailList,
    /**
     * Which proxies in front may name the client (express "trust proxy": a hop count, `loopback`, addresses or
     * subnets), so per-client limits see clients rather than the proxy. Unset: no proxy is believed.
     */
    TRUST_PROXY: z.preprocess(emptyToUndefined, trustProxySchema.optional()),
    /** Console administrators, besides the configuration file's `console.admins` (the demo names its approver). */
    CONSOLE_ADMINS: emailList,
    DIGEST_TO: emailList,
    DIGEST_CRON: optionalString,
    /** `address=Area/City` pairs, comma-separated: each recipient gets the digest on DIGEST_CRON in their zone. */
    DIGEST_TIMEZONES: optionalString,
    DIGEST_SEND_EMPTY: z.preprocess(emptyToUndefined, z.enum(['0', '1', 'true', 'false']).default('0')),
    WEBHOOK_SECRET: optionalString.pipe(z.string().min(16, { message: 'expected at least 16 characters' }).optional()),
    AUTONOMY: z.preprocess(
      emptyToUndefined,
      z.enum(AUTONOMY_LEVELS, { message: `expected one of ${AUTONOMY_LEVELS.join(', ')}` }).default('manual'),
    ),
    // Not in the contract: operational knobs with safe defaults.
    COUNTERSIGN_DEMO: z.preprocess(emptyToUndefined, z.enum(['0', '1', 'true', 'false']).default('0')),
    LOG_LEVEL: z.preprocess(
      emptyToUndefined,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),
    WORKER_CONCURRENCY: intFrom(8, 1, 256),
    OFFLINE_MODEL_LATENCY_MS: intFrom(150, 0, 600_000),
    COUNTERSIGN_QUEUE_PREFIX: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^[a-zA-Z0-9_-]{1,40}$/, { message: 'expected 1-40 letters, digits, _ or -' })
        .default('countersign'),
    ),
    WORKER_LOCK_MS: intFrom(30_000, 1_000, 600_000),
    RUN_LEASE_MS: intFrom(30_000, 500, 600_000),
    RECONCILE_INTERVAL_MS: intFrom(30_000, 200, 3_600_000),
    /** Finished runs keep their lease records this long; also how far back the reconciler looks for decisions. */
    JOURNAL_RETENTION_HOURS: intFrom(168, 1, 87_600),
    CHECKPOINT_REMINDER_MINUTES: intFrom(240, 1, 10_080),
    CHECKPOINT_REMINDERS: intFrom(3, 0, 50),
    CHECKPOINT_TIMEOUT_HOURS: intFrom(48, 1, 8_760),
    CHECKPOINT_TIMEOUT_ACTION: z.preprocess(
      emptyToUndefined,
      z
        .enum(['escalate', 'reject', 'approve', 'keep-waiting'], {
          message: 'expected escalate, reject, approve or keep-waiting',
        })
        .default('escalate'),
    ),
    ESCALATE_TO: optionalString,
    /** Path of the configuration file (JSON or YAML); its own problems are reported by path inside it. */
    COUNTERSIGN_CONFIG: optionalString,
    /** Test-only fault injection: comma list of failpoint names at which the process kills itself. */
    COUNTERSIGN_FAILPOINTS: optionalString,
  })
  // `when`: these checks run even when other variables are already bad, so one run lists every bad variable
  .superRefine(
    (env, ctx) => {
      const demo = env.COUNTERSIGN_DEMO === '1' || env.COUNTERSIGN_DEMO === 'true';
      if (!demo && !env.APP_SECRET) {
        ctx.addIssue({
          code: 'custom',
          path: ['APP_SECRET'],
          message: 'required outside the demo: at least 32 characters of random text (it signs approval links)',
        });
      }
      if (!demo && !env.COUNTERSIGN_API_TOKEN) {
        ctx.addIssue({
          code: 'custom',
          path: ['COUNTERSIGN_API_TOKEN'],
          message: 'required outside the demo: the Bearer token for /api/*',
        });
      }
      if (
        env.OPENAI_API_KEY === undefined &&
        env.OPENAI_BASE_URL !== undefined &&
        !/localhost|127\.0\.0\.1/.test(env.OPENAI_BASE_URL)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['OPENAI_API_KEY'],
          message: 'required when OPENAI_BASE_URL points to a remote server',
        });
      }
    },
    { when: () => true },
  );

export type Env = z.infer<typeof envSchema>;

export interface Config {
  port: number;
  publicUrl: string;
  mongodbUri: string;
  redisUrl: string;
  appSecret: string;
  apiToken: string;
  /** `offline` = the built-in offline model, started in-process. */
  model: { kind: 'offline' } | { kind: 'openai'; apiKey: string | undefined; baseUrl: string | undefined };
  modelName: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  approverEmails: string[];
  consoleAdmins: string[];
  /** express "trust proxy" (TRUST_PROXY): every proxy, a hop count or a list of trusted proxies; undefined trusts none. */
  trustProxy: boolean | number | string | undefined;
  digestTo: string[];
  webhookSecret: string | undefined;
  autonomy: Autonomy;
  demo: boolean;
  logLevel: Env['LOG_LEVEL'];
  workerConcurrency: number;
  offlineModelLatencyMs: number;
  failpoints: Set<string>;
  queuePrefix: string;
  /** Reminders and the timeout path of human checkpoints (env defaults; `reviewPolicy()` applies the file's). */
  review: ReviewPolicy;
  workerLockMs: number;
  runLeaseMs: number;
  reconcileIntervalMs: number;
  journalRetentionMs: number;
  slack: {
    botToken: string | undefined;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string;
    approvalsChannel: string | undefined;
    /** "Sign in with Slack" on the console; both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set. */
    oidc: { clientId: string; clientSecret: string; authorizeUrl: string } | undefined;
    intakeChannels: string[];
  };
  imap: { url: string | undefined; mailbox: string; authservId: string | undefined };
  /** Loop breaker for automatic mail to one address (EMAIL_AUTO_REPLY_LIMIT per EMAIL_AUTO_REPLY_WINDOW_MINUTES). */
  autoReply: { limit: number; windowMs: number };
  digestCron: string | undefined;
  digest: { timezones: Record<string, string>; sendEmpty: boolean };
  /**
   * The configuration file (`COUNTERSIGN_CONFIG`); empty without one. Precedence: a value the file sets for a
   * workflow overrides the env default for that workflow (APPROVER_EMAILS, CHECKPOINT_*, ESCALATE_TO); `AUTONOMY`
   * stays the deployment-wide ceiling over every workflow's own `autonomy`.
   */
  settings: Settings;
  /** Where `settings` came from (COUNTERSIGN_CONFIG), for error lines that name it. */
  settingsPath: string | undefined;
}

/** `ESCALATE_TO=lead@example.com,U024BE7LH,#disputes,S0614TZR7`: emails, Slack users, channels and user groups. */
function parseEscalateTo(raw: string | undefined) {
  const out = {
    emails: [] as string[],
    slackUsers: [] as string[],
    slackChannels: [] as string[],
    slackGroups: [] as string[],
  };
  for (const item of (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (item.includes('@')) out.emails.push(item.toLowerCase());
    else if (item.startsWith('#') || /^[CG][A-Z0-9]+$/.test(item)) out.slackChannels.push(item);
    else if (/^S[A-Z0-9]+$/.test(item)) out.slackGroups.push(item);
    else out.slackUsers.push(item);
  }
  return out;
}

/** Demo-only secrets: fixed so links printed by `npm run demo` survive a restart; never used outside demo mode. */
const DEMO_APP_SECRET = 'countersign-demo-secret-not-for-production-use';
const DEMO_API_TOKEN = 'demo-api-token-not-secret';

/**
 * Parses the environment once, for the composition root, and loads the configuration file it names. Nothing else
 * reads `process.env`. Throws ConfigError listing one line per bad variable and per problem in the file, together.
 */
export function parseEnv(source: Record<string, string | undefined>, options: { readFile?: ReadFile } = {}): Config {
  const parsed = envSchema.safeParse(source);
  const problems: string[] = [];
  if (!parsed.success) {
    const byVar = new Map<string, string>();
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'environment');
      if (!byVar.has(name)) byVar.set(name, `${name}: ${issue.message}`);
    }
    problems.push(...byVar.values());
  }
  let settings: Settings | undefined;
  try {
    settings = loadSettings(source.COUNTERSIGN_CONFIG, options.readFile, source);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (!parsed.success || !settings) throw new ConfigError(problems);
  const env = parsed.data;
  const demo = env.COUNTERSIGN_DEMO === '1' || env.COUNTERSIGN_DEMO === 'true';
  const offline = env.OPENAI_API_KEY === undefined && env.OPENAI_BASE_URL === undefined;
  return {
    port: env.PORT,
    publicUrl: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    mongodbUri: env.MONGODB_URI,
    redisUrl: env.REDIS_URL,
    appSecret: env.APP_SECRET ?? DEMO_APP_SECRET,
    apiToken: env.COUNTERSIGN_API_TOKEN ?? DEMO_API_TOKEN,
    model: offline ? { kind: 'offline' } : { kind: 'openai', apiKey: env.OPENAI_API_KEY, baseUrl: env.OPENAI_BASE_URL },
    modelName: offline ? 'offline' : env.OPENAI_MODEL,
    smtpUrl: env.SMTP_URL,
    mailFrom: env.MAIL_FROM,
    approverEmails: env.APPROVER_EMAILS,
    consoleAdmins: env.CONSOLE_ADMINS,
    trustProxy: env.TRUST_PROXY,
    digestTo: env.DIGEST_TO,
    webhookSecret: env.WEBHOOK_SECRET,
    autonomy: env.AUTONOMY,
    demo,
    logLevel: env.LOG_LEVEL,
    workerConcurrency: env.WORKER_CONCURRENCY,
    offlineModelLatencyMs: env.OFFLINE_MODEL_LATENCY_MS,
    failpoints: new Set(
      (env.COUNTERSIGN_FAILPOINTS ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
    queuePrefix: env.COUNTERSIGN_QUEUE_PREFIX,
    review: {
      remindEveryMs: env.CHECKPOINT_REMINDER_MINUTES * 60_000,
      reminders: env.CHECKPOINT_REMINDERS,
      timeoutMs: env.CHECKPOINT_TIMEOUT_HOURS * 3_600_000,
      timeoutAction: env.CHECKPOINT_TIMEOUT_ACTION,
      escalateTo: parseEscalateTo(env.ESCALATE_TO),
    },
    workerLockMs: env.WORKER_LOCK_MS,
    runLeaseMs: env.RUN_LEASE_MS,
    reconcileIntervalMs: env.RECONCILE_INTERVAL_MS,
    journalRetentionMs: env.JOURNAL_RETENTION_HOURS * 3_600_000,
    slack: {
      botToken: env.SLACK_BOT_TOKEN,
      signingSecret: env.SLACK_SIGNING_SECRET,
      appToken: env.SLACK_APP_TOKEN,
      apiUrl: env.SLACK_API_URL,
      approvalsChannel: env.SLACK_APPROVALS_CHANNEL,
      oidc:
        env.SLACK_CLIENT_ID && env.SLACK_CLIENT_SECRET
          ? {
              clientId: env.SLACK_CLIENT_ID,
              clientSecret: env.SLACK_CLIENT_SECRET,
              authorizeUrl: env.SLACK_OIDC_AUTHORIZE_URL,
            }
          : undefined,
      intakeChannels: (env.SLACK_INTAKE_CHANNELS ?? '')
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    },
    imap: { url: env.IMAP_URL, mailbox: env.IMAP_MAILBOX, authservId: env.IMAP_AUTHSERV_ID },
    autoReply: { limit: env.EMAIL_AUTO_REPLY_LIMIT, windowMs: env.EMAIL_AUTO_REPLY_WINDOW_MINUTES * 60_000 },
    digestCron: env.DIGEST_CRON,
    digest: {
      timezones: Object.fromEntries(
        (env.DIGEST_TIMEZONES ?? '')
          .split(',')
          .map((pair) => pair.split('=').map((s) => s.trim()))
          .filter((p): p is [string, string] => p.length === 2 && Boolean(p[0]) && Boolean(p[1]))
          .map(([a, z]) => [a.toLowerCase(), z]),
      ),
      sendEmpty: env.DIGEST_SEND_EMPTY === '1' || env.DIGEST_SEND_EMPTY === 'true',
    },
    settings,
    settingsPath: env.COUNTERSIGN_CONFIG,
  };
}
