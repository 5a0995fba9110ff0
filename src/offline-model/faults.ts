import { z } from 'zod';
import { agentKey } from './responder.js';

const FAULT_KINDS = ['rate_limit', 'server_error', 'timeout', 'malformed_json', 'schema_violation'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Also the body of `POST /__offline/faults`, so a test can steer a server that a separate worker process calls. */
export const faultSpecSchema = z.strictObject({
  agent: z.string().min(1).optional(),
  kind: z.enum(FAULT_KINDS),
  times: z.int().positive(),
  retryAfterSeconds: z.number().nonnegative().optional(),
});
export type FaultSpec = z.infer<typeof faultSpecSchema>;

export interface FaultControl {
  /**
   * Makes the next `times` matching requests fail. `rate_limit`, `server_error` and `timeout` hit any request;
   * `malformed_json` and `schema_violation` spoil answers only, so a tool loop reaches its final turn first.
   */
  inject(spec: FaultSpec): void;
  clear(): void;
  /** What is still armed, for `GET /__offline/faults` and assertions. */
  pending(): FaultSpec[];
}

export type Phase = 'request' | 'answer';
const PHASE: Record<FaultKind, Phase> = {
  rate_limit: 'request',
  server_error: 'request',
  timeout: 'request',
  malformed_json: 'answer',
  schema_violation: 'answer',
};

export function createFaults(): FaultControl & { take(agent: string, phase: Phase): FaultSpec | null } {
  let armed: FaultSpec[] = [];
  return {
    inject(spec) {
      const parsed = faultSpecSchema.parse(spec);
      armed.push(parsed.agent ? { ...parsed, agent: agentKey(parsed.agent) } : parsed);
    },
    clear() {
      armed = [];
    },
    pending: () => armed.map((f) => ({ ...f })),
    /** The first armed fault for this agent and phase, with one use consumed. */
    take(agent, phase) {
      const i = armed.findIndex((f) => PHASE[f.kind] === phase && (!f.agent || f.agent === agent));
      const fault = armed[i];
      if (!fault) return null;
      if (fault.times <= 1) armed.splice(i, 1);
      else armed[i] = { ...fault, times: fault.times - 1 };
      return fault;
    },
  };
}
