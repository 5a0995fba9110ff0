import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function base32(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

/** Time-sortable run id: milliseconds in base 32, then 12 random characters. */
export function newRunId(now: Date): string {
  return `run_${now.getTime().toString(32).padStart(9, '0')}${base32(randomBytes(12))}`;
}

/** Derived, not random: a replayed pass creating the same checkpoint gets the same id. */
export function checkpointIdFor(runId: string, stepId: string): string {
  return `cp_${createHash('sha256').update(`${runId}/${stepId}`).digest('hex').slice(0, 24)}`;
}

export function stepDocId(runId: string, stepId: string): string {
  return `${runId}/${stepId}`;
}

/** BullMQ custom job ids may not contain ':' and must not be integers. */
export function jobId(...parts: string[]): string {
  return parts.join('.').replaceAll(':', '_');
}

/** An agent step's job; a retried step's (generation `retry`) is a new job, which BullMQ does not fold into the old. */
export function agentJobId(runId: string, stepId: string, retry = 0): string {
  return retry ? jobId(runId, stepId, `r${retry}`) : jobId(runId, stepId);
}
