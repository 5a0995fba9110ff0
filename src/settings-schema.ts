import { z } from 'zod';
import { ANY, normalizeBand, patternProblems } from './autonomy/slices.js';
import { Secret } from './secret.js';

/**
 * The configuration file (`COUNTERSIGN_CONFIG`, JSON or YAML): what operators change without code. Every object is
 * strict, so a misspelt key is an error rather than a silently ignored setting. `countersign.example.yaml` shows
 * every option.
 */

/** Autonomy levels in increasing order of what the AI may do without a person. */
export const AUTONOMY_LEVELS = ['manual', 'shadow', 'assisted', 'autonomous'] as const;
export type Autonomy = (typeof AUTONOMY_LEVELS)[number];

export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const nameKey = (what: string) =>
  z.string().regex(NAME, { error: `expected a ${what} name of letters, digits, ".", "_" or "-" (at most 63)` });

export const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
export const SLACK_USER_GROUP = /^S[A-Z0-9]{2,}$/;
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const emailSchema = z.email();
const isEmail = (s: string) => emailSchema.safeParse(s).success;

export const isMember = (s: string) => isEmail(s) || SLACK_USER.test(s) || SLACK_USER_GROUP.test(s);
export const MEMBER_MESSAGE =
  'expected an email address, a Slack user id (U… or W…), a Slack user-group id (S…) or a group name';

/**
 * A person, a Slack user group, or another group by name. Whether a name is a group is checked across sections
 * (settings.ts), with the same message.
 */
const memberSchema = z
  .string()
  .trim()
  .refine((m) => isMember(m) || NAME.test(m), { error: MEMBER_MESSAGE })
  .transform((m) => (m.includes('@') ? m.toLowerCase() : m));
const memberList = z.array(memberSchema).min(1, { error: 'expected at least one member' });

/** A group's name, or a list of members and group names. */
const approversSchema = z.union([z.string().min(1), memberList], {
  error: 'expected a group name or a list of members',
});

const quorumSchema = z.union(
  [z.literal('any'), z.literal('all'), z.strictObject({ count: z.int().min(1, { error: 'expected at least 1' }) })],
  { error: 'expected "any", "all" or { count: <number> }' },
);

export const stageSchema = z.strictObject({
  /** Names the stage's checkpoint (`<id>-<name>`), so it must be a plain word. */
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lowercase letters, digits or "-" (at most 40)' })
    .optional(),
  approvers: approversSchema,
  /** The stage applies when the run's amount is above this (major units). */
  above: z.number().min(0).optional(),
  /** The stage applies when the agents' risk score is above this. */
  riskAbove: z.number().min(0).optional(),
  quorum: quorumSchema.optional(),
});

const stagesSchema = z
  .array(stageSchema)
  .min(1)
  .superRefine((stages, ctx) => {
    let previous: { above: number; index: number } | undefined;
    const names = new Map<string, number>();
    stages.forEach((stage, index) => {
      if (stage.above !== undefined) {
        if (previous && stage.above < previous.above)
          ctx.addIssue({
            code: 'custom',
            path: [index, 'above'],
            message: `must not be below an earlier stage's threshold (stages[${previous.index}].above is ${previous.above})`,
          });
        else previous = { above: stage.above, index };
      }
      if (stage.name !== undefined) {
        const first = names.get(stage.name);
        if (first !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `stage name "${stage.name}" is already used by stages[${first}]`,
          });
        else names.set(stage.name, index);
      }
    });
  });

const agentChoiceSchema = z.strictObject({
  provider: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
});
const agentsSchema = z.record(nameKey('agent'), agentChoiceSchema).default({});

const bandName = z
  .string()
  .trim()
  .min(1)
  .max(40)
  .transform((band) => normalizeBand(band));

/** A level for one kind of case (autonomy boundary): band names from `autonomy.*Bands`; an omitted field is any. */
const sliceRuleSchema = z.strictObject({
  outcome: z
    .string()
    .trim()
    .regex(/^[^/\s]{1,60}$/, { error: 'expected an outcome of 1-60 characters without spaces or "/"' })
    .optional(),
  confidence: bandName.optional(),
  amount: bandName.optional(),
  autonomy: z.enum(AUTONOMY_LEVELS),
});

