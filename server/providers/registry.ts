import { ANTHROPIC_CAPABILITIES, ANTHROPIC_LIMITS, createAnthropicProvider } from "./anthropic.js";
import { createGeminiProvider, GEMINI_CAPABILITIES, GEMINI_LIMITS } from "./gemini.js";
import type { HttpClient } from "./http/http-client.js";
import { createOpenAICompatibleProvider, OPENAI_COMPATIBLE_PRESETS, type OpenAICompatibleKind } from "./openai-compatible.js";
import { createOpenAIProvider, OPENAI_DECLARATION, type OpenAIDeclaration } from "./openai.js";
import { ProviderError } from "./provider-error.js";
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
  /**
   * The keys a credential's `settings` may hold for this kind: `base_url` (every kind but the
   * internal sandbox) and the kind's own, sent as query parameters or headers.
   */
  settings: readonly string[];
  /** The keys a route target's `params` may hold for this kind (Azure's `deployment`). */
  params: readonly string[];
  /** Settings sent as query parameters, by key (`api_version` → `api-version`). */
  settingQuery?: Readonly<Record<string, string>>;
  /** Settings sent as headers, by key (`organization` → `OpenAI-Organization`). */
  settingHeaders?: Readonly<Record<string, string>>;
}

/** The setting naming the endpoint a credential's calls go to (`Credential.settings`). */
export const BASE_URL_SETTING = "base_url";

function settingKeys(d: { internal?: true; settingQuery?: Readonly<Record<string, string>>; settingHeaders?: Readonly<Record<string, string>> }): readonly string[] {
  return Object.freeze(d.internal ? [] : [BASE_URL_SETTING, ...Object.keys(d.settingQuery ?? {}), ...Object.keys(d.settingHeaders ?? {})]);
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
    settings: settingKeys(d),
    params: Object.freeze([...(d.targetParams ?? [])]),
    ...(d.settingQuery === undefined ? {} : { settingQuery: d.settingQuery }),
    ...(d.settingHeaders === undefined ? {} : { settingHeaders: d.settingHeaders }),
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
    settings: settingKeys({}),
    params: [],
  },
  {
    kind: "gemini",
    label: "Google Gemini",
    wire: "gemini",
    defaultBaseUrl: "https://generativelanguage.googleapis.com",
    apiKeyRequired: true,
    capabilities: GEMINI_CAPABILITIES,
    limits: GEMINI_LIMITS,
    settings: settingKeys({}),
    params: [],
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
  /**
   * The client of endpoints admins set through the API (a credential's `base_url`): one that
   * connects only where the egress policy allows (`createHttpClient({ egress })`). Unset: such
   * endpoints are not reached ({@link ProviderRegistry.withSettings} answers undefined).
   */
  egressHttp?: HttpClient;
  /** Most adapters kept for credentials' settings (default 1024); past it the least recently used is dropped. */
  maxEndpoints?: number;
}

