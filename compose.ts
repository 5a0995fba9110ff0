import { disputesModule } from './agents/disputes/module.js';
import { refundsModule } from './agents/refunds/module.js';
import { agreementRoutes } from './handlers/agreement.js';
import { apiRoutes } from './handlers/api.js';
import { approvalRoutes } from './handlers/approvals.js';
import { autonomyRoutes } from './handlers/autonomy.js';
import { consoleRoutes } from './handlers/console/index.js';
import { delegationRoutes } from './handlers/delegations.js';
import { emailReviewRoutes } from './handlers/email/review.js';
import { startEmailIntake } from './handlers/email/start.js';
import { evalRoutes } from './handlers/evals.js';
import { healthRoutes } from './handlers/health.js';
import { handleSlackJob, registerSlackHandlers } from './handlers/slack/index.js';
import { webhookRoutes } from './handlers/webhooks.js';
import { workflowRoutes } from './handlers/workflows.js';
import { type App, type AppOptions, createApp, type InboundAdapters } from './src/app.js';
import type { UseCaseModule } from './src/modules/types.js';

/**
 * The composition root: the one place that names the use cases and the inbound adapters. A new process is a
 * folder under agents/ whose module is added to this list; nothing under src/ or handlers/ changes.
 */
export const modules: readonly UseCaseModule[] = [disputesModule, refundsModule];

/** handlers/, handed to the platform: HTTP routes in mount order, Slack listeners, the mailbox reader. */
export const inbound: InboundAdapters = {
  http: [
    healthRoutes,
    webhookRoutes,
    emailReviewRoutes,
    workflowRoutes,
    agreementRoutes,
    evalRoutes,
    autonomyRoutes,
    delegationRoutes,
    apiRoutes,
    approvalRoutes,
    consoleRoutes,
  ],
  slack: { register: registerSlackHandlers, handleJob: handleSlackJob },
  email: { startMailboxIntake: startEmailIntake },
};

/** The app with this deployment's modules and adapters; `modules` replaces the list (tests add their own). */
export function createCountersign(
  options: Omit<AppOptions, 'modules' | 'inbound'> & { modules?: readonly UseCaseModule[] },
): Promise<App> {
  return createApp({ ...options, modules: options.modules ?? modules, inbound });
}
