/**
 * The OpenAI Chat Completions adapter: `POST …/chat/completions` (unary and SSE) and
 * `POST …/embeddings`. OpenAI-compatible vendors (Azure, Groq, Mistral, …) reuse it through
 * `openai-compatible.ts` with their own base URL, auth style, path and quirks.
 */
import { withPartialUsage } from "./usage-estimate.js";
import { vectorsProblem } from "./embedding-vectors.js";
import { jsonPost, type HttpClient, type HttpResponse } from "./http/http-client.js";
import type { EmbedRequest, EmbedResponse, ModelChunk, ModelRequest, ModelResponse, ModelToolCall } from "./model.js";
import { ProviderError } from "./provider-error.js";
import type { CallContext, Provider, ProviderCapabilities, ProviderLimits } from "./provider.js";
import { classifyEmbeddedError, classifyHttpError } from "./openai/errors.js";
import { openAIModelChatLimits } from "./openai/reasoning-models.js";
import { readChatStream } from "./openai/stream.js";
import {
  decodeEmbedding,
  estimateUsage,
  fromWireFinishReason,
  fromWireUsage,
  OPENAI_QUIRKS,
  toWireChatRequest,
  toWireEmbeddingsRequest,
  type OpenAIQuirks,
  type WireChatResponse,
  type WireEmbeddingsResponse,
} from "./openai/wire.js";

export type { MaxTokensField, OpenAIQuirks } from "./openai/wire.js";
export { OPENAI_QUIRKS } from "./openai/wire.js";

/** How the credential is sent: `Authorization: Bearer <key>` or Azure's `api-key: <key>`. */
export type OpenAIAuthStyle = "bearer" | "api-key-header";

/** Which endpoint a request goes to. */
export type OpenAIOperation = "chat" | "embeddings";

/** What OpenAI itself serves. */
export const OPENAI_CAPABILITIES: Readonly<ProviderCapabilities> = Object.freeze({
  streaming: true,
  tools: true,
  parallelToolCalls: true,
  jsonSchema: true,
  jsonObject: true,
  embeddings: true,
  vision: true,
});

/**
 * What OpenAI bounds. `stop`: "Up to 4 sequences" (API reference, Create chat completion `stop`;
 * help.openai.com/en/articles/5072263, "you can pass up to four stop sequences"). Embeddings:
 * `dimensions` is "only supported in text-embedding-3 and later models" (API reference, Create
 * embeddings), from 1 up to the model's own size — 1,536 for text-embedding-3-small and ada-002,
 * 3,072 for text-embedding-3-large (platform.openai.com/docs/guides/embeddings, "Embedding models").
 */
export const OPENAI_LIMITS: Readonly<ProviderLimits> = Object.freeze({
  maxStopSequences: 4,
  // Chat Completions' `frequency_penalty`, `presence_penalty` (-2..2) and `logit_bias` (API reference).
  samplingPenalties: Object.freeze(["frequencyPenalty", "presencePenalty", "logitBias"] as const),
  // …neither of which the reasoning models take (`reasoning-models.ts`).
  forModel: openAIModelChatLimits,
  embeddingModels: Object.freeze({
    "text-embedding-3-small": Object.freeze({ dimensions: 1536, minDimensions: 1 }),
    "text-embedding-3-large": Object.freeze({ dimensions: 3072, minDimensions: 1 }),
    "text-embedding-ada-002": Object.freeze({ dimensions: 1536 }),
  }),
});

/**
 * A provider declaration as data: what the README's provider table is generated from. OpenAI's
 * own is {@link OPENAI_DECLARATION}; the compatible vendors' are in `openai-compatible.ts`.
 */
export interface OpenAIDeclaration {
  /** The provider kind routes name. */
  kind: string;
  /** Display name. */
  label: string;
  /** Default base URL including the version prefix (the adapter appends `/chat/completions`); none when every deployment has its own. */
  defaultBaseUrl?: string;
  /** What the provider table shows when there is no default base URL (default "(per deployment)"). */
  endpointNote?: string;
  auth: OpenAIAuthStyle;
  /** Whether calls need an API key (local servers such as vLLM and Ollama do not). */
  apiKeyRequired: boolean;
  /** Served inside the gateway (the sandbox): its endpoint is chosen at start, never set from outside. */
  internal?: true;
  capabilities: Readonly<ProviderCapabilities>;
  /** Bounds on request options as this vendor documents them; absent or {}: none known. */
  limits?: Readonly<ProviderLimits>;
  quirks: Readonly<OpenAIQuirks>;
  /** The keys a route target's `params` may hold for this kind (Azure's `deployment`); none by default. */
  targetParams?: readonly string[];
  /** Credential settings sent as query parameters, by setting key (Azure's `api_version` → `api-version`). */
  settingQuery?: Readonly<Record<string, string>>;
  /** Credential settings sent as headers, by setting key (OpenAI's `organization` → `OpenAI-Organization`). */
  settingHeaders?: Readonly<Record<string, string>>;
}

