/**
 * The Google Gemini API adapter (Generative Language API, `v1beta`): `generateContent`,
 * `streamGenerateContent?alt=sse`, `embedContent` and `batchEmbedContents`.
 *
 * Wire facts this adapter relies on:
 * - Auth is the `x-goog-api-key` header, never the `?key=` query parameter (URLs end up in logs).
 * - Each SSE `data:` is a whole `GenerateContentResponse`; text parts are deltas, `functionCall`
 *   parts arrive whole, `usageMetadata` is repeated (the last one counts) and the last chunk
 *   carries `finishReason`. Gemini sends no terminator event, so **a stream that ends without any
 *   chunk carrying `finishReason` was cut** and throws `stream_error`; so does a connection that
 *   drops mid-body, an unparseable event, or an in-stream `{"error": …}` object (unless that says
 *   overloaded / rate-limited).
 * - Gemini has no tool-call ids: calls get `call_0`, `call_1`, … in answer order (a wire `id`, if
 *   one is ever sent, is used instead). Tool results go back by name.
 * - When no `usageMetadata` arrives (and for embeddings, which report none), usage is estimated at
 *   about four characters per token and marked `estimated`.
 */
import { usageSoFar, withPartialUsage } from "./usage-estimate.js";
import { vectorsProblem } from "./embedding-vectors.js";
import { jsonPost, type HttpClient, type HttpResponse } from "./http/http-client.js";
import { parseSse } from "./http/sse-parser.js";
import type { EmbedRequest, EmbedResponse, ModelChunk, ModelRequest, ModelResponse, ModelToolCall, TokenUsage } from "./model.js";
import type { CallContext, Provider, ProviderCapabilities, ProviderLimits } from "./provider.js";
import { KIND_DESCRIPTION, ProviderError, withUsage } from "./provider-error.js";
import { blockedError, httpError, streamError } from "./gemini/errors.js";
import { toGeminiRequest } from "./gemini/request.js";
import { estimatedUsage, finishReasonOf, requestChars, usageOf } from "./gemini/response.js";
import type { GeminiEmbedRequest, GeminiEmbedResponse, GeminiErrorBody, GeminiGenerateResponse, GeminiPart, GeminiUsage } from "./gemini/wire.js";

/** Options of {@link createGeminiProvider}. */
export interface GeminiProviderOptions {
  /** API origin (default `https://generativelanguage.googleapis.com`). */
  baseUrl?: string;
  /** The shared keep-alive HTTP client. */
  http: HttpClient;
  /** API version path segment (default `v1beta`). */
  apiVersion?: string;
  /** Longest wait for response headers, per call (default: the HTTP client's, 60 s). */
  headersTimeoutMs?: number;
  /** Longest silence between body chunks, per call (default: the HTTP client's, 60 s). */
  idleTimeoutMs?: number;
}

/** What the Gemini API serves. */
export const GEMINI_CAPABILITIES: ProviderCapabilities = {
  streaming: true,
  tools: true,
  parallelToolCalls: true,
  jsonSchema: true,
  jsonObject: true,
  embeddings: true,
  vision: true,
};

/**
 * What the Gemini API bounds. `stopSequences`: "The set of character sequences (up to 5) that will
 * stop output generation" (ai.google.dev/api/generate-content#generationconfig). Embeddings:
 * gemini-embedding-001 gives 3,072 dimensions and "supports 128 - 3072" through
 * `outputDimensionality` (ai.google.dev/gemini-api/docs/models#gemini-embedding, "Output dimension
 * size"); listed under both names a target may give it (the adapter adds `models/` when missing).
 */
const GEMINI_EMBEDDING_001 = Object.freeze({ dimensions: 3072, minDimensions: 128 });
export const GEMINI_LIMITS: Readonly<ProviderLimits> = Object.freeze({
  maxStopSequences: 5,
  // GenerationConfig's `frequencyPenalty` and `presencePenalty` (Gemini API and Vertex reference);
  // it has no logit bias.
  samplingPenalties: Object.freeze(["frequencyPenalty", "presencePenalty"] as const),
  embeddingModels: Object.freeze({ "gemini-embedding-001": GEMINI_EMBEDDING_001, "models/gemini-embedding-001": GEMINI_EMBEDDING_001 }),
});

/** `batchEmbedContents` takes at most 100 requests; larger inputs are sent in several batches. */
const EMBED_BATCH = 100;

