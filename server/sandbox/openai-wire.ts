/**
 * OpenAI's Chat Completions and Embeddings wire format for the scripted server: the same JSON,
 * SSE framing and event order (`chat.completion.chunk`s, the empty-`choices` usage chunk when
 * `stream_options.include_usage`, `data: [DONE]`), headers and error envelopes
 * (`openai-errors.ts`). It serves any path ending in `/chat/completions` or `/embeddings`, so one
 * format stands in for OpenAI, Azure deployments and every compatible vendor.
 *
 * Token arithmetic (per the `TokenCounter`, default one token per word): `prompt_tokens` = tokens
 * of every message's text plus tool-call arguments; `completion_tokens` = tokens of the answer
 * text plus tool arguments plus any scripted reasoning tokens (scripted `usage.output`, when
 * given, is the whole output count).
 */
import { openAIEnvelope, openAIHeaders, openAIStatusError, type OpenAIErrorBody } from "./openai-errors.js";
import { embeddingInputs, lastUserText, messageText, type OpenAIJson } from "./openai-request.js";
import type { WireFormat, WirePlan, WireRequest } from "./scripted-server.js";
import type { Fault, ScriptStep, TruthEntry } from "./script-types.js";
import { echoReply, filler, hashedVector, streamPieces, WORD_TOKENS, type TokenCounter } from "./word-text.js";

/** Options of {@link createOpenAIWire}. */
export interface OpenAIWireOptions {
  /** Appears in generated ids (`chatcmpl-<label>000001`, `call_<label>1_0`, `fp_<label>0001`); default `fake`. */
  label?: string;
  /** How tokens are counted and cut (default: one per word). */
  tokens?: TokenCounter;
  /** The embedding of a text (default {@link hashedVector}). */
  vector?: (text: string, dimensions: number) => number[];
  /** Most `stop` sequences a chat request may hold, answered 400 on `stop` above it as OpenAI does (its limit is 4); default: no bound. */
  maxStop?: number;
}

interface ToolCall {
  id: string;
  name: string;
  args: string;
}

interface Ids {
  requestId: string;
  completionId: string;
  n: number;
}