/** OpenAI, declared the same way as the compatible presets. */
export const OPENAI_DECLARATION: Readonly<OpenAIDeclaration> = Object.freeze({
  kind: "openai",
  label: "OpenAI",
  defaultBaseUrl: "https://api.openai.com/v1",
  auth: "bearer",
  apiKeyRequired: true,
  capabilities: OPENAI_CAPABILITIES,
  limits: OPENAI_LIMITS,
  quirks: OPENAI_QUIRKS,
  // "OpenAI-Organization" picks the organization a key of several is billed to (API reference, Authentication).
  settingHeaders: Object.freeze({ organization: "OpenAI-Organization" }),
});

/** Options of {@link createOpenAIProvider}. */
export interface OpenAIProviderOptions {
  /** Provider kind reported by the adapter (default `openai`). */
  kind?: string;
  /** Base URL including any version prefix, e.g. `https://api.openai.com/v1`; paths are appended. */
  baseUrl: string;
  http: HttpClient;
  /** Default `bearer`. */
  auth?: OpenAIAuthStyle;
  /** The path after `baseUrl` (default `/chat/completions` and `/embeddings`); Azure puts the deployment here. `params`: the target's (`CallContext.params`). */
  path?: (model: string, op: OpenAIOperation, params?: Readonly<Record<string, string>>) => string;
  /** Query parameters on every request (Azure's `api-version`). */
  query?: Record<string, string>;
  /** Headers on every request (for example OpenRouter's `HTTP-Referer`). Never put a credential here. */
  extraHeaders?: Record<string, string>;
  /** Overrides of {@link OPENAI_CAPABILITIES} (a self-hosted server knows its model). */
  capabilities?: Partial<ProviderCapabilities>;
  /** Bounds on request options (default {@link OPENAI_LIMITS}; a compatible vendor passes its own). */
  limits?: Readonly<ProviderLimits>;
  /** Overrides of the request quirks (default {@link OPENAI_QUIRKS}). */
  quirks?: Partial<OpenAIQuirks>;
  /** Longest wait for response headers (default: the HTTP client's 60 s). */
  headersTimeoutMs?: number;
  /** Longest silence between body chunks, streams included (default: the HTTP client's 60 s). */
  idleTimeoutMs?: number;
}

const DEFAULT_PATHS: Record<OpenAIOperation, string> = { chat: "/chat/completions", embeddings: "/embeddings" };

/** Largest error body read to classify a failure. */
const ERROR_BODY_BYTES = 64 * 1024;
/** Largest successful unary body read. */
const RESPONSE_BODY_BYTES = 32 * 1024 * 1024;

/**
 * Largest embeddings answer read: the unary bound plus room for every value of every vector as
 * OpenAI writes it (a float64 decimal, `-0.006929283495992422`, up to 32 bytes with a server's
 * indentation), at the requested dimensions or else 4,096. Without it a batch the gateway accepts
 * (2,048 inputs of 1,536 dimensions is ≈ 70 MB) was cut at 32 MiB and failed as unreadable after
 * the provider had billed it. Capped well below V8's longest string.
 */
function embeddingsBodyBytes(req: EmbedRequest): number {
  return Math.min(384 * 1024 * 1024, RESPONSE_BODY_BYTES + req.inputs.length * (req.dimensions ?? 4096) * 32);
}

/**
 * Creates the OpenAI Chat Completions adapter. Streams request `stream_options.include_usage` (per
 * the quirks) and end at `data: [DONE]`; failures are classified once into `ProviderError`s whose
 * messages never carry the provider's body or the key.
 */
