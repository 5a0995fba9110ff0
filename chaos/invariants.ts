import { createHash } from 'node:crypto';
import type { DecisionRecord } from './decisions.js';
import type { InboundRecord } from './intake.js';
import type { CheckpointRow, RunRow, Snapshot } from './observe.js';

/** What the end of a chaos run is judged on: what was sent, what the store holds, what left by mail and Slack. */
export interface InvariantInput {
  inbound: readonly InboundRecord[];
  /** The start of the fault window: times in the details are relative to it, like the report's. */
  t0: number;
  decisions: readonly DecisionRecord[];
  snapshot: Snapshot;
  /** Every mail the SMTP capture received (approver mails included; the effect header tells them apart). */
  mails: readonly { messageId: string | undefined; effect: string | undefined }[];
  /** Every chat.postMessage the Slack stand-in received, blocks as posted (chat.update rewrites them later). */
  slackPosts: readonly { channel: string; threadTs?: string; blocks: unknown[] }[];
  approvalsChannel: string;
  /** The domain of MAIL_FROM: Message-IDs of our mails end in it. */
  mailDomain: string;
}

export interface InvariantResult {
  name: string;
  title: string;
  ok: boolean;
  /** The runs that break it (card-dispute runs, or the intake run when no dispute exists). */
  runIds: string[];
  /** One line per problem, naming the run, the message or the checkpoint. */
  details: string[];
  /** Seen and reported, but within what the invariant allows (a documented limit), so it does not fail. */
  warnings?: string[];
}

const DISPUTE = 'card-dispute';
const INTAKE_OF = { email: 'email-intake', slack: 'slack-intake' } as const;

/**
 * The Message-ID the mailer gives the mail of a step: it hashes the step's effect key (`<runId>/<stepId>`), see
 * src/channels/mailer.ts. Recomputed here so a mail is tied to its run without trusting anything it says.
 */
function stepMessageId(runId: string, stepId: string, domain: string): string {
  return `<${createHash('sha256').update(`${runId}/${stepId}`).digest('hex').slice(0, 32)}@${domain}>`;
}

export function checkInvariants(input: InvariantInput): InvariantResult[] {
  const { runs, checkpoints } = input.snapshot;
  const disputes = runs.filter((r) => r.workflow === DISPUTE);
  const checkpointsOf = groupBy(checkpoints, (c) => c.runId);
  return [
    oneRunPerMessage(input.inbound, runs, input.t0),
    reachedCheckpoint(disputes, checkpointsOf),
    decidedCompleted(disputes, checkpointsOf),
    oneCustomerEmail(input, runs, checkpointsOf),
    slackCardOnce(input, disputes, checkpointsOf),
    decisionOnce(input.decisions, disputes, checkpointsOf),
  ];
}

function result(name: string, title: string, problems: { runId?: string; detail: string }[]): InvariantResult {
  return {
    name,
    title,
    ok: problems.length === 0,
    runIds: [...new Set(problems.flatMap((p) => (p.runId ? [p.runId] : [])))],
    details: problems.map((p) => p.detail),
  };
}

