import OpenAI from 'openai';
import { z } from 'zod';
import { NonRetryable } from '../errors.js';

/**
 * What an OpenAI-compatible server can do. Unknown servers are assumed capable: a server that refuses a feature
 * with a 400 is downgraded at run time (see output-modes.ts), while a feature wrongly declared missing would
 * silently cost every request its strongest output guarantee.
 */
export const providerSupportSchema = z.strictObject({
  strictJsonSchema: z.boolean().default(true),
  jsonMode: z.boolean().default(true),
  tools: z.boolean().default(true),
});
export type ProviderSupport = z.infer<typeof providerSupportSchema>;

/** A named model server. Each has its own client, so keys and base URLs never mix between providers. */
export interface ModelProvider {
  readonly name: string;
  readonly baseUrl: string | undefined;
  readonly supports: ProviderSupport;
  /** Built with `maxRetries: 0`: the runtime retries (honouring Retry-After) so that every attempt is journaled. */
  readonly client: OpenAI;
  /** Model used by agents that name neither a model of their own nor one in configuration. */
  readonly defaultModel?: string;
}

export interface ProviderSpec {
  name: string;
  /** Undefined: the openai client's own default (api.openai.com, or OPENAI_BASE_URL). */
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  supports?: Partial<ProviderSupport>;
  defaultModel?: string;
  /** Per request; the agent's own limit is passed on each call and wins. */
  timeoutMs?: number;
}

const providerNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/;

export function createProvider(spec: ProviderSpec): ModelProvider {
  if (!providerNamePattern.test(spec.name))
    throw new Error(`model provider name "${spec.name}" must match ${providerNamePattern.source}`);
  const client = new OpenAI({
    // Servers without keys (local ones) still need a non-empty value for the client to send a request.
    apiKey: spec.apiKey ?? 'none',
    ...(spec.baseUrl ? { baseURL: spec.baseUrl } : {}),
    maxRetries: 0,
    timeout: spec.timeoutMs ?? 60_000,
  });
  return {
    name: spec.name,
    baseUrl: spec.baseUrl,
    supports: providerSupportSchema.parse(spec.supports ?? {}),
    client,
    ...(spec.defaultModel ? { defaultModel: spec.defaultModel } : {}),
  };
}

/** The shape of one entry of the configuration file's `providers` map (owned by settings; restated structurally). */
export interface ProviderSettings {
  baseUrl: string;
  apiKey?: string | undefined;
  apiKeyEnv?: string | undefined;
  supports?: Partial<ProviderSupport> | undefined;
}

/**
 * Providers from the configuration file. A key named by `apiKeyEnv` is read here, at start, so a missing variable
 * fails the start with the provider named rather than the first agent step with a 401.
 */
export function providersFromSettings(
  providers: Readonly<Record<string, ProviderSettings>>,
  env: Readonly<Record<string, string | undefined>>,
): ModelProvider[] {
  return Object.entries(providers).map(([name, p]) => {
    let apiKey = p.apiKey;
    if (apiKey === undefined && p.apiKeyEnv !== undefined) {
      apiKey = env[p.apiKeyEnv];
      if (apiKey === undefined || apiKey === '')
        throw new Error(`providers.${name}.apiKeyEnv: environment variable ${p.apiKeyEnv} is not set`);
    }
    return createProvider({ name, baseUrl: p.baseUrl, apiKey, ...(p.supports ? { supports: p.supports } : {}) });
  });
}

/** Which provider and model an agent uses; the integrator backs it with `workflows.<wf>.agents.<agent>`. */
export type AgentModelChoice = { provider?: string | undefined; model?: string | undefined };
export type AgentModelChooser = (agent: string, workflow: string | undefined) => AgentModelChoice | undefined;

export interface ResolvedModel {
  provider: ModelProvider;
  model: string;
}

/**
 * Resolves an agent's provider and model: configuration first, then the agent's own `model`, then the provider's
 * default, then the runner's. A provider named in configuration but not registered is a configuration error.
 */
export function createModelResolver(options: {
  providers: readonly ModelProvider[];
  defaultProvider: ModelProvider;
  defaultModel: string;
  choose?: AgentModelChooser | undefined;
}): (agent: { name: string; model?: string | undefined }, workflow: string | undefined) => ResolvedModel {
  const byName = new Map<string, ModelProvider>([[options.defaultProvider.name, options.defaultProvider]]);
  for (const p of options.providers) {
    if (byName.has(p.name))
      throw new Error(
        p.name === options.defaultProvider.name
          ? `model provider name "${p.name}" is reserved for the provider built from OPENAI_* (or the offline model)`
          : `model provider "${p.name}" is registered twice`,
      );
    byName.set(p.name, p);
  }
  return (agent, workflow) => {
    const choice = options.choose?.(agent.name, workflow) ?? {};
    const provider = choice.provider === undefined ? options.defaultProvider : byName.get(choice.provider);
    if (!provider) {
      const known = [...byName.keys()].join(', ');
      throw new NonRetryable(
        `${who(agent.name, workflow)} uses model provider "${choice.provider}", which is not configured (known: ${known})`,
      );
    }
    if (provider === options.defaultProvider)
      return { provider, model: choice.model ?? agent.model ?? provider.defaultModel ?? options.defaultModel };
    // An agent's own model names a model of the default provider; another server rarely serves the same name.
    const model = choice.model ?? provider.defaultModel;
    if (model === undefined)
      throw new NonRetryable(
        `${who(agent.name, workflow)} uses model provider "${provider.name}" without naming a model`,
      );
    return { provider, model };
  };
}

const who = (agent: string, workflow: string | undefined) =>
  `agent ${agent}${workflow ? ` (workflow ${workflow})` : ''}`;
