import { ANTHROPIC_CAPABILITIES, ANTHROPIC_LIMITS, createAnthropicProvider } from "./anthropic.js";
import { createGeminiProvider, GEMINI_CAPABILITIES, GEMINI_LIMITS } from "./gemini.js";
import type { HttpClient } from "./http/http-client.js";
import { createOpenAICompatibleProvider, OPENAI_COMPATIBLE_PRESETS, type OpenAICompatibleKind } from "./openai-compatible.js";
import { createOpenAIProvider, OPENAI_DECLARATION, type OpenAIDeclaration } from "./openai.js";
import type { Provider, ProviderCapabilities, ProviderLimits } from "./provider.js";

/** The wire formats Switchboard speaks; every provider kind is one of them. */
export type WireFormatName = "openai" | "anthropic" | "gemini";

/** A provider kind as data: what routes may name, what the README's table is generated from. */
export interface ProviderDeclaration {
  /** The kind routes name (`openai`, `groq`, …). */
  kind: string;
  /** Display name. */
  label: string;
  wire: WireFormatName;
  /** Where it is reached unless a target or credential says otherwise. */
  defaultBaseUrl?: string;
  /** What the provider table shows when there is no default base URL (default "(per deployment)"). */
  endpointNote?: string;
  /** Whether calls need an API key (local servers do not). */
  apiKeyRequired: boolean;
  /** Served inside the gateway (the sandbox): its endpoint is chosen at start, never set from outside (`SWITCHBOARD_BASE_URL_<KIND>`). */
  internal?: true;
  capabilities: Readonly<ProviderCapabilities>;
  /** Bounds on request options, as the provider documents them ({} when it documents none). */
  limits: Readonly<ProviderLimits>;
}

/** An OpenAI-wire declaration (OpenAI's own or a compatible vendor's) as a registry entry. */
function openAIWire(d: OpenAIDeclaration): ProviderDeclaration {
  return {
    kind: d.kind,
    label: d.label,
    wire: "openai",
    ...(d.defaultBaseUrl === undefined ? {} : { defaultBaseUrl: d.defaultBaseUrl }),
    ...(d.endpointNote === undefined ? {} : { endpointNote: d.endpointNote }),
    apiKeyRequired: d.apiKeyRequired,
    ...(d.internal ? { internal: true as const } : {}),
    capabilities: d.capabilities,
    limits: d.limits ?? {},
  };
}

/** Every provider kind, in the order the README lists them. */
export const PROVIDER_DECLARATIONS: readonly ProviderDeclaration[] = Object.freeze([
  openAIWire(OPENAI_DECLARATION),
  {
    kind: "anthropic",
    label: "Anthropic",
    wire: "anthropic",
    defaultBaseUrl: "https://api.anthropic.com",
    apiKeyRequired: true,
    capabilities: ANTHROPIC_CAPABILITIES,
    limits: ANTHROPIC_LIMITS,
  },
  {
    kind: "gemini",
    label: "Google Gemini",
    wire: "gemini",
    defaultBaseUrl: "https://generativelanguage.googleapis.com",
    apiKeyRequired: true,
    capabilities: GEMINI_CAPABILITIES,
    limits: GEMINI_LIMITS,
  },
  ...Object.values(OPENAI_COMPATIBLE_PRESETS).map(openAIWire),
]);

/** Options of {@link createProviderRegistry}. */
export interface ProviderRegistryOptions {
  /** The keep-alive HTTP client every adapter shares. */
  http: HttpClient;
  /**
   * Endpoints known only at run time, by kind (the in-process sandbox's loopback URL, a
   * self-hosted vLLM): used when a call names no base URL, before the kind's default.
   */
  baseUrls?: Readonly<Record<string, string>>;
}

/** Hands out adapters by kind and base URL. */
export interface ProviderRegistry {
  /**
   * The adapter for `kind` reaching `baseUrl` (default: the kind's own), created once and reused.
   * Undefined for an unknown kind, or for a kind without a default base URL when none is given.
   */
  get(kind: string, baseUrl?: string): Provider | undefined;
  /** The declaration of a kind. */
  declaration(kind: string): ProviderDeclaration | undefined;
}

/**
 * The one place that turns a provider kind into an adapter: no other module may branch on a
 * provider's name (STYLE.md rule 2).
 */
export function createProviderRegistry(opts: ProviderRegistryOptions): ProviderRegistry {
  const byKind = new Map(PROVIDER_DECLARATIONS.map((d) => [d.kind, d]));
  const cache = new Map<string, Provider>();
  const build = (decl: ProviderDeclaration, baseUrl: string): Provider => {
    switch (decl.wire) {
      case "anthropic":
        return createAnthropicProvider({ baseUrl, http: opts.http });
      case "gemini":
        return createGeminiProvider({ baseUrl, http: opts.http });
      case "openai":
        return decl.kind === OPENAI_DECLARATION.kind
          ? createOpenAIProvider({ baseUrl, http: opts.http })
          : createOpenAICompatibleProvider(decl.kind as OpenAICompatibleKind, { baseUrl, http: opts.http });
    }
  };
  return {
    get(kind, baseUrl) {
      const decl = byKind.get(kind);
      const url = baseUrl ?? opts.baseUrls?.[kind] ?? decl?.defaultBaseUrl;
      if (decl === undefined || url === undefined) return undefined;
      const key = `${kind} ${url}`;
      let provider = cache.get(key);
      if (provider === undefined) {
        provider = build(decl, url);
        cache.set(key, provider);
      }
      return provider;
    },
    declaration: (kind) => byKind.get(kind),
  };
}