function oneRunPerMessage(inbound: readonly InboundRecord[], runs: readonly RunRow[], t0: number): InvariantResult {
  const problems: { runId?: string; detail: string }[] = [];
  const claimed = new Set<string>();
  for (const m of inbound) {
    // What the sender saw, so a lost message can be matched with the app's logs at that moment.
    const label = `${m.channel} ${m.id} (#${m.index}, sent at +${((m.sentAt - t0) / 1000).toFixed(1)} s, answers ${m.outcomes.join(' ')})`;
    if (m.acceptedAt === undefined) {
      problems.push({
        detail: `${label}: never accepted (${m.gaveUp ?? 'still sending'})`,
      });
      continue;
    }
    const disputes = runs.filter(
      (r) => r.workflow === DISPUTE && r.source?.channel === m.channel && r.source.key === m.sourceKey,
    );
    for (const d of disputes) claimed.add(d._id);
    if (m.channel !== 'webhook') {
      const intakeKey = m.channel === 'slack' ? `intake:${m.sourceKey}` : m.sourceKey;
      const intakeWorkflow = INTAKE_OF[m.channel];
      const intakes = runs.filter((r) => r.workflow === intakeWorkflow && r.source?.key === intakeKey);
      if (intakes.length !== 1) {
        problems.push({
          runId: intakes[0]?._id,
          detail: `${label}: ${intakes.length} ${intakeWorkflow} runs (${ids(intakes)})`,
        });
      } else if (disputes.length === 0) {
        const intake = intakes[0]!;
        problems.push({
          runId: intake._id,
          detail: `${label}: intake run ${intake._id} is ${intake.status} and started no dispute (output ${short(intake.output)})`,
        });
        continue;
      }
    }
    if (disputes.length !== 1) {
      for (const d of disputes) problems.push({ runId: d._id, detail: `${label}: ${disputes.length} dispute runs` });
      if (disputes.length === 0) problems.push({ detail: `${label}: no dispute run` });
    }
    const answered = new Set(m.runIds);
    if (answered.size > 1 || (disputes[0] && answered.size === 1 && !answered.has(disputes[0]._id))) {
      problems.push({
        runId: disputes[0]?._id,
        detail: `${label}: the webhook answered runIds ${[...answered].join(', ')} but the store holds ${ids(disputes)}`,
      });
    }
  }
  for (const r of runs) {
    if (r.workflow === DISPUTE && !claimed.has(r._id)) {
      problems.push({
        runId: r._id,
        detail: `${r._id}: a dispute run no inbound message explains (source ${short(r.source)})`,
      });
    }
  }
  return result('one-run-per-message', 'every inbound message started exactly one run', problems);
}

function reachedCheckpoint(disputes: readonly RunRow[], checkpointsOf: Map<string, CheckpointRow[]>): InvariantResult {
  const problems = disputes
    .filter((r) => (checkpointsOf.get(r._id) ?? []).length === 0)
    .map((r) => ({ runId: r._id, detail: `${r._id}: ${r.status}, no checkpoint` }));
  return result('reached-checkpoint', 'every run reached its checkpoint', problems);
}

function decidedCompleted(disputes: readonly RunRow[], checkpointsOf: Map<string, CheckpointRow[]>): InvariantResult {
  const problems: { runId: string; detail: string }[] = [];
  for (const r of disputes) {
    const cp = (checkpointsOf.get(r._id) ?? []).find((c) => c.status === 'approved' || c.status === 'rejected');
    if (!cp) continue;
    const output = (r.output ?? {}) as { outcome?: unknown; replySent?: unknown };
    const expected = cp.status === 'rejected' ? 'escalated' : 'accept or reject, reply sent';
    const agrees =
      cp.status === 'rejected'
        ? output.outcome === 'escalated'
        : (output.outcome === 'accept' || output.outcome === 'reject') && output.replySent === true;
    if (r.status !== 'completed' || !agrees) {
      problems.push({
        runId: r._id,
        detail: `${r._id}: checkpoint ${cp.status}, run ${r.status}, output ${short(r.output)} (expected completed, ${expected})`,
      });
    }
  }
  return result('decided-completed', 'every decided run completed, with the outcome of its decision', problems);
}