/** Creates the Gemini adapter. */
export function createGeminiProvider(opts: GeminiProviderOptions): Provider {
  const base = (opts.baseUrl ?? "https://generativelanguage.googleapis.com").replace(/\/+$/, "");
  const version = opts.apiVersion ?? "v1beta";
  const modelPath = (model: string) => (model.includes("/") ? model : `models/${model}`).split("/").map(encodeURIComponent).join("/");
  const urlOf = (model: string, method: string, query = "") => `${base}/${version}/${modelPath(model)}:${method}${query}`;

  async function post(url: string, body: unknown, ctx: CallContext, stream: boolean): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...ctx.headers, "content-type": "application/json", accept: stream ? "text/event-stream" : "application/json" };
    if (ctx.apiKey !== undefined) headers["x-goog-api-key"] = ctx.apiKey;
    // `post`, `readJson` and `chat` chain promises rather than `await`: no suspended frame per call
    // in flight (`after-call.ts`); each stays `async`, so a synchronous throw is still a rejection.
    return opts.http.send(jsonPost(url, headers, JSON.stringify(body), ctx.signal, opts)).then((res) => {
      if (res.status >= 200 && res.status < 300) return res;
      return res
        .text(64 * 1024)
        .catch((err: unknown) => {
          if (err instanceof ProviderError && err.kind === "cancelled") throw err;
          return "";
        })
        .then((text) => Promise.reject(httpError(res.status, res.headers, text)));
    });
  }

  async function readJson<T>(res: HttpResponse, maxBytes: number): Promise<T> {
    return res.text(maxBytes).then((text) => {
      try {
        const value = JSON.parse(text) as unknown;
        if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TypeError("not a JSON object");
        return value as T;
      } catch (err) {
        throw new ProviderError("server_error", "the provider sent an invalid response", { cause: err });
      }
    });
  }

  async function chat(req: ModelRequest, ctx: CallContext): Promise<ModelResponse> {
    const wire = toGeminiRequest(req);
    return post(urlOf(req.model, "generateContent"), wire, ctx, false)
      .then((res) => readJson<GeminiGenerateResponse>(res, 16 * 1024 * 1024))
      .then((body) => chatResponseOf(req, wire, body));
  }

  /** The neutral answer of a `generateContent` response. */
  function chatResponseOf(req: ModelRequest, wire: ReturnType<typeof toGeminiRequest>, body: GeminiGenerateResponse): ModelResponse {
    const candidate = body.candidates?.[0];
    if (candidate === undefined && body.promptFeedback?.blockReason !== undefined) throw blockedError(body.promptFeedback.blockReason);
    let text = "";
    const toolCalls: ModelToolCall[] = [];
    for (const part of candidate?.content?.parts ?? []) {
      if (part.thought === true) continue;
      if (typeof part.text === "string") text += part.text;
      if (part.functionCall) toolCalls.push(toolCallOf(part.functionCall, toolCalls.length));
    }
    const outChars = text.length + toolCalls.reduce((n, c) => n + c.name.length + c.argumentsJson.length, 0);
    return {
      text,
      toolCalls,
      finishReason: finishReasonOf(candidate?.finishReason, toolCalls.length > 0),
      usage: body.usageMetadata ? usageOf(body.usageMetadata) : estimatedUsage(requestChars(wire), outChars),
      model: typeof body.modelVersion === "string" ? body.modelVersion : req.model,
      ...(typeof body.responseId === "string" ? { providerRequestId: body.responseId } : {}),
    };
  }

  function chatStream(req: ModelRequest, ctx: CallContext): AsyncGenerator<ModelChunk> {
    return withPartialUsage(req, streamGenerate(req, ctx));
  }

  async function* streamGenerate(req: ModelRequest, ctx: CallContext): AsyncGenerator<ModelChunk> {
    const wire = toGeminiRequest(req);
    const res = await post(urlOf(req.model, "streamGenerateContent", "?alt=sse"), wire, ctx, true);
    let started = false;
    let finish: string | undefined;
    let usage: GeminiUsage | undefined;
    let calls = 0;
    let outChars = 0;
    try {
      for await (const event of parseSse(res.body)) {
        const chunk = parseChunk(event.data);
        if (chunk.error) throw streamError(chunk.error);
        if (!started) {
          started = true;
          yield {
            type: "start",
            model: typeof chunk.modelVersion === "string" ? chunk.modelVersion : req.model,
            ...(typeof chunk.responseId === "string" ? { providerRequestId: chunk.responseId } : {}),
          };
        }
        if (chunk.promptFeedback?.blockReason !== undefined) throw blockedError(chunk.promptFeedback.blockReason);
        if (chunk.usageMetadata) {
          usage = chunk.usageMetadata;
          ctx.reportUsage?.(usageOf(usage));
        }
        const candidate = chunk.candidates?.[0];
        for (const part of candidate?.content?.parts ?? []) {
          if (part.thought === true) continue;
          if (typeof part.text === "string" && part.text !== "") {
            outChars += part.text.length;
            yield { type: "text", text: part.text };
          }
          if (part.functionCall) {
            const call = toolCallOf(part.functionCall, calls);
            outChars += call.name.length + call.argumentsJson.length;
            yield { type: "tool_call", index: calls++, id: call.id, name: call.name, argumentsDelta: call.argumentsJson };
          }
        }
        if (typeof candidate?.finishReason === "string") finish = candidate.finishReason;
      }
    } catch (err) {
      throw withUsage(midStreamError(err), reportedSoFar(usage, outChars));
    }
    if (finish === undefined) throw withUsage(new ProviderError("stream_error", "the provider's stream ended before the answer finished"), reportedSoFar(usage, outChars));
    yield { type: "finish", reason: finishReasonOf(finish, calls > 0) };
    yield { type: "usage", usage: usage ? usageOf(usage) : estimatedUsage(requestChars(wire), outChars) };
  }

  async function embed(req: EmbedRequest, ctx: CallContext): Promise<EmbedResponse> {
    const model = resourceName(req.model);
    const one = (text: string): GeminiEmbedRequest => ({
      model,
      content: { parts: [{ text }] },
      ...(req.inputType === undefined ? {} : { taskType: req.inputType === "query" ? "RETRIEVAL_QUERY" : "RETRIEVAL_DOCUMENT" }),
      ...(req.dimensions === undefined ? {} : { outputDimensionality: req.dimensions }),
    });
    const vectors: number[][] = [];
    if (req.inputs.length === 1) {
      const res = await post(urlOf(req.model, "embedContent"), one(req.inputs[0]!), ctx, false);
      const body = await readJson<GeminiEmbedResponse>(res, 64 * 1024 * 1024);
      vectors.push(...checkedVectors([body.embedding?.values], req.dimensions));
    } else {
      // Characters of the batches the provider answered: billed even when a later batch fails.
      let answeredChars = 0;
      for (let i = 0; i < req.inputs.length; i += EMBED_BATCH) {
        const batch = req.inputs.slice(i, i + EMBED_BATCH);
        try {
          const res = await post(urlOf(req.model, "batchEmbedContents"), { requests: batch.map(one) }, ctx, false);
          const body = await readJson<GeminiEmbedResponse>(res, 64 * 1024 * 1024);
          if (!Array.isArray(body.embeddings) || body.embeddings.length !== batch.length) {
            throw new ProviderError("server_error", "the provider returned the wrong number of embeddings");
          }
          vectors.push(...checkedVectors(body.embeddings.map((e) => e?.values), req.dimensions, vectors[0]?.length));
        } catch (err) {
          throw err instanceof ProviderError && answeredChars > 0 ? withUsage(err, estimatedUsage(answeredChars, 0)) : err;
        }
        answeredChars += batch.reduce((n, t) => n + t.length, 0);
      }
    }
    const chars = req.inputs.reduce((n, t) => n + t.length, 0);
    return { vectors, usage: estimatedUsage(chars, 0), model: req.model };
  }

  /** The `models/…` resource name embed requests repeat in their body. */
  function resourceName(model: string): string {
    return model.includes("/") ? model : `models/${model}`;
  }

  return { kind: "gemini", capabilities: GEMINI_CAPABILITIES, limits: GEMINI_LIMITS, chat, chatStream, embed };
}