const workflowSchema = z.strictObject({
  /**
   * This workflow's level for cases no slice names (default `autonomous`, so AUTONOMY decides); `AUTONOMY` caps it
   * and every slice. Slices and applied grants may set a kind of case above or below it, never above AUTONOMY.
   */
  autonomy: z.enum(AUTONOMY_LEVELS).optional(),
  /**
   * Levels for kinds of case, overriding `autonomy` for matching cases in either direction (never above AUTONOMY).
   * The most specific entry wins; a grant a person applied (`countersign autonomy`) beats an entry as specific.
   */
  slices: z.array(sliceRuleSchema).max(100).optional(),
  stages: stagesSchema.optional(),
  requireRejectReason: z.boolean().optional(),
  reminders: z
    .strictObject({
      everyMinutes: z.int().min(1).max(10_080).optional(),
      max: z.int().min(0).max(50).optional(),
    })
    .optional(),
  timeout: z
    .strictObject({
      afterHours: z.number().positive().max(8_760).optional(),
      action: z.enum(['escalate', 'reject', 'approve', 'keep-waiting']).optional(),
      escalateTo: approversSchema.optional(),
    })
    .optional(),
  agents: agentsSchema,
  /**
   * Which of this workflow's pending checkpoints the console offers for bulk approval (src/console/bulk.ts):
   * `false` for none; otherwise those whose proposal is at least `minConfidence` sure, whose amount is at most
   * `maxAmount`, and whose proposed outcome is among `outcomes` (any when absent). Absent: 85 % and 100.
   */
  bulkApprove: z
    .union([
      z.literal(false),
      z.strictObject({
        maxAmount: z.number().nonnegative().optional(),
        minConfidence: z.number().min(0).max(1).optional(),
        outcomes: z.array(z.string().min(1).max(60)).max(20).optional(),
      }),
    ])
    .optional(),
});

const emailRouteSchema = z.strictObject({
  name: z.string().min(1).max(60).optional(),
  /** Recipient address, `@domain`, or `local@`; any when absent. */
  to: z.string().min(1).max(320).optional(),
  /** Case-insensitive regular expression on the subject; any when absent. */
  subject: z
    .string()
    .min(1)
    .max(200)
    .refine(
      (s) => {
        try {
          new RegExp(s, 'i');
          return true;
        } catch {
          return false;
        }
      },
      { error: 'expected a regular expression' },
    )
    .optional(),
  workflow: nameKey('workflow'),
  requireAuth: z.enum(['not-fail', 'pass']).optional(),
});

const providerSchema = z
  .strictObject({
    baseUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
    apiKey: z
      .string()
      .min(1)
      .transform((key) => new Secret(key))
      .optional(),
    /** The environment variable holding the key, so the file itself may be committed. */
    apiKeyEnv: z.string().regex(ENV_NAME, { error: 'expected an environment variable name' }).optional(),
    supports: z
      .strictObject({
        strictJsonSchema: z.boolean().optional(),
        jsonMode: z.boolean().optional(),
        tools: z.boolean().optional(),
      })
      .optional(),
  })
  .refine((p) => !(p.apiKey && p.apiKeyEnv), { error: 'give apiKey or apiKeyEnv, not both' });

/** Increasing cut points: each one starts a band. */
const cutPoints = (what: string, item: z.ZodNumber, defaults: number[]) =>
  z
    .array(item)
    .min(1)
    .max(12)
    .refine((cuts) => cuts.every((c, i) => i === 0 || c > (cuts[i - 1] as number)), {
      error: `expected ${what} cut points in increasing order, each once`,
    })
    .default(defaults);

/** The autonomy boundary on evidence: when to recommend raising or lowering a slice, and how cases are sliced. */
const autonomySchema = z.strictObject({
  bar: z
    .strictObject({
      /** The Wilson lower bound of agreement a slice must reach. */
      minAgreement: z
        .number()
        .gt(0, { error: 'expected a share above 0' })
        .max(1, { error: 'expected a share of at most 1' })
        .default(0.98),
      minCases: z.int().min(1).max(1_000_000).default(200),
      /** Confidence level of the Wilson intervals. */
      confidence: z
        .number()
        .gt(0.5, { error: 'expected a confidence level above 0.5' })
        .lt(1, { error: 'expected a confidence level below 1' })
        .default(0.95),
    })
    .prefault({}),
  lower: z
    .strictObject({
      /** Lower a slice when the Wilson upper bound of its live agreement falls below this. */
      below: z
        .number()
        .gt(0, { error: 'expected a share above 0' })
        .max(1, { error: 'expected a share of at most 1' })
        .default(0.9),
      minCases: z.int().min(1).max(1_000_000).default(30),
      windowDays: z.int().min(1).max(3_650).default(30),
    })
    .prefault({}),
  confidenceBands: cutPoints(
    'confidence',
    z.number().gt(0, { error: 'expected a confidence above 0' }).lt(1, { error: 'expected a confidence below 1' }),
    [0.7, 0.9],
  ),
  amountBands: cutPoints('amount', z.number().gt(0, { error: 'expected an amount above 0' }), [50, 250, 1000]),
});

