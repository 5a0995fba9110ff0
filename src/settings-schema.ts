import { z } from 'zod';
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

const workflowSchema = z.strictObject({
  /** This workflow's ceiling; `AUTONOMY` still caps every workflow. */
  autonomy: z.enum(AUTONOMY_LEVELS).optional(),
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

export const settingsSchema = z.strictObject({
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
              z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, { error: 'expected a lowercase word (letters, digits, "-")' }),
              nameKey('workflow'),
            )
            .default({}),
        })
        .prefault({}),
    })
    .prefault({}),
  providers: z.record(nameKey('provider'), providerSchema).default({}),
  console: z.strictObject({ users: z.array(z.email().transform((e) => e.toLowerCase())).default([]) }).prefault({}),
});

export type Settings = z.output<typeof settingsSchema>;
export type WorkflowSettings = z.output<typeof workflowSchema>;
export type StageSettings = z.output<typeof stageSchema>;
export type ProviderSettings = Settings['providers'][string];