export function createOpenAIProvider(opts: OpenAIProviderOptions): Provider {
  const kind = opts.kind ?? "openai";
  const capabilities: ProviderCapabilities = Object.freeze({ ...OPENAI_CAPABILITIES, ...opts.capabilities });
  const quirks: OpenAIQuirks = { ...OPENAI_QUIRKS, ...opts.quirks };
  const base = opts.baseUrl.replace(/\/+$/, "");
  const query = opts.query && Object.keys(opts.query).length > 0 ? `?${new URLSearchParams(opts.query).toString()}` : "";
  const pathOf = opts.path ?? ((_model: string, op: OpenAIOperation) => DEFAULT_PATHS[op]);

  // `post`, `readJson` and `chat` chain promises rather than `await`: no suspended frame per call
  // in flight (`after-call.ts`); `post` and `chat` stay `async`, so a synchronous throw still rejects.
  const post = async (model: string, op: OpenAIOperation, body: unknown, ctx: CallContext, stream: boolean): Promise<HttpResponse> => {
    const headers: Record<string, string> = {
      ...ctx.headers,
      ...opts.extraHeaders,
      "content-type": "application/json",
      accept: stream ? "text/event-stream" : "application/json",
    };
    if (ctx.apiKey !== undefined && ctx.apiKey !== "") {
      if (opts.auth === "api-key-header") headers["api-key"] = ctx.apiKey;
      else headers.authorization = `Bearer ${ctx.apiKey}`;
    }
    return opts.http.send(jsonPost(`${base}${pathOf(model, op, ctx.params)}${query}`, headers, JSON.stringify(body), ctx.signal, opts)).then((res) => {
      if (res.status >= 200 && res.status < 300) return res;
      // An unreadable error body still leaves the status to classify by.
      return res
        .text(ERROR_BODY_BYTES)
        .catch(() => "")
        .then((text) => Promise.reject(classifyHttpError(kind, res.status, res.headers, text)));
    });
  };

  const readJson = <T>(res: HttpResponse, maxBytes = RESPONSE_BODY_BYTES): Promise<T> =>
    res.text(maxBytes).then((text) => {
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
          const failed = embeddedError(parsed as Record<string, unknown>, res, text);
          if (failed) throw failed;
          return parsed as T;
        }
      } catch (err) {
        if (err instanceof ProviderError) throw err;
        throw new ProviderError("server_error", `${kind}: the provider sent an unreadable answer`, { httpStatus: res.status, cause: err });
      }
      throw new ProviderError("server_error", `${kind}: the provider sent an unreadable answer`, { httpStatus: res.status });
    });

  /**
   * An error envelope in a 2xx answer with no result (vLLM, OpenRouter and other compatible
   * servers send one), classified like the error it names — a rejected request or an exhausted
   * quota is not retried as a server failure — else undefined.
   */
  const embeddedError = (body: Record<string, unknown>, res: HttpResponse, text: string): ProviderError | undefined =>
    body.error === undefined || body.error === null || "choices" in body || "data" in body ? undefined : classifyEmbeddedError(kind, res.status, res.headers, text);

  /** The neutral answer of a chat completion. */
  const chatResponseOf = (req: ModelRequest, res: HttpResponse, body: WireChatResponse): ModelResponse => {
    const choice = body.choices?.find((c) => (c.index ?? 0) === 0);
    if (!choice) throw new ProviderError("server_error", `${kind}: the provider sent an answer without choices`, { httpStatus: res.status });
    const message = choice.message ?? {};
    const text = message.content ?? message.refusal ?? "";
    const toolCalls: ModelToolCall[] = (message.tool_calls ?? []).map((c, i) => ({
      id: c.id ?? `call_${i}`,
      name: c.function?.name ?? "",
      argumentsJson: c.function?.arguments ?? "",
    }));
    const outputChars = text.length + toolCalls.reduce((n, c) => n + c.name.length + c.argumentsJson.length, 0);
    const requestId = requestIdOf(res) ?? body.id;
    return {
      text,
      toolCalls,
      finishReason: fromWireFinishReason(choice.finish_reason),
      usage: body.usage ? fromWireUsage(body.usage) : estimateUsage(req, outputChars),
      model: body.model ?? req.model,
      ...(requestId === undefined ? {} : { providerRequestId: requestId }),
    };
  };

  const provider: Provider = {
    kind,
    capabilities,
    limits: opts.limits ?? OPENAI_LIMITS,

    async chat(req: ModelRequest, ctx: CallContext): Promise<ModelResponse> {
      return post(req.model, "chat", toWireChatRequest(req, quirks, false), ctx, false).then((res) => readJson<WireChatResponse>(res).then((body) => chatResponseOf(req, res, body)));
    },

    chatStream(req: ModelRequest, ctx: CallContext): AsyncIterable<ModelChunk> {
      return {
        async *[Symbol.asyncIterator]() {
          const res = await post(req.model, "chat", toWireChatRequest(req, quirks, true), ctx, true);
          yield* withPartialUsage(req, readChatStream(kind, res, req, requestIdOf(res)));
        },
      };
    },
  };

  if (capabilities.embeddings) {
    provider.embed = async (req: EmbedRequest, ctx: CallContext): Promise<EmbedResponse> => {
      const res = await post(req.model, "embeddings", toWireEmbeddingsRequest(req), ctx, false);
      const body = await readJson<WireEmbeddingsResponse>(res, embeddingsBodyBytes(req));
      const data = [...(body.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
      if (data.length !== req.inputs.length) {
        throw new ProviderError("server_error", `${kind}: the provider sent ${data.length} vectors for ${req.inputs.length} inputs`, { httpStatus: res.status });
      }
      // A missing embedding decodes to no values, which `vectorsProblem` refuses like a ragged one.
      const vectors = data.map((d) => decodeEmbedding(d.embedding));
      const problem = vectorsProblem(vectors, req.dimensions);
      if (problem !== undefined) throw new ProviderError("server_error", `${kind}: ${problem}`, { httpStatus: res.status });
      const inputChars = req.inputs.reduce((n, s) => n + s.length, 0);
      return {
        vectors,
        usage: body.usage ? fromWireUsage(body.usage) : { ...estimateUsage({ model: req.model, messages: [] }, 0), inputTokens: Math.ceil(inputChars / 4) },
        model: body.model ?? req.model,
      };
    };
  }
  return provider;
}

function requestIdOf(res: HttpResponse): string | undefined {
  const v = res.headers["x-request-id"];
  const id = Array.isArray(v) ? v[0] : v;
  return id === undefined || id === "" ? undefined : id;
}
