/**
 * A wire-faithful fake of OpenAI's Chat Completions and Embeddings APIs: the same JSON, SSE
 * framing and event order (`chat.completion.chunk`s, the empty-`choices` usage chunk when
 * `stream_options.include_usage`, `data: [DONE]`), headers (`x-request-id`,
 * `openai-processing-ms`, `x-ratelimit-*`, `retry-after`/`retry-after-ms` on 429) and error
 * envelopes (`{"error": {message, type, param, code}}`). It serves any path ending in
 * `/chat/completions` or `/embeddings`, so one fake stands in for OpenAI, Azure deployments and
 * every compatible vendor.
 *
 * Token arithmetic (see `fake-text.ts`): `prompt_tokens` = words of every message's text plus
 * tool-call arguments; `completion_tokens` = words of the answer text plus tool arguments plus any
 * scripted reasoning tokens (scripted `usage.output`, when given, is the whole output count).
 */
import type { WireFormat, WirePlan, WireRequest } from "./fake-server.js";
import { startFakeServer } from "./fake-server.js";
import type { FakeProvider, Fault, ScriptStep, TruthEntry } from "./fake-types.js";
import { countTokens, echoReply, fakeVector, filler, firstTokens, streamPieces } from "./fake-text.js";

/** Starts the OpenAI fake on a free loopback port; point the adapter at `${fake.url}/v1`. */
export function startOpenAIFake(): Promise<FakeProvider> {
  return startFakeServer(openAIWireFormat());
}

type Json = Record<string, unknown>;

interface ToolCall {
  id: string;
  name: string;
  args: string;
}

