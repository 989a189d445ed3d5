import { classifyHttpError } from "./anthropic/errors.js";
import { toWireRequest } from "./anthropic/request.js";
import { fromWireMessage } from "./anthropic/response.js";
import { translateStream } from "./anthropic/stream.js";
import { withPartialUsage } from "./usage-estimate.js";
import { jsonPost, type HttpClient, type HttpResponse } from "./http/http-client.js";
import { parseSse } from "./http/sse-parser.js";
import type { ModelChunk, ModelRequest, ModelResponse } from "./model.js";
import type { CallContext, Provider, ProviderCapabilities, ProviderLimits } from "./provider.js";

/** Options of {@link createAnthropicProvider}. */
export interface AnthropicProviderOptions {
  /** Origin of the API, without `/v1` (e.g. `https://api.anthropic.com`). */
  baseUrl: string;
  http: HttpClient;
  /** The `anthropic-version` header (default `2023-06-01`). */
  version?: string;
  /** Longest wait for response headers (default: the HTTP client's, 60 s). */
  headersTimeoutMs?: number;
  /** Longest silence between body chunks, streams included (default: the HTTP client's, 60 s). */
  idleTimeoutMs?: number;
  /** `max_tokens` when a request sets none: Anthropic requires one (default 4096). */
  defaultMaxTokens?: number;
}

/**
 * What the Messages API serves through this adapter. JSON schema and JSON mode are served through
 * a forced synthetic tool whose input is the answer (`anthropic/structured-output.ts`).
 */
export const ANTHROPIC_CAPABILITIES: ProviderCapabilities = {
  streaming: true,
  tools: true,
  parallelToolCalls: true,
  jsonSchema: true,
  jsonObject: true,
  embeddings: false,
  vision: true,
};

/**
 * What the Messages API bounds among the options dispatch checks: nothing. `stop_sequences` is
 * documented as a list of strings with no count limit (docs.anthropic.com/en/api/messages), and
 * there are no embeddings.
 */
export const ANTHROPIC_LIMITS: Readonly<ProviderLimits> = Object.freeze({});

/** Largest unary answer read (bigger ones fail as unreadable rather than exhaust memory). */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Largest error body read for classification. */
const MAX_ERROR_BYTES = 64 * 1024;

/**
 * Creates the Anthropic Messages API adapter: `POST {baseUrl}/v1/messages` with `x-api-key` and
 * `anthropic-version`, unary and SSE streaming, tools, JSON output, vision, and prompt caching
 * (`cache_control` breakpoints, `anthropic/cache-control.ts`) with its usage. Every
 * failure is a classified `ProviderError` whose message never holds the key or Anthropic's body.
 */
export function createAnthropicProvider(opts: AnthropicProviderOptions): Provider {
  const url = `${opts.baseUrl.replace(/\/+$/, "")}/v1/messages`;
  const version = opts.version ?? "2023-06-01";
  const defaultMaxTokens = opts.defaultMaxTokens ?? 4096;

  async function send(req: ModelRequest, ctx: CallContext, stream: boolean): Promise<HttpResponse> {
    const body = JSON.stringify(toWireRequest(req, { defaultMaxTokens, stream }));
    const headers: Record<string, string> = {
      ...ctx.headers,
      "content-type": "application/json",
      accept: stream ? "text/event-stream" : "application/json",
      "anthropic-version": version,
    };
    if (ctx.apiKey !== undefined) headers["x-api-key"] = ctx.apiKey;
    // `.then`, not `await`: no suspended frame per call in flight (`after-call.ts`).
    return opts.http.send(jsonPost(url, headers, body, ctx.signal, opts)).then((res) => {
      if (res.status >= 200 && res.status < 300) return res;
      return res.text(MAX_ERROR_BYTES).then(
        (text) => Promise.reject(classifyHttpError(res.status, res.headers, text)),
        (err: unknown) => {
          if (ctx.signal.aborted) throw err;
          // The status alone still classifies the failure.
          throw classifyHttpError(res.status, res.headers, "");
        },
      );
    });
  }

  return {
    kind: "anthropic",
    capabilities: ANTHROPIC_CAPABILITIES,
    limits: ANTHROPIC_LIMITS,

    async chat(req: ModelRequest, ctx: CallContext): Promise<ModelResponse> {
      return send(req, ctx, false).then((res) => res.text(MAX_RESPONSE_BYTES).then((text) => fromWireMessage(text, req, requestIdOf(res))));
    },

    async *chatStream(req: ModelRequest, ctx: CallContext): AsyncGenerator<ModelChunk> {
      const res = await send(req, ctx, true);
      const requestId = requestIdOf(res);
      const streamCtx = {
        req,
        signal: ctx.signal,
        ...(requestId === undefined ? {} : { requestId }),
        ...(ctx.reportUsage === undefined ? {} : { reportUsage: ctx.reportUsage }),
      };
      yield* withPartialUsage(req, translateStream(parseSse(res.body), streamCtx));
    },
  };
}

function requestIdOf(res: HttpResponse): string | undefined {
  const value = res.headers["request-id"];
  return Array.isArray(value) ? value[0] : value;
}
