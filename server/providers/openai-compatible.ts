/**
 * OpenAI-compatible vendors as data. Each preset is a few lines — base URL, auth style, quirks,
 * capabilities — and {@link createOpenAICompatibleProvider} composes the OpenAI adapter with it.
 * Adding a vendor is adding an entry here (or passing a preset object of your own).
 */
import type { HttpClient } from "./http/http-client.js";
import { createOpenAIProvider, OPENAI_CAPABILITIES, OPENAI_QUIRKS, type OpenAIDeclaration, type OpenAIOperation } from "./openai.js";
import type { Provider, ProviderCapabilities, ProviderLimits } from "./provider.js";
import { openAIModelChatLimits } from "./openai/reasoning-models.js";

/** A compatible vendor: a declaration plus how its URLs differ from OpenAI's. */
export interface OpenAICompatiblePreset extends OpenAIDeclaration {
  /** The path after the base URL (default `/chat/completions`, `/embeddings`); `params`: the target's. */
  path?: (model: string, op: OpenAIOperation, params?: Readonly<Record<string, string>>) => string;
  /** Query parameters on every request (Azure's `api-version`). */
  query?: Readonly<Record<string, string>>;
}

const openaiLike = (over: Partial<ProviderCapabilities>): Readonly<ProviderCapabilities> => Object.freeze({ ...OPENAI_CAPABILITIES, ...over });
/**
 * No stop or embedding bound dispatch checks (`ProviderLimits`) and no sampling penalty: the
 * sandbox, which simulates answers and would ignore penalties.
 */
const NO_KNOWN_LIMITS: Readonly<ProviderLimits> = Object.freeze({});
/**
 * The compatible vendors' declaration. No stop or embedding bound: Mistral documents `stop` as a
 * string or a list with no count, and the others neither publish a count dispatch could rely on
 * nor a catalog of their models' embedding sizes — their own validation decides. Their API
 * references (Groq, Mistral, DeepSeek, Together, Fireworks, OpenRouter, vLLM, Ollama's
 * compatibility page) document `frequency_penalty` and `presence_penalty`. `logit_bias` is left to
 * OpenAI's own service and Azure: its keys are token ids of OpenAI's tokenizers, which mean other
 * tokens on another vendor's model (and Groq refuses it with a 400).
 */
const PENALTIES: Readonly<ProviderLimits> = Object.freeze({ samplingPenalties: Object.freeze(["frequencyPenalty", "presencePenalty"] as const) });
const MAX_TOKENS = Object.freeze({ maxTokensField: "max_tokens", streamUsageOption: true, messageNames: true } as const);
/**
 * OpenAI's wire without `reasoning_effort`: only OpenAI and Azure OpenAI declare it (Groq takes it
 * for some models and rejects it for others; the sandbox simulates no reasoning), so a request's
 * effort is left out and the vendor answers at its default.
 */
const OPENAI_WITHOUT_REASONING = Object.freeze({ ...OPENAI_QUIRKS, reasoningEffort: false });