const consoleEmail = z.email().transform((e) => e.toLowerCase());

/** Who may sign in to the console besides approvers, and for how long a session lasts. */
const consoleSchema = z
  .strictObject({
    /** Viewers, or `{ email, role }` for another role. */
    users: z
      .array(
        z.union(
          [consoleEmail, z.strictObject({ email: consoleEmail, role: z.enum(['viewer', 'approver', 'admin']) })],
          {
            error: 'expected an email address or { email, role: viewer | approver | admin }',
          },
        ),
      )
      .default([]),
    /** May cancel runs, retry steps, apply autonomy grants and mint public form links. */
    admins: z.array(consoleEmail).default([]),
    sessionHours: z
      .number()
      .positive()
      .max(24 * 30)
      .default(12),
    /** Sign-in link requests allowed per window: from one client address, and to one email address. */
    signInLimits: z
      .strictObject({
        perClient: z.int().min(1).max(100_000).default(10),
        perAddress: z.int().min(1).max(100_000).default(5),
        windowMinutes: z.int().min(1).max(1_440).default(15),
        /** Runs one client may start per hour through one workflow's public form link. */
        publicSubmitsPerHour: z.int().min(1).max(100_000).default(20),
      })
      .prefault({}),
    /**
     * Field names whose values the console masks wherever it shows recorded data (tool arguments and details, run
     * input and output, step results), at any depth, compared without regard to case.
     */
    redact: z
      .array(z.string().trim().min(1).max(100))
      .max(200)
      .default(['cardNumber', 'pan', 'cvc', 'cvv', 'password', 'secret', 'token', 'apiKey', 'authorization']),
  })
  .prefault({});

export const settingsSchema = z
  .strictObject({
    groups: z.record(nameKey('group'), memberList).default({}),
    workflows: z.record(nameKey('workflow'), workflowSchema).default({}),
    /** Deployment-wide agent choices; `workflows.<name>.agents` overrides them for that workflow. */
    agents: agentsSchema,
    routing: z
      .strictObject({
        email: z.array(emailRouteSchema).default([]),
        slack: z
          .strictObject({
            commands: z
              .record(
                z
                  .string()
                  .regex(/^[a-z][a-z0-9-]{0,31}$/, { error: 'expected a lowercase word (letters, digits, "-")' }),
                nameKey('workflow'),
              )
              .default({}),
          })
          .prefault({}),
      })
      .prefault({}),
    providers: z.record(nameKey('provider'), providerSchema).default({}),
    console: consoleSchema,
    autonomy: autonomySchema.prefault({}),
  })
  .superRefine((settings, ctx) => {
    // Slice band names are only known once the bands are read, so they are checked against the file's own bands.
    for (const [name, wf] of Object.entries(settings.workflows)) {
      wf.slices?.forEach((rule, i) => {
        const fields = [
          ['confidence', { confidenceBand: rule.confidence ?? ANY }],
          ['amount', { amountBand: rule.amount ?? ANY }],
        ] as const;
        for (const [field, pattern] of fields)
          for (const message of patternProblems(pattern, settings.autonomy))
            ctx.addIssue({ code: 'custom', path: ['workflows', name, 'slices', i, field], message });
      });
    }
  });

export type Settings = z.output<typeof settingsSchema>;
export type WorkflowSettings = z.output<typeof workflowSchema>;
export type StageSettings = z.output<typeof stageSchema>;
export type ProviderSettings = Settings['providers'][string];
export type SliceRuleSettings = z.output<typeof sliceRuleSchema>;
export type AutonomySettings = z.output<typeof autonomySchema>;
