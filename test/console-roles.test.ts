import { describe, expect, it } from 'vitest';
import { parseEnv } from '../src/config.js';
import { consoleRoster } from '../src/console/roles.js';

const env = {
  MONGODB_URI: 'mongodb://127.0.0.1:27017/countersign',
  REDIS_URL: 'redis://127.0.0.1:6379',
  APP_SECRET: 'an-app-secret-of-at-least-32-characters',
  COUNTERSIGN_API_TOKEN: 'an-api-token-0123456789',
  COUNTERSIGN_CONFIG: 'countersign.yaml',
  APPROVER_EMAILS: 'Approver@Acme.test',
  ESCALATE_TO: 'Duty@Acme.test, U0DUTY, #escalations',
  CONSOLE_ADMINS: 'root@acme.test',
};

const file = `
groups:
  leads: [lead@acme.test, U0LEAD]
  managers: [boss@acme.test]
workflows:
  card-dispute:
    stages: [{ approvers: leads }]
    timeout: { afterHours: 4, action: escalate, escalateTo: managers }
console:
  users: [viewer@acme.test, { email: lead@acme.test, role: viewer }, { email: ops@acme.test, role: admin }]
  admins: [approver@acme.test]
`;

describe('who may sign in to the console', () => {
  it('lets in every approver the configuration names, at the highest role it gives them', () => {
    const config = parseEnv(env, { readFile: () => file });
    const roster = consoleRoster(config);
    expect(Object.fromEntries(roster)).toEqual({
      'approver@acme.test': 'admin',
      'duty@acme.test': 'approver',
      U0DUTY: 'approver',
      'lead@acme.test': 'approver',
      U0LEAD: 'approver',
      'boss@acme.test': 'approver',
      'viewer@acme.test': 'viewer',
      'ops@acme.test': 'admin',
      'root@acme.test': 'admin',
    });
  });
});
