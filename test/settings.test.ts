import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../src/config.js';
import { Secret } from '../src/secret.js';
import {
  agentModel,
  checkpointTimers,
  emptySettings,
  groupMembers,
  loadSettings,
  parseSettings,
  type ReviewPolicy,
  revealProviders,
  reviewPolicy,
  routeEmail,
  type Settings,
  settingsSchema,
  slackCommandWorkflow,
  unknownWorkflowProblems,
  workflowAutonomyCeilings,
  workflowSettings,
} from '../src/settings.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The configuration example of CONTRACT.md, byte for byte as JSON. */
const CONTRACT_JSON = `{
  "groups": { "leads": ["lead@acme.test", "U0LEAD"], "finance": ["fin@acme.test"] },
  "workflows": {
    "refund-request": { "stages": [{ "approvers": "leads" }, { "approvers": "finance", "above": 100 }] },
    "card-dispute": { "autonomy": "manual" }
  },
  "console": { "users": ["ops@acme.test"] }
}
`;

/** The same configuration as an operator would write it in YAML. */
const CONTRACT_YAML = `groups:
  leads: [lead@acme.test, U0LEAD]
  finance: [fin@acme.test]
workflows:
  refund-request:
    stages:
      - approvers: leads
      - approvers: finance
        above: 100
  card-dispute:
    autonomy: manual
console:
  users: [ops@acme.test]
`;

/** A file system of one file, as loadSettings reads it. */
const fileOf =
  (name: string, text: string) =>
  (path: string): string => {
    if (path !== name) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };

/** The problem lines of a file that must not load. */
function problemsOf(name: string, text: string, env: Record<string, string> = {}): string[] {
  try {
    loadSettings(name, fileOf(name, text), env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the file to be refused');
}

const yamlProblems = (text: string, env: Record<string, string> = {}) => problemsOf('./countersign.yaml', text, env);
const LABEL = 'COUNTERSIGN_CONFIG (./countersign.yaml)';

describe('the configuration file of CONTRACT.md', () => {
  const fromJson = loadSettings('./countersign.json', fileOf('./countersign.json', CONTRACT_JSON));
  const fromYaml = loadSettings('./countersign.yaml', fileOf('./countersign.yaml', CONTRACT_YAML));

  it('parses as JSON', () => {
    expect(fromJson.groups).toEqual({ leads: ['lead@acme.test', 'U0LEAD'], finance: ['fin@acme.test'] });
    expect(fromJson.workflows['refund-request']?.stages).toEqual([
      { approvers: 'leads' },
      { approvers: 'finance', above: 100 },
    ]);
    expect(fromJson.workflows['card-dispute']?.autonomy).toBe('manual');
    expect(fromJson.console.users).toEqual(['ops@acme.test']);
  });

  it('parses as YAML to the same settings', () => {
    expect(fromYaml).toEqual(fromJson);
  });

  it('reads a YAML file that holds JSON', () => {
    expect(loadSettings('./countersign.yml', fileOf('./countersign.yml', CONTRACT_JSON))).toEqual(fromJson);
  });
});

describe('countersign.example.yaml', () => {
  const example = loadSettings(join(root, 'countersign.example.yaml'), undefined, { OPENAI_API_KEY: 'sk-from-env' });

  it('loads, with every section present', () => {
    expect(Object.keys(example.groups)).toEqual(['leads', 'finance', 'on-call']);
    expect(example.workflows['refund-request']?.stages?.map((s) => [s.approvers, s.above])).toEqual([
      ['leads', undefined],
      ['finance', 100],
      [['risk@acme.test', 'U0RISK'], undefined],
    ]);
    expect(example.workflows['card-dispute']?.autonomy).toBe('manual');
    expect(slackCommandWorkflow(example, 'refund')).toBe('refund-request');
    expect(example.console.users).toEqual(['ops@acme.test', { email: 'lead@acme.test', role: 'approver' }]);
    expect(example.console.admins).toEqual(['cto@acme.test']);
  });

  it('resolves apiKeyEnv from the environment it is given', () => {
    expect(revealProviders(example).openai).toEqual({ baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-from-env' });
  });
});

describe('without a file', () => {
  it('gives empty settings', () => {
    const empty = loadSettings(undefined);
    expect(empty).toEqual({
      groups: {},
      workflows: {},
      agents: {},
      routing: { email: [], slack: { commands: {} } },
      providers: {},
      console: expect.objectContaining({
        users: [],
        admins: [],
        sessionHours: 12,
        signInLimits: { perClient: 10, perAddress: 5, windowMinutes: 15, publicSubmitsPerHour: 20 },
      }),
      autonomy: {
        bar: { minAgreement: 0.98, minCases: 200, confidence: 0.95 },
        lower: { below: 0.9, minCases: 30, windowDays: 30 },
        confidenceBands: [0.7, 0.9],
        amountBands: [50, 250, 1000],
      },
    });
    expect(empty).toEqual(emptySettings());
    expect(loadSettings('  ')).toEqual(empty);
  });

  it('treats a YAML file of only comments as empty', () => {
    expect(loadSettings('c.yaml', fileOf('c.yaml', '# nothing configured yet\n'))).toEqual(emptySettings());
  });

  it('names a missing file on one line', () => {
    const missing = join(tmpdir(), 'countersign-no-such-dir', 'countersign.yaml');
    expect(() => loadSettings(missing)).toThrow(ConfigError);
    try {
      loadSettings(missing);
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([`COUNTERSIGN_CONFIG (${missing}): file not found`]);
    }
  });
});

describe('problem lines', () => {
  it('name the file and the path, and what was found', () => {
    const lines = yamlProblems(`workflows:
  refund-request:
    stages:
      - approvers: [lead@acme.test]
      - approvers: [fin@acme.test]
        above: lots
`);
    expect(lines).toEqual([`${LABEL} workflows.refund-request.stages[1].above: expected a number, got "lots"`]);
  });

  it('refuse a misspelt key and suggest the right one', () => {
    expect(yamlProblems('workflows:\n  card-dispute:\n    autonomie: manual\n')).toEqual([
      `${LABEL} workflows.card-dispute: unknown key "autonomie" (did you mean "autonomy"?)`,
    ]);
    expect(yamlProblems('group:\n  leads: [a@acme.test]\n')).toEqual([
      `${LABEL}: unknown key "group" (did you mean "groups"?)`,
    ]);
  });

  it('list every problem in the file, one per line', () => {
    const lines = yamlProblems(`groups:
  leads: [lead@acme.test, bob]
workflows:
  card-dispute: { autonomy: yolo }
  refund-request:
    stages: [{ approvers: finanse }]
`);
    expect(lines).toEqual([
      `${LABEL} groups.leads[1]: expected an email address, a Slack user id (U… or W…), a Slack user-group id (S…) or a group name, got "bob" (groups: "leads")`,
      `${LABEL} workflows.card-dispute.autonomy: expected manual, shadow, assisted or autonomous, got "yolo"`,
      `${LABEL} workflows.refund-request.stages[0].approvers: unknown group "finanse" (groups: "leads")`,
    ]);
  });

  it('give line and column for a YAML syntax error', () => {
    expect(yamlProblems('groups:\n  leads: [lead@acme.test\n  finance: [fin@acme.test]\n')).toEqual([
      `${LABEL} line 3:3: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ]);
  });

  it('refuse a key given twice in YAML', () => {
    expect(yamlProblems('groups:\n  leads: [a@acme.test]\n  leads: [b@acme.test]\n')).toEqual([
      `${LABEL} line 3:3: Map keys must be unique`,
    ]);
  });

  it('give line and column for a JSON syntax error', () => {
    expect(problemsOf('c.json', '{\n  "groups": { "leads": ["a@acme.test"], }\n}\n')).toEqual([
      'COUNTERSIGN_CONFIG (c.json) line 2:41: expected a property name in double quotes (JSON allows no trailing comma)',
    ]);
    expect(problemsOf('c.json', '{\n  "console": { "users": [ops@acme.test] }\n}')).toEqual([
      'COUNTERSIGN_CONFIG (c.json) line 2:26: unexpected character or word (JSON strings need double quotes)',
    ]);
  });

  it('refuse comments in a .json file', () => {
    expect(problemsOf('c.json', '{\n  // groups\n  "groups": {}\n}')).toEqual([
      'COUNTERSIGN_CONFIG (c.json) line 2:3: comments are not allowed in JSON (YAML allows them)',
    ]);
  });

  it('say what a name, a number or an address must look like', () => {
    const text = `groups:
  "bad group!": [a@acme.test]
workflows:
  w:
    reminders: { everyMinutes: 1.5, max: 99 }
    timeout: { afterHours: 0 }
routing:
  slack: { commands: { Refund: w } }
console: { users: [not-an-email] }
`;
    expect(yamlProblems(text)).toEqual([
      `${LABEL} groups["bad group!"]: expected a group name of letters, digits, ".", "_" or "-" (at most 63)`,
      `${LABEL} workflows.w.reminders.everyMinutes: expected a whole number, got 1.5`,
      `${LABEL} workflows.w.reminders.max: expected at most 50, got 99`,
      `${LABEL} workflows.w.timeout.afterHours: expected more than 0, got 0`,
      `${LABEL} routing.slack.commands.Refund: expected a lowercase word (letters, digits, "-")`,
      `${LABEL} console.users[0]: expected an email address or { email, role: viewer | approver | admin }`,
    ]);
  });

  it('refuse a file that is not a mapping', () => {
    expect(yamlProblems('- leads\n- finance\n')).toEqual([`${LABEL}: expected a mapping, got a list`]);
  });
});

describe('cross-field rules', () => {
  const groups = 'groups:\n  leads: [lead@acme.test, U0LEAD]\n  finance: [fin@acme.test, S0FIN]\n';

  it('refuse a stage naming an unknown group', () => {
    expect(
      yamlProblems(`${groups}workflows:\n  w:\n    stages: [{ approvers: leads }, { approvers: legal }]\n`),
    ).toEqual([`${LABEL} workflows.w.stages[1].approvers: unknown group "legal" (groups: "leads", "finance")`]);
  });

  it('suggest a list when a stage names a person instead of a group', () => {
    expect(yamlProblems('workflows:\n  w:\n    stages: [{ approvers: lead@acme.test }]\n')).toEqual([
      `${LABEL} workflows.w.stages[0].approvers: unknown group "lead@acme.test" (no groups are defined); to name people directly, write a list`,
    ]);
  });

  it('refuse escalation to an unknown group', () => {
    expect(yamlProblems(`${groups}workflows:\n  w:\n    timeout: { action: escalate, escalateTo: oncall }\n`)).toEqual([
      `${LABEL} workflows.w.timeout.escalateTo: unknown group "oncall" (groups: "leads", "finance")`,
    ]);
  });

  it('refuse an agent naming an unknown provider, per workflow and deployment-wide', () => {
    const text = `providers:\n  local: { baseUrl: "http://127.0.0.1:8000/v1" }
workflows:\n  w:\n    agents: { refund-advisor: { provider: locale } }
agents:\n  dispute-manager: { provider: remote, model: m }\n`;
    expect(yamlProblems(text)).toEqual([
      `${LABEL} workflows.w.agents.refund-advisor.provider: unknown provider "locale" (providers: "local")`,
      `${LABEL} agents.dispute-manager.provider: unknown provider "remote" (providers: "local")`,
    ]);
  });

  it('refuse apiKeyEnv naming a variable missing from the environment it is given', () => {
    process.env.COUNTERSIGN_TEST_ONLY_IN_PROCESS_ENV = 'sk-process-env';
    try {
      const text =
        'providers:\n  local: { baseUrl: "http://127.0.0.1:8000/v1", apiKeyEnv: COUNTERSIGN_TEST_ONLY_IN_PROCESS_ENV }\n';
      expect(yamlProblems(text)).toEqual([
        `${LABEL} providers.local.apiKeyEnv: environment variable COUNTERSIGN_TEST_ONLY_IN_PROCESS_ENV is not set`,
      ]);
      const settings = loadSettings('c.yaml', fileOf('c.yaml', text), {
        COUNTERSIGN_TEST_ONLY_IN_PROCESS_ENV: 'sk-given',
      });
      expect(revealProviders(settings).local?.apiKey).toBe('sk-given');
    } finally {
      delete process.env.COUNTERSIGN_TEST_ONLY_IN_PROCESS_ENV;
    }
  });

  it('refuse a provider with both apiKey and apiKeyEnv', () => {
    const text = 'providers:\n  p: { baseUrl: "https://llm.acme.test/v1", apiKey: sk-abc, apiKeyEnv: K }\n';
    expect(yamlProblems(text, { K: 'x' })).toEqual([`${LABEL} providers.p: give apiKey or apiKeyEnv, not both`]);
  });

  it('refuse a group member that is neither an email, a Slack id nor a group', () => {
    expect(
      yamlProblems('groups:\n  leads: [u0lead, "#approvals", C0CHANNEL, finance]\n  finance: [fin@acme.test]\n'),
    ).toEqual([
      `${LABEL} groups.leads[0]: expected an email address, a Slack user id (U… or W…), a Slack user-group id (S…) or a group name, got "u0lead" (groups: "leads", "finance")`,
      `${LABEL} groups.leads[1]: expected an email address, a Slack user id (U… or W…), a Slack user-group id (S…) or a group name, got "#approvals"`,
      `${LABEL} groups.leads[2]: expected an email address, a Slack user id (U… or W…), a Slack user-group id (S…) or a group name, got "C0CHANNEL" (groups: "leads", "finance")`,
    ]);
  });

  it('accept groups of groups and lists naming groups, expanded by groupMembers', () => {
    const settings = loadSettings(
      'c.yaml',
      fileOf(
        'c.yaml',
        `groups:
  leads: [lead@acme.test, U0LEAD]
  finance: [fin@acme.test]
  managers: [leads, finance, boss@acme.test]
workflows:
  w:
    stages: [{ approvers: [managers, U0OTHER], quorum: { count: 5 } }]
`,
      ),
    );
    expect(groupMembers(settings, 'managers')).toEqual({
      emails: ['lead@acme.test', 'fin@acme.test', 'boss@acme.test'],
      slackUsers: ['U0LEAD'],
      slackUserGroups: [],
    });
    expect(groupMembers(settings, ['managers', 'leads', 'U0OTHER']).slackUsers).toEqual(['U0LEAD', 'U0OTHER']);
  });

  it('refuse a list naming an unknown group, and groups that include themselves', () => {
    const text = `groups:
  a: [b]
  b: [a, x@acme.test]
workflows:
  w:
    stages: [{ approvers: [a, legal] }]
`;
    expect(yamlProblems(text)).toEqual([
      `${LABEL} groups.a: group "a" includes itself (a → b → a)`,
      `${LABEL} groups.b: group "b" includes itself (b → a → b)`,
      `${LABEL} workflows.w.stages[0].approvers[1]: expected an email address, a Slack user id (U… or W…), a Slack user-group id (S…) or a group name, got "legal" (groups: "a", "b")`,
    ]);
  });

  it('refuse stage thresholds that decrease', () => {
    const text = `${groups}workflows:\n  w:\n    stages:
      - { approvers: leads, above: 500 }
      - { approvers: finance }
      - { approvers: finance, above: 100 }\n`;
    expect(yamlProblems(text)).toEqual([
      `${LABEL} workflows.w.stages[2].above: must not be below an earlier stage's threshold (stages[0].above is 500)`,
    ]);
  });

  it('refuse a quorum larger than the group', () => {
    const text = `${groups}workflows:\n  w:\n    stages: [{ approvers: leads, quorum: { count: 3 } }]\n`;
    expect(yamlProblems(text)).toEqual([
      `${LABEL} workflows.w.stages[0].quorum.count: quorum of 3 but the approvers have only 2 members`,
    ]);
  });

  it('count an inline list for the quorum, and leave a group with a Slack user group to Slack', () => {
    const text = `${groups}workflows:\n  w:\n    stages:
      - { approvers: [a@acme.test, A@acme.test], quorum: { count: 2 } }
      - { approvers: finance, quorum: { count: 5 } }\n`;
    expect(yamlProblems(text)).toEqual([
      `${LABEL} workflows.w.stages[0].quorum.count: quorum of 2 but the approvers have only 1 member`,
    ]);
  });

  it('refuse two stages of one name', () => {
    const text = `${groups}workflows:\n  w:\n    stages: [{ name: a, approvers: leads }, { name: a, approvers: finance }]\n`;
    expect(yamlProblems(text)).toEqual([
      `${LABEL} workflows.w.stages[1].name: stage name "a" is already used by stages[0]`,
    ]);
  });

  it('refuse a subject route that is not a regular expression', () => {
    expect(yamlProblems('routing:\n  email: [{ subject: "refund(", workflow: refund-request }]\n')).toEqual([
      `${LABEL} routing.email[0].subject: expected a regular expression, got "refund("`,
    ]);
  });
});

describe('secrets', () => {
  const KEY = 'sk-live-0123456789abcdef';

  it('never appear in problem lines', () => {
    const lines = yamlProblems(`providers:
  good: { baseUrl: "https://llm.acme.test/v1", apiKey: ${KEY} }
  bad: { baseUrl: "not a url", apiKey: ${KEY} }
  misplaced: ${KEY}
  wrong: { baseUrl: "https://llm.acme.test/v1", apiKey: [${KEY}] }
workflows:
  w: { autonomy: ${KEY} }
`);
    expect(lines).toHaveLength(4);
    expect(lines.join('\n')).not.toContain('0123456789');
    expect(lines).toContain(`${LABEL} providers.misplaced: expected a mapping, got text`);
  });

  it('serialise to nothing and print as [secret]', () => {
    const settings = loadSettings(
      'c.yaml',
      fileOf('c.yaml', `providers:\n  p: { baseUrl: "https://llm.acme.test/v1", apiKey: ${KEY} }\n`),
    );
    expect(settings.providers.p?.apiKey).toBeInstanceOf(Secret);
    expect(JSON.stringify(settings)).not.toContain(KEY);
    expect(JSON.stringify(settings.providers.p)).toBe('{"baseUrl":"https://llm.acme.test/v1"}');
    expect(inspect(settings, { depth: 10 })).not.toContain(KEY);
    expect(String(settings.providers.p?.apiKey)).toBe('[secret]');
    expect(revealProviders(settings).p).toEqual({ baseUrl: 'https://llm.acme.test/v1', apiKey: KEY });
  });
});

describe('helpers', () => {
  const settings = parseSettings(
    {
      groups: { leads: ['Lead@Acme.test', 'U0LEAD', 'W0GUEST', 'S0LEADS'], finance: ['fin@acme.test'] },
      workflows: {
        'refund-request': {
          autonomy: 'assisted',
          stages: [{ approvers: 'leads' }, { approvers: 'finance', above: 100 }],
          reminders: { everyMinutes: 30 },
          timeout: { afterHours: 2, escalateTo: 'finance' },
          agents: { 'refund-advisor': { provider: 'local' }, 'policy-check': { model: 'small' } },
        },
        'card-dispute': { autonomy: 'manual' },
      },
      agents: { 'refund-advisor': { model: 'big' }, 'policy-check': { provider: 'local', model: 'medium' } },
      routing: {
        email: [{ to: 'refunds@acme.test', workflow: 'refund-request', requireAuth: 'pass' }, { workflow: 'other' }],
        slack: { commands: { refund: 'refund-request' } },
      },
      providers: { local: { baseUrl: 'http://127.0.0.1:8000/v1', supports: { tools: false } } },
    },
    'test',
  );

  it('groupMembers splits a group by channel, and takes an inline list too', () => {
    expect(groupMembers(settings, 'leads')).toEqual({
      emails: ['lead@acme.test'],
      slackUsers: ['U0LEAD', 'W0GUEST'],
      slackUserGroups: ['S0LEADS'],
    });
    expect(groupMembers(settings, ['a@acme.test', 'U0ONE'])).toEqual({
      emails: ['a@acme.test'],
      slackUsers: ['U0ONE'],
      slackUserGroups: [],
    });
    expect(groupMembers(settings, 'nobody')).toEqual({ emails: [], slackUsers: [], slackUserGroups: [] });
  });

  it('workflowSettings gives the file entry, or nothing for a workflow it does not name', () => {
    expect(workflowSettings(settings, 'refund-request').stages).toHaveLength(2);
    expect(workflowSettings(settings, 'expense-claim')).toEqual({ agents: {} });
  });

  it('workflowAutonomyCeilings lists the workflows that set one', () => {
    expect(workflowAutonomyCeilings(settings)).toEqual({ 'refund-request': 'assisted', 'card-dispute': 'manual' });
  });

  it('agentModel lays the workflow entry over the deployment-wide one', () => {
    // Switching provider drops a model meant for another server.
    expect(agentModel(settings, 'refund-request', 'refund-advisor')).toEqual({ provider: 'local' });
    expect(agentModel(settings, undefined, 'refund-advisor')).toEqual({ model: 'big' });
    expect(agentModel(settings, 'refund-request', 'policy-check')).toEqual({ provider: 'local', model: 'small' });
    expect(agentModel(settings, 'card-dispute', 'policy-check')).toEqual({ provider: 'local', model: 'medium' });
    expect(agentModel(settings, 'card-dispute', 'language-analyst')).toEqual({});
  });

  it('routeEmail gives the routes in order, named by their path when unnamed', () => {
    expect(routeEmail(settings)).toEqual([
      { name: 'routing.email[0]', to: 'refunds@acme.test', workflow: 'refund-request', requireAuth: 'pass' },
      { name: 'routing.email[1]', workflow: 'other', requireAuth: 'not-fail' },
    ]);
  });

  it('slackCommandWorkflow finds the workflow of a word, in any case', () => {
    expect(slackCommandWorkflow(settings, 'refund')).toBe('refund-request');
    expect(slackCommandWorkflow(settings, 'Refund')).toBe('refund-request');
    expect(slackCommandWorkflow(settings, 'constructor')).toBeUndefined();
  });

  it('reviewPolicy overrides the env defaults with what the file sets for the workflow', () => {
    const defaults: ReviewPolicy = {
      remindEveryMs: 240 * 60_000,
      reminders: 3,
      timeoutMs: 48 * 3_600_000,
      timeoutAction: 'escalate',
      escalateTo: { emails: ['boss@acme.test'], slackUsers: [], slackChannels: ['#ops'], slackGroups: [] },
    };
    expect(reviewPolicy(defaults, settings, 'refund-request')).toEqual({
      remindEveryMs: 30 * 60_000,
      reminders: 3,
      timeoutMs: 2 * 3_600_000,
      timeoutAction: 'escalate',
      escalateTo: { emails: ['fin@acme.test'], slackUsers: [], slackChannels: [], slackGroups: [] },
    });
    expect(reviewPolicy(defaults, settings, 'card-dispute')).toEqual(defaults);
    expect(checkpointTimers(defaults, settings, 'refund-request')).toEqual({
      reminders: { everyMs: 30 * 60_000, max: 3 },
      timeout: {
        afterMs: 2 * 3_600_000,
        action: 'escalate',
        escalateTo: { emails: ['fin@acme.test'], slackUsers: [], slackChannels: [], slackGroups: [] },
      },
    });
    expect(checkpointTimers({ ...defaults, reminders: 0 }, settings, 'card-dispute')).not.toHaveProperty('reminders');
  });

  it('revealProviders passes on what each server supports', () => {
    expect(revealProviders(settings)).toEqual({
      local: { baseUrl: 'http://127.0.0.1:8000/v1', supports: { tools: false } },
    });
  });

  it('unknownWorkflowProblems names file entries no module registered', () => {
    expect(unknownWorkflowProblems(settings, ['refund-request', 'card-dispute'], './c.yaml')).toEqual([
      'COUNTERSIGN_CONFIG (./c.yaml) routing.email[1].workflow: unknown workflow "other" (registered: "refund-request", "card-dispute")',
    ]);
  });

  it('settingsSchema alone refuses a misspelt key', () => {
    expect(settingsSchema.safeParse({ workflows: { w: { stage: [] } } }).success).toBe(false);
    const parsed: Settings = settingsSchema.parse({ groups: { leads: ['a@acme.test'] } });
    expect(parsed.groups.leads).toEqual(['a@acme.test']);
  });
});

describe('parseEnv with COUNTERSIGN_CONFIG', () => {
  const required = {
    MONGODB_URI: 'mongodb://127.0.0.1:27017/countersign',
    REDIS_URL: 'redis://127.0.0.1:6379',
    APP_SECRET: 'an-app-secret-of-at-least-32-characters',
    COUNTERSIGN_API_TOKEN: 'an-api-token-0123456789',
  };

  it('puts empty settings on Config without a file', () => {
    expect(parseEnv(required).settings).toEqual(emptySettings());
    expect(parseEnv({ ...required, COUNTERSIGN_CONFIG: '' }).settings).toEqual(emptySettings());
  });

  it('loads the file it names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-settings-'));
    const path = join(dir, 'countersign.yaml');
    writeFileSync(path, CONTRACT_YAML);
    try {
      const config = parseEnv({ ...required, COUNTERSIGN_CONFIG: path });
      expect(config.settings.groups.finance).toEqual(['fin@acme.test']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports bad variables and problems in the file together', () => {
    try {
      parseEnv(
        { ...required, PORT: 'x', COUNTERSIGN_CONFIG: 'c.yaml' },
        { readFile: fileOf('c.yaml', 'workflows: { w: { autonomy: yolo } }\n') },
      );
      expect.unreachable('the configuration must be refused');
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        'PORT: expected a whole number from 1 to 65535',
        'COUNTERSIGN_CONFIG (c.yaml) workflows.w.autonomy: expected manual, shadow, assisted or autonomous, got "yolo"',
      ]);
    }
  });
});