/** The OpenAI `WireFormat` (a fresh one per server: its id counter lives here). */
export function createOpenAIWire(opts: OpenAIWireOptions = {}): WireFormat {
  const label = opts.label ?? "fake";
  const tokens = opts.tokens ?? WORD_TOKENS;
  const vector = opts.vector ?? hashedVector;
  let counter = 0;
  const nextIds = (): Ids => {
    counter += 1;
    return { requestId: `req_${counter.toString(16).padStart(32, "0")}`, completionId: `chatcmpl-${label}${counter.toString().padStart(6, "0")}`, n: counter };
  };
  const invalid = (ids: Ids, message: string, param: string | null = null) =>
    openAIEnvelope(400, ids.requestId, { message, type: "invalid_request_error", param, code: null } satisfies OpenAIErrorBody);

  function plan(req: WireRequest, step: ScriptStep): WirePlan {
    const ids = nextIds();
    if (req.method !== "POST" || !(req.path.endsWith("/chat/completions") || req.path.endsWith("/embeddings"))) {
      return openAIEnvelope(404, ids.requestId, { message: `Invalid URL (${req.method} ${req.path})`, type: "invalid_request_error", param: null, code: null });
    }
    const body = req.body;
    if (typeof body !== "object" || body === null || Array.isArray(body)) return invalid(ids, "We could not parse the JSON body of your request.");
    const b = body as OpenAIJson;
    if (typeof b.model !== "string" || b.model === "") return invalid(ids, "you must provide a model parameter");
    return req.path.endsWith("/embeddings") ? embeddingsPlan(req.path, b, step, ids) : chatPlan(req.path, b, step, ids);
  }

  function embeddingsPlan(path: string, b: OpenAIJson, step: ScriptStep, ids: Ids): WirePlan {
    const inputs = embeddingInputs(b.input);
    if (!inputs || inputs.length === 0) return invalid(ids, "'input' is a required property", "input");
    const dims = typeof b.dimensions === "number" ? b.dimensions : step.reply?.dimensions ?? 8;
    const base64 = b.encoding_format === "base64";
    const model = b.model as string;
    const used = step.reply?.usage?.input ?? inputs.reduce((n, s) => n + tokens.count(s), 0);
    const data = inputs.map((text, index) => {
      const v = vector(text, dims);
      return { object: "embedding", index, embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v };
    });
    return {
      type: "json",
      status: 200,
      headers: openAIHeaders(ids.requestId),
      body: { object: "list", data, model, ...(step.fault?.kind === "missing_usage" ? {} : { usage: { prompt_tokens: used, total_tokens: used } }) },
      truth: { path, model, stream: false, inputTokens: used, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 },
    };
  }

  function chatPlan(path: string, b: OpenAIJson, step: ScriptStep, ids: Ids): WirePlan {
    if (!Array.isArray(b.messages) || b.messages.length === 0) return invalid(ids, "'messages' is a required property", "messages");
    if (opts.maxStop !== undefined && Array.isArray(b.stop) && b.stop.length > opts.maxStop) {
      return invalid(ids, `Invalid 'stop': expected an array of at most ${opts.maxStop} items, but got an array with ${b.stop.length} items instead.`, "stop");
    }
    const model = b.model as string;
    const messages = b.messages as OpenAIJson[];
    const stream = b.stream === true;
    const includeUsage = stream && (b.stream_options as OpenAIJson | undefined)?.include_usage === true;
    const maxTokens = typeof b.max_completion_tokens === "number" ? b.max_completion_tokens : typeof b.max_tokens === "number" ? b.max_tokens : undefined;
    const fault: Fault | undefined = step.fault;
    const reply = step.reply ?? {};

    const calls: ToolCall[] = (reply.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `call_${label}${ids.n}_${i}`, name: c.name, args: c.argumentsJson }));
    let text = reply.text ?? (calls.length > 0 ? "" : echoReply(lastUserText(messages)));
    let finish: string = reply.finishReason ?? (calls.length > 0 ? "tool_calls" : "stop");
    if (fault?.kind === "overrun_max_tokens") {
      text = filler((maxTokens ?? 16) + 8);
    } else if (maxTokens !== undefined) {
      const cut = tokens.first(text, maxTokens);
      if (cut.cut) {
        text = cut.text;
        finish = reply.finishReason ?? "length";
      }
    }

    const argTokens = calls.reduce((n, c) => n + tokens.count(c.args), 0);
    const reasoning = reply.usage?.reasoning ?? 0;
    const cached = reply.usage?.cachedInput ?? 0;
    const input = reply.usage?.input ?? messages.reduce((n, m) => n + tokens.count(messageText(m)), 0);
    const generated = tokens.count(text) + argTokens + reasoning;
    const output = fault?.kind === "overrun_max_tokens" ? generated : reply.usage?.output ?? generated;
    const usage = {
      prompt_tokens: input,
      completion_tokens: output,
      total_tokens: input + output,
      prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    const truth: Omit<TruthEntry, "delivered"> = { path, model, stream, inputTokens: input, outputTokens: output, cachedInputTokens: cached, cacheWriteInputTokens: 0, reasoningTokens: reasoning };
    const created = Math.floor(Date.now() / 1000);
    const common = { id: ids.completionId, created, model, service_tier: "default", system_fingerprint: `fp_${label}0001` };

    if (!stream) {
      const message: OpenAIJson = { role: "assistant", content: text === "" && calls.length > 0 ? null : text, refusal: null, annotations: [] };
      if (calls.length > 0) message.tool_calls = calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.args } }));
      return {
        type: "json",
        status: 200,
        headers: openAIHeaders(ids.requestId),
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
    const chunk = (delta: OpenAIJson, finishReason: string | null = null) =>
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
      const sentTokens = text === "" ? 0 : tokens.count(streamPieces(text)[0] ?? "");
      return { type: "sse", headers: openAIHeaders(ids.requestId), events, truth: { ...truth, outputTokens: sentTokens } };
    }
    events.push(...content, chunk({}, finish));
    if (includeUsage && fault?.kind !== "missing_usage") {
      events.push(frame({ ...common, object: "chat.completion.chunk", choices: [], usage }));
    }
    events.push("data: [DONE]\n\n");
    return { type: "sse", headers: openAIHeaders(ids.requestId), events, truth };
  }

  return {
    kind: "openai",
    plan,
    error: (status, fault) => openAIStatusError(status, fault, nextIds().requestId),
    malformedEvent: () => `data: {"id":"chatcmpl-malformed","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"oops"\n\n`,
  };
}

/** Splits a string into pieces of `size` code points (never inside a surrogate pair). */
function codePointPieces(s: string, size: number): string[] {
  const cps = Array.from(s);
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(""));
  return out;
}
