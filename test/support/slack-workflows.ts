import { z } from 'zod';
import type { App } from '../../src/app.js';
import { type CheckpointSpec, defineWorkflow, type Workflow } from '../../src/engine/workflow.js';

/**
 * A one-checkpoint workflow for Slack tests whose approvers, quorum and timers the test chooses: the dispute
 * workflow uses the defaults, and quorum and reminders need a workflow that names them.
 */
export function signOffWorkflow(name: string, spec: Partial<CheckpointSpec<{ note: string }>>) {
  return defineWorkflow({
    name,
    input: z.object({ title: z.string() }),
    async run(ctx, input: { title: string }) {
      const r = await ctx.checkpoint('sign-off', {
        title: input.title,
        summary: 'A test sign-off.',
        evidence: [{ title: 'Facts', items: [{ label: 'Amount', value: '10.00 EUR' }] }],
        proposal: { outcome: 'approve', confidence: 0.9 },
        editable: z.object({ note: z.string().min(3) }),
        values: { note: 'fine by the AI' },
        ...spec,
      });
      return { decision: r.decision, actor: r.actor, channel: r.channel };
    },
  });
}

/** Adds a workflow to a running test app (the registry is the map the engine reads at each start). */
export function register<I, O>(app: App, workflow: Workflow<I, O>) {
  (app.deps.workflows as Map<string, unknown>).set(workflow.name, workflow);
}