/** The OpenAI `WireFormat` (a fresh one per fake: its id counter lives here). */
export function openAIWireFormat(): WireFormat {
  let counter = 0;
  const nextIds = () => {
    counter += 1;
    return { requestId: `req_${counter.toString(16).padStart(32, "0")}`, completionId: `chatcmpl-fake${counter.toString().padStart(6, "0")}`, n: counter };
  };

  const baseHeaders = (requestId: string): Record<string, string> => ({
    "x-request-id": requestId,
    "openai-processing-ms": "12",
    "openai-version": "2020-10-01",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-limit-tokens": "2000000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-remaining-tokens": "1999000",
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-reset-tokens": "30ms",
  });

  const envelope = (status: number, requestId: string, error: { message: string; type: string; param: string | null; code: string | null }, extra: Record<string, string> = {}): WirePlan => ({
    type: "json",
    status,
    headers: { ...baseHeaders(requestId), ...extra },
    body: { error },
  });

  function plan(req: WireRequest, step: ScriptStep): WirePlan {
    const ids = nextIds();
    if (req.method !== "POST" || !(req.path.endsWith("/chat/completions") || req.path.endsWith("/embeddings"))) {
      return envelope(404, ids.requestId, { message: `Invalid URL (${req.method} ${req.path})`, type: "invalid_request_error", param: null, code: null });
    }
    const body = req.body;
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return envelope(400, ids.requestId, { message: "We could not parse the JSON body of your request.", type: "invalid_request_error", param: null, code: null });
    }
    const b = body as Json;
    if (typeof b.model !== "string" || b.model === "") {
      return envelope(400, ids.requestId, { message: "you must provide a model parameter", type: "invalid_request_error", param: null, code: null });
    }
    return req.path.endsWith("/embeddings") ? embeddingsPlan(req.path, b, step, ids) : chatPlan(req.path, b, step, ids);
  }

  function embeddingsPlan(path: string, b: Json, step: ScriptStep, ids: ReturnType<typeof nextIds>): WirePlan {
    const raw = b.input;
    const inputs = typeof raw === "string" ? [raw] : Array.isArray(raw) ? raw.map((x) => (typeof x === "string" ? x : Array.isArray(x) ? x.join(" ") : String(x))) : undefined;
    if (!inputs || inputs.length === 0) {
      return envelope(400, ids.requestId, { message: "'input' is a required property", type: "invalid_request_error", param: "input", code: null });
    }
    const dims = typeof b.dimensions === "number" ? b.dimensions : step.reply?.dimensions ?? 8;
    const base64 = b.encoding_format === "base64";
    const model = b.model as string;
    const tokens = step.reply?.usage?.input ?? inputs.reduce((n, s) => n + countTokens(s), 0);
    const data = inputs.map((text, index) => {
      const v = fakeVector(text, dims);
      return { object: "embedding", index, embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v };
    });
    return {
      type: "json",
      status: 200,
      headers: baseHeaders(ids.requestId),
      body: { object: "list", data, model, ...(step.fault?.kind === "missing_usage" ? {} : { usage: { prompt_tokens: tokens, total_tokens: tokens } }) },
      truth: { path, model, stream: false, inputTokens: tokens, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 },
    };
  }

  function chatPlan(path: string, b: Json, step: ScriptStep, ids: ReturnType<typeof nextIds>): WirePlan {
    if (!Array.isArray(b.messages) || b.messages.length === 0) {
      return envelope(400, ids.requestId, { message: "'messages' is a required property", type: "invalid_request_error", param: "messages", code: null });
    }
    const model = b.model as string;
    const messages = b.messages as Json[];
    const stream = b.stream === true;
    const includeUsage = stream && (b.stream_options as Json | undefined)?.include_usage === true;
    const maxTokens = typeof b.max_completion_tokens === "number" ? b.max_completion_tokens : typeof b.max_tokens === "number" ? b.max_tokens : undefined;
    const fault: Fault | undefined = step.fault;
    const reply = step.reply ?? {};

    const calls: ToolCall[] = (reply.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `call_fake${ids.n}_${i}`, name: c.name, args: c.argumentsJson }));
    let text = reply.text ?? (calls.length > 0 ? "" : echoReply(lastUserText(messages)));
    let finish: string = reply.finishReason ?? (calls.length > 0 ? "tool_calls" : "stop");
    if (fault?.kind === "overrun_max_tokens") {
      text = filler((maxTokens ?? 16) + 8);
    } else if (maxTokens !== undefined) {
      const cut = firstTokens(text, maxTokens);
      if (cut.cut) {
        text = cut.text;
        finish = reply.finishReason ?? "length";
      }
    }

    const argTokens = calls.reduce((n, c) => n + countTokens(c.args), 0);
    const reasoning = reply.usage?.reasoning ?? 0;
    const cached = reply.usage?.cachedInput ?? 0;
    const input = reply.usage?.input ?? messages.reduce((n, m) => n + countTokens(messageText(m)), 0);
    const output = fault?.kind === "overrun_max_tokens" ? countTokens(text) + argTokens + reasoning : reply.usage?.output ?? countTokens(text) + argTokens + reasoning;
    const usage = {
      prompt_tokens: input,
      completion_tokens: output,
      total_tokens: input + output,
      prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    const truth: Omit<TruthEntry, "delivered"> = { path, model, stream, inputTokens: input, outputTokens: output, cachedInputTokens: cached, cacheWriteInputTokens: 0, reasoningTokens: reasoning };
    const created = Math.floor(Date.now() / 1000);
    const common = { id: ids.completionId, created, model, service_tier: "default", system_fingerprint: "fp_fake0001" };

    if (!stream) {
      const message: Json = { role: "assistant", content: text === "" && calls.length > 0 ? null : text, refusal: null, annotations: [] };
      if (calls.length > 0) message.tool_calls = calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.args } }));
      return {
        type: "json",
        status: 200,
        headers: baseHeaders(ids.requestId),
        body: {
          id: common.id,
          object: "chat.completion",
          created,
          model,
          choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
          ...(fault?.kind === "missing_usage" ? {} : { usage }),
          service_tier: common.service_tier,
          system_fingerprint: common.system_fingerprint,
        },
        truth,
      };
    }

    const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
    const chunk = (delta: Json, finishReason: string | null = null) =>
      frame({ id: common.id, object: "chat.completion.chunk", created, model, service_tier: common.service_tier, system_fingerprint: common.system_fingerprint, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...(includeUsage ? { usage: null } : {}) });
    const callHeader = (c: ToolCall, index: number) => ({ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } });

    // The first delta carries the role; a tool-only answer opens with content null and its first call.
    const events: string[] = [];
    const toolOnly = text === "" && calls.length > 0;
    events.push(chunk(toolOnly ? { role: "assistant", content: null, tool_calls: [callHeader(calls[0]!, 0)], refusal: null } : { role: "assistant", content: "", refusal: null }));
    const content: string[] = [];
    if (text !== "") for (const piece of streamPieces(text)) content.push(chunk({ content: piece }));
    calls.forEach((c, i) => {
      if (!(toolOnly && i === 0)) content.push(chunk({ tool_calls: [callHeader(c, i)] }));
      for (const piece of codePointPieces(c.args, 8)) content.push(chunk({ tool_calls: [{ index: i, function: { arguments: piece } }] }));
    });
    if (fault?.kind === "mid_stream_error") {
      // The first piece of content, then OpenAI's in-stream error, and the stream ends (no [DONE]).
      const sent = content.slice(0, 1);
      events.push(...sent, frame({ error: { message: "The server had an error while processing your request. Sorry about that!", type: "server_error", param: null, code: null } }));
      const sentTokens = text === "" ? 0 : countTokens(streamPieces(text)[0] ?? "");
      return { type: "sse", headers: baseHeaders(ids.requestId), events, truth: { ...truth, outputTokens: sentTokens } };
    }
    events.push(...content, chunk({}, finish));
    if (includeUsage && fault?.kind !== "missing_usage") {
      events.push(frame({ ...common, object: "chat.completion.chunk", choices: [], usage }));
    }
    events.push("data: [DONE]\n\n");
    return { type: "sse", headers: baseHeaders(ids.requestId), events, truth };
  }

  function error(status: number, fault: Extract<Fault, { kind: "status" }>): WirePlan {
    const { requestId } = nextIds();
    const code = fault.errorType ?? null;
    let e: { message: string; type: string; param: string | null; code: string | null };
    let extra: Record<string, string> = {};
    switch (status) {
      case 400:
        e = code === "context_length_exceeded"
          ? { message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130017 tokens. Please reduce the length of the messages.", type: "invalid_request_error", param: "messages", code }
          : { message: "Invalid value for 'messages'.", type: "invalid_request_error", param: null, code };
        break;
      case 401:
        e = { message: "Incorrect API key provided: sk-fake***0000. You can find your API key at https://platform.openai.com/account/api-keys.", type: "invalid_request_error", param: null, code: code ?? "invalid_api_key" };
        break;
      case 403:
        e = { message: "Country, region, or territory not supported", type: "request_forbidden", param: null, code: code ?? "unsupported_country_region_territory" };
        break;
      case 404:
        e = { message: "The model does not exist or you do not have access to it.", type: "invalid_request_error", param: null, code: code ?? "model_not_found" };
        break;
      case 429:
        e = code === "insufficient_quota"
          ? { message: "You exceeded your current quota, please check your plan and billing details.", type: "insufficient_quota", param: null, code }
          : { message: "Rate limit reached for requests per min (RPM): Limit 10000, Used 10000, Requested 1. Please try again in 6ms.", type: "requests", param: null, code: code ?? "rate_limit_exceeded" };
        extra = {
          "x-ratelimit-remaining-requests": "0",
          "x-ratelimit-reset-requests": fault.retryAfterSeconds === undefined ? "1s" : `${fault.retryAfterSeconds}s`,
          ...(fault.retryAfterSeconds === undefined ? {} : { "retry-after": String(fault.retryAfterSeconds) }),
          ...(fault.retryAfterMs === undefined ? {} : { "retry-after-ms": String(fault.retryAfterMs) }),
        };
        break;
      case 503:
        e = { message: "The engine is currently overloaded, please try again later.", type: "server_error", param: null, code };
        break;
      default:
        e = { message: "The server had an error while processing your request. Sorry about that!", type: status >= 500 ? "server_error" : "invalid_request_error", param: null, code };
    }
    if (fault.message !== undefined) e = { ...e, message: fault.message };
    if (status !== 429) {
      if (fault.retryAfterSeconds !== undefined) extra["retry-after"] = String(fault.retryAfterSeconds);
      if (fault.retryAfterMs !== undefined) extra["retry-after-ms"] = String(fault.retryAfterMs);
    }
    return envelope(status, requestId, e, extra);
  }

  return {
    kind: "openai",
    plan,
    error,
    malformedEvent: () => `data: {"id":"chatcmpl-malformed","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"oops"\n\n`,
  };
}

/** The text of a wire message: a string, or the text parts of an array, plus tool-call arguments. */
function messageText(m: Json): string {
  const parts: string[] = [];
  if (typeof m.content === "string") parts.push(m.content);
  else if (Array.isArray(m.content)) for (const p of m.content as Json[]) if (p.type === "text" && typeof p.text === "string") parts.push(p.text);
  if (Array.isArray(m.tool_calls)) for (const c of m.tool_calls as Json[]) parts.push(String((c.function as Json | undefined)?.arguments ?? ""));
  return parts.join(" ");
}

function lastUserText(messages: Json[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === "user") return messageText(messages[i]!);
  return "";
}

/** Splits a string into pieces of `size` code points (never inside a surrogate pair). */
function codePointPieces(s: string, size: number): string[] {
  const cps = Array.from(s);
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(""));
  return out;
}