function oneCustomerEmail(
  input: InvariantInput,
  runs: readonly RunRow[],
  checkpointsOf: Map<string, CheckpointRow[]>,
): InvariantResult {
  const problems: { runId: string; detail: string }[] = [];
  const warnings: string[] = [];
  const count = new Map<string, number>();
  for (const m of input.mails) if (m.messageId) count.set(m.messageId, (count.get(m.messageId) ?? 0) + 1);
  const known = new Set<string>();
  const expect = (runId: string, step: string, wanted: number, why: string) => {
    const id = stepMessageId(runId, step, input.mailDomain);
    known.add(id);
    const got = count.get(id) ?? 0;
    // The same message (one Message-ID) carried twice is the one window plain SMTP cannot close: a worker killed
    // between the server's 250 and the record of it (docs/design.md, Outages). Mail clients show one message per
    // Message-ID, so the customer sees one email; it is reported, not failed. Two different messages would fail.
    if (wanted === 1 && got > 1)
      warnings.push(
        `${runId}: the ${step} mail was carried ${got} times with one Message-ID (SMTP 250 → record window)`,
      );
    else if (got !== wanted) problems.push({ runId, detail: `${runId}: ${got} ${step} mails (${why}: ${wanted})` });
  };
  for (const r of runs) {
    if (r.workflow === DISPUTE) {
      const cp = (checkpointsOf.get(r._id) ?? []).find((c) => c.status !== 'pending');
      if (cp?.status === 'approved') expect(r._id, 'send-reply', 1, 'approved');
      else if (cp?.status === 'rejected') expect(r._id, 'send-reply', 0, 'rejected');
      else expect(r._id, 'send-reply', 0, 'not decided');
    } else if (r.workflow === INTAKE_OF.email) {
      expect(r._id, 'send-receipt', 1, 'receipt of an email intake');
    }
  }
  for (const m of input.mails) {
    if (m.effect === 'customer-reply' && m.messageId && !known.has(m.messageId)) {
      problems.push({ runId: '', detail: `a customer reply ${m.messageId} that belongs to no run` });
    }
  }
  return {
    ...result('one-customer-email', 'exactly one customer email per run (none for a rejected one)', problems),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

function slackCardOnce(
  input: InvariantInput,
  disputes: readonly RunRow[],
  checkpointsOf: Map<string, CheckpointRow[]>,
): InvariantResult {
  const problems: { runId: string; detail: string }[] = [];
  const cards = input.slackPosts.filter((p) => !p.threadTs).map((p) => ({ ...p, text: JSON.stringify(p.blocks) }));
  for (const r of disputes) {
    for (const cp of checkpointsOf.get(r._id) ?? []) {
      const perChannel = new Map<string, number>();
      for (const c of cards)
        if (c.text.includes(cp._id)) perChannel.set(c.channel, (perChannel.get(c.channel) ?? 0) + 1);
      if (!perChannel.has(input.approvalsChannel)) {
        problems.push({
          runId: r._id,
          detail: `${r._id}: checkpoint ${cp._id} has no card in ${input.approvalsChannel}`,
        });
      }
      for (const [channel, n] of perChannel) {
        if (n > 1)
          problems.push({ runId: r._id, detail: `${r._id}: checkpoint ${cp._id} posted ${n} times in ${channel}` });
      }
    }
  }
  return result('slack-card-once', 'every checkpoint card posted once per channel, never twice', problems);
}

function decisionOnce(
  decisions: readonly DecisionRecord[],
  disputes: readonly RunRow[],
  checkpointsOf: Map<string, CheckpointRow[]>,
): InvariantResult {
  const problems: { runId: string; detail: string }[] = [];
  const sent = new Map(decisions.map((d) => [d.checkpointId, d]));
  for (const r of disputes) {
    for (const cp of checkpointsOf.get(r._id) ?? []) {
      const d = sent.get(cp._id);
      const at = `${r._id}: checkpoint ${cp._id}`;
      if (!d) {
        if (cp.status !== 'pending')
          problems.push({ runId: r._id, detail: `${at} ${cp.status} without the driver deciding it` });
        else problems.push({ runId: r._id, detail: `${at} still pending: the driver never decided it` });
        continue;
      }
      if (d.landedAt === undefined) {
        problems.push({
          runId: r._id,
          detail: `${at}: the ${d.channel} decision never landed (${d.gaveUp ?? 'in flight'}; ${d.outcomes.join(' ')})`,
        });
      }
      if (d.conflict) problems.push({ runId: r._id, detail: `${at}: ${d.conflict}, decided by ${short(cp.decision)}` });
      const wanted = d.decision === 'approve' ? 'approved' : 'rejected';
      if (cp.status !== wanted) {
        problems.push({
          runId: r._id,
          detail: `${at} is ${cp.status}; the driver's ${d.channel} ${d.decision} was acknowledged (${d.outcomes.join(' ')})`,
        });
      } else if (cp.decision?.channel !== d.channel) {
        problems.push({
          runId: r._id,
          detail: `${at} decided through ${cp.decision?.channel}, the driver used ${d.channel}`,
        });
      }
      if ((cp.approvals ?? []).length > 1) {
        problems.push({ runId: r._id, detail: `${at} holds ${(cp.approvals ?? []).length} approvals: applied twice` });
      }
    }
  }
  return result('decision-once', 'no decision lost or applied twice', problems);
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    const list = m.get(k);
    if (list) list.push(i);
    else m.set(k, [i]);
  }
  return m;
}

const ids = (runs: readonly RunRow[]) => runs.map((r) => r._id).join(', ') || 'none';
const short = (v: unknown) => (JSON.stringify(v) ?? 'undefined').slice(0, 160);