/** Hands out adapters by kind and base URL. */
export interface ProviderRegistry {
  /**
   * The adapter for `kind` reaching `baseUrl` (default: the kind's own), created once and reused.
   * Undefined for an unknown kind, or for a kind without a default base URL when none is given.
   */
  get(kind: string, baseUrl?: string): Provider | undefined;
  /**
   * The adapter for `kind` as a credential's `settings` configure it: reaching its `base_url`
   * (through `egressHttp`) with the kind's other settings (Azure's `api_version`, OpenAI's
   * `organization`); `get(kind)` when they set none of these. Made once per distinct settings and
   * kept (a bounded, least-recently-used set): a call after the first is a map lookup. Undefined
   * for an unknown kind, a kind with no endpoint, or a `base_url` without `egressHttp`.
   */
  withSettings(kind: string, settings: Readonly<Record<string, string>>): Provider | undefined;
  /**
   * For a kind with no endpoint configured (Azure without `SWITCHBOARD_BASE_URL_AZURE`): an adapter
   * with its declared capabilities and limits, for dispatch to plan with, whose calls fail (`auth`,
   * naming what to set). A target whose credential sets `base_url` is served by
   * {@link withSettings} instead. Undefined for an unknown kind.
   */
  unconfigured(kind: string): Provider | undefined;
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
  const configured = new Map<string, Provider>();
  const maxEndpoints = opts.maxEndpoints ?? 1024;
  const unreachable = new Map<string, Provider>();
  const build = (decl: ProviderDeclaration, baseUrl: string, http = opts.http, extra: { query?: Record<string, string>; extraHeaders?: Record<string, string> } = {}): Provider => {
    switch (decl.wire) {
      case "anthropic":
        return createAnthropicProvider({ baseUrl, http });
      case "gemini":
        return createGeminiProvider({ baseUrl, http });
      case "openai":
        return decl.kind === OPENAI_DECLARATION.kind
          ? createOpenAIProvider({ baseUrl, http, ...extra })
          : createOpenAICompatibleProvider(decl.kind as OpenAICompatibleKind, { baseUrl, http, ...extra });
    }
  };
  const registry: ProviderRegistry = {
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
    withSettings(kind, settings) {
      const decl = byKind.get(kind);
      if (decl === undefined) return undefined;
      // Most credentials set none: they are answered without building a key (this runs per call).
      if (!anySet(decl.settings, settings)) return registry.get(kind);
      // The key: the values of the kind's settings in declared order (a few short strings).
      let key = kind;
      for (const name of decl.settings) key += `\u0000${settings[name] ?? ""}`;
      let provider = configured.get(key);
      if (provider !== undefined) {
        // Most recently used last: the first key is the one to drop.
        configured.delete(key);
        configured.set(key, provider);
        return provider;
      }
      const own = settings[BASE_URL_SETTING];
      if (own !== undefined && opts.egressHttp === undefined) return undefined;
      const url = own ?? opts.baseUrls?.[kind] ?? decl.defaultBaseUrl;
      if (url === undefined) return undefined;
      const query = pick(settings, decl.settingQuery);
      const extraHeaders = pick(settings, decl.settingHeaders);
      // An admin-set endpoint is reached through the egress policy; the operator's are not.
      provider = build(decl, url, own === undefined ? opts.http : opts.egressHttp, {
        ...(query === undefined ? {} : { query }),
        ...(extraHeaders === undefined ? {} : { extraHeaders }),
      });
      // Adapters are closures over the shared clients (the connection pools are the clients'):
      // dropping one frees it, nothing to close.
      if (configured.size >= maxEndpoints) configured.delete(configured.keys().next().value!);
      configured.set(key, provider);
      return provider;
    },
    unconfigured(kind) {
      const decl = byKind.get(kind);
      if (decl === undefined) return undefined;
      let provider = unreachable.get(kind);
      if (provider === undefined) {
        provider = unconfiguredAdapter(decl);
        unreachable.set(kind, provider);
      }
      return provider;
    },
    declaration: (kind) => byKind.get(kind),
  };
  return registry;
}

/** `settings` renamed through `names` (setting key → wire name); undefined when it holds none of them. */
function pick(settings: Readonly<Record<string, string>>, names: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [key, wire] of Object.entries(names ?? {})) {
    const value = settings[key];
    if (value !== undefined) (out ??= {})[wire] = value;
  }
  return out;
}

/** See {@link ProviderRegistry.unconfigured}. */
function unconfiguredAdapter(decl: ProviderDeclaration): Provider {
  const missing = () =>
    new ProviderError(
      "auth",
      `${decl.kind} has no endpoint: set base_url in the settings of the target's credential, or SWITCHBOARD_BASE_URL_${decl.kind.toUpperCase().replace(/-/g, "_")}`,
    );
  return {
    kind: decl.kind,
    capabilities: decl.capabilities,
    limits: decl.limits,
    chat: () => Promise.reject(missing()),
    chatStream: () => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(missing()) }),
    }),
    ...(decl.capabilities.embeddings ? { embed: () => Promise.reject(missing()) } : {}),
  };
}

/** Whether `settings` gives a value for any of `names`. */
function anySet(names: readonly string[], settings: Readonly<Record<string, string>>): boolean {
  for (const name of names) if (settings[name] !== undefined) return true;
  return false;
}