/** The known compatible vendors, keyed by the kind routes name. */
export const OPENAI_COMPATIBLE_PRESETS = Object.freeze({
  azure: {
    kind: "azure",
    label: "Azure OpenAI",
    // No default: every resource has its own endpoint, `https://{resource}.openai.azure.com`.
    auth: "api-key-header",
    apiKeyRequired: true,
    // The URL names a deployment: the target's `deployment` param, else its model id (then the
    // deployment's name). With the param, `model` stays the model it serves, which prices name.
    targetParams: ["deployment"],
    path: (model: string, op: OpenAIOperation, params?: Readonly<Record<string, string>>) =>
      `/openai/deployments/${encodeURIComponent(params?.deployment ?? model)}/${op === "chat" ? "chat/completions" : "embeddings"}`,
    query: { "api-version": "2024-10-21" },
    // A credential's `api_version` replaces it (each resource may serve other versions).
    settingQuery: { api_version: "api-version" },
    capabilities: OPENAI_CAPABILITIES,
    // No embedding catalog: a target names a deployment, not a model.
    // OpenAI's service: `stop` takes "Up to four sequences" and the penalties and `logit_bias` are
    // OpenAI's (Azure OpenAI REST reference, chat completions).
    limits: Object.freeze({ maxStopSequences: 4, samplingPenalties: Object.freeze(["frequencyPenalty", "presencePenalty", "logitBias"] as const), forModel: openAIModelChatLimits }),
    quirks: OPENAI_QUIRKS,
  },
  groq: {
    kind: "groq",
    label: "Groq",
    defaultBaseUrl: "https://api.groq.com/openai/v1",
    auth: "bearer",
    apiKeyRequired: true,
    capabilities: openaiLike({ embeddings: false }),
    limits: PENALTIES,
    quirks: OPENAI_WITHOUT_REASONING,
  },
  mistral: {
    kind: "mistral",
    label: "Mistral",
    defaultBaseUrl: "https://api.mistral.ai/v1",
    auth: "bearer",
    apiKeyRequired: true,
    capabilities: OPENAI_CAPABILITIES,
    limits: PENALTIES,
    // Mistral puts usage on the last chunk by itself and rejects (422) fields it does not know.
    quirks: { maxTokensField: "max_tokens", streamUsageOption: false, messageNames: false, seedField: "random_seed" },
  },
  deepseek: {
    kind: "deepseek",
    label: "DeepSeek",
    defaultBaseUrl: "https://api.deepseek.com/v1",
    auth: "bearer",
    apiKeyRequired: true,
    capabilities: openaiLike({ jsonSchema: false, embeddings: false, vision: false }),
    limits: PENALTIES,
    quirks: MAX_TOKENS,
  },
  together: {
    kind: "together",
    label: "Together AI",
    defaultBaseUrl: "https://api.together.xyz/v1",
    auth: "bearer",
    apiKeyRequired: true,
    capabilities: OPENAI_CAPABILITIES,
    limits: PENALTIES,
    quirks: MAX_TOKENS,
  },
  fireworks: {
    kind: "fireworks",
    label: "Fireworks AI",
    defaultBaseUrl: "https://api.fireworks.ai/inference/v1",
    auth: "bearer",
    apiKeyRequired: true,
    capabilities: OPENAI_CAPABILITIES,
    limits: PENALTIES,
    quirks: MAX_TOKENS,
  },
  openrouter: {
    kind: "openrouter",
    label: "OpenRouter",
    defaultBaseUrl: "https://openrouter.ai/api/v1",
    auth: "bearer",
    apiKeyRequired: true,
    capabilities: openaiLike({ embeddings: false }),
    limits: PENALTIES,
    quirks: MAX_TOKENS,
  },
  vllm: {
    kind: "vllm",
    label: "vLLM",
    defaultBaseUrl: "http://localhost:8000/v1",
    auth: "bearer",
    apiKeyRequired: false,
    // What a vLLM server serves depends on its model; override per target when it differs.
    capabilities: openaiLike({ vision: false }),
    limits: PENALTIES,
    quirks: MAX_TOKENS,
  },
  ollama: {
    kind: "ollama",
    label: "Ollama",
    defaultBaseUrl: "http://localhost:11434/v1",
    auth: "bearer",
    apiKeyRequired: false,
    capabilities: openaiLike({ vision: false }),
    limits: PENALTIES,
    quirks: MAX_TOKENS,
  },
  sandbox: {
    kind: "sandbox",
    label: "Switchboard sandbox (simulated)",
    // No default: the sandbox listens on a loopback port chosen at start (`startSandbox().url`).
    endpointNote: "(in-process, loopback)",
    auth: "bearer",
    apiKeyRequired: false,
    internal: true,
    // What `server/sandbox/` simulates: everything but images, which it would ignore.
    capabilities: openaiLike({ vision: false }),
    limits: NO_KNOWN_LIMITS,
    quirks: OPENAI_WITHOUT_REASONING,
  },
} satisfies Record<string, OpenAICompatiblePreset>);

/** The kinds of the built-in presets. */
export type OpenAICompatibleKind = keyof typeof OPENAI_COMPATIBLE_PRESETS;

/** Options of {@link createOpenAICompatibleProvider}: the call-site facts a preset cannot know. */
export interface OpenAICompatibleOptions {
  /** Overrides the preset's default base URL; required when it has none (Azure: the resource endpoint). */
  baseUrl?: string;
  http: HttpClient;
  /** Merged over the preset's query (e.g. another Azure `api-version`). */
  query?: Record<string, string>;
  extraHeaders?: Record<string, string>;
  /** Merged over the preset's capabilities (a self-hosted server knows its model). */
  capabilities?: Partial<ProviderCapabilities>;
  headersTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/**
 * Creates the adapter for a compatible vendor: the OpenAI adapter with the preset's base URL,
 * auth style, path, query, quirks and capabilities. `preset` is a built-in kind or a preset
 * object of your own.
 */
export function createOpenAICompatibleProvider(preset: OpenAICompatibleKind | OpenAICompatiblePreset, opts: OpenAICompatibleOptions): Provider {
  const p: OpenAICompatiblePreset = typeof preset === "string" ? OPENAI_COMPATIBLE_PRESETS[preset] : preset;
  const baseUrl = opts.baseUrl ?? p.defaultBaseUrl;
  if (baseUrl === undefined) throw new Error(`${p.kind}: baseUrl is required (the preset has no default endpoint)`);
  const query = { ...p.query, ...opts.query };
  return createOpenAIProvider({
    kind: p.kind,
    baseUrl,
    http: opts.http,
    auth: p.auth,
    ...(p.path === undefined ? {} : { path: p.path }),
    ...(Object.keys(query).length === 0 ? {} : { query }),
    ...(opts.extraHeaders === undefined ? {} : { extraHeaders: opts.extraHeaders }),
    capabilities: { ...p.capabilities, ...opts.capabilities },
    // Never OpenAI's own by default: the same model id may be another model behind another vendor.
    limits: p.limits ?? NO_KNOWN_LIMITS,
    // A preset sends `reasoning_effort` only when its quirks say so (OpenAI's own default does).
    quirks: { reasoningEffort: false, ...p.quirks },
    ...(opts.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: opts.headersTimeoutMs }),
    ...(opts.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: opts.idleTimeoutMs }),
  });
}