function toolCallOf(call: NonNullable<GeminiPart["functionCall"]>, index: number): ModelToolCall {
  return {
    id: typeof call.id === "string" && call.id !== "" ? call.id : `call_${index}`,
    name: typeof call.name === "string" ? call.name : "",
    argumentsJson: JSON.stringify(call.args ?? {}),
  };
}

function parseChunk(data: string): GeminiGenerateResponse & GeminiErrorBody {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (err) {
    throw new ProviderError("stream_error", "the provider sent a malformed stream event", { cause: err });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProviderError("stream_error", "the provider sent a malformed stream event");
  }
  return value as GeminiGenerateResponse & GeminiErrorBody;
}

/**
 * `values`, the vectors of one answer, each `requested` long when a size was asked for and all
 * `size` long when earlier batches set it; else the provider's failure.
 */
function checkedVectors(values: unknown[], requested: number | undefined, size?: number): number[][] {
  const problem = vectorsProblem(values, requested, size);
  if (problem !== undefined) throw new ProviderError("server_error", problem);
  return values as number[][];
}

/** What a stream that broke had consumed, when a chunk's `usageMetadata` reported it (`usageSoFar`); else undefined (the caller estimates). */
function reportedSoFar(usage: GeminiUsage | undefined, outChars: number): TokenUsage | undefined {
  return usage === undefined ? undefined : usageSoFar(usageOf(usage), outChars);
}

/** A failure while reading a 200 stream: a dropped connection or oversized event is a broken stream. */
function midStreamError(err: unknown): ProviderError {
  if (err instanceof ProviderError) {
    return err.kind === "connection" ? new ProviderError("stream_error", "the provider's stream was cut", { cause: err }) : err;
  }
  return new ProviderError("stream_error", KIND_DESCRIPTION.stream_error, { cause: err });
}
