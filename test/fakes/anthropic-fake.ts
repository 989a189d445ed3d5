/**
 * A wire-faithful fake of the Anthropic Messages API (`POST /v1/messages`, anthropic-version
 * 2023-06-01): the unary `Message` JSON, the SSE sequence (`message_start`, `ping`,
 * `content_block_start/delta/stop`, `message_delta` with cumulative usage, `message_stop`),
 * in-stream `event: error`, the error envelope `{"type":"error","error":{…},"request_id"}` with its
 * `request-id` header, `retry-after` and `anthropic-ratelimit-*` headers on 429s.
 *
 * Token arithmetic is the shared fake's (one token per word): input = the words of `system` and
 * of every message's text, tool inputs and tool results; output = the words of the reply's text
 * and tool arguments, unless the script says otherwise.
 *
 * Sampling controls are checked per model as the API checks them (`checkModelSampling`): the
 * models from Claude Opus 4.7 on refuse `temperature`, `top_p` and `top_k`, and Opus 4.1 through
 * the 4.6 models refuse `temperature` with `top_p`. At API version 2026-10-21 — what
 * `@anthropic-ai/sdk` 1.x sends; the adapter sends 2023-06-01 — every model refuses all three,
 * at any value.
 *
 * Extended thinking (`thinking: {type: "enabled", budget_tokens}`) is checked as the API checks it
 * (a model that takes it; budget ≥ 1,024 and below `max_tokens`; no `temperature` but 1, no `top_p`
 * below 0.95, no forced tool) and answered with a `thinking` block first — unary `{type, thinking, signature}`, streamed
 * as `thinking_delta`s then one `signature_delta` — whose words are reasoning (output) tokens.
 *
 * Prompt caching (`cache_control` on tools, system blocks and message blocks) is checked as the API
 * checks it (at most 4 breakpoints, type `ephemeral`, ttl `5m` or `1h`) and simulated per fake
 * instance (`reset()` empties it), when the script sets no cache counts: the prompt is a sequence
 * of blocks — tools, system, messages — and each breakpoint caches the prefix ending at its block,
 * per model, when that prefix is at least the model's minimum (simplified: 2,048 tokens for Haiku
 * models, 1,024 for the others). A request reads the longest cached prefix ending at a breakpoint or
 * at one of the 20 blocks before it (Anthropic's lookback) and writes the rest up to its last
 * breakpoint; its `input_tokens` are what is left. Tool definitions count no tokens, as everywhere
 * in this fake, and every write is reported as a 5-minute one (`cache_creation`), whatever its ttl.
 *
 * Adaptive thinking (`thinking: {type: "adaptive"}`) is checked the same way but for the budget and
 * the forced tool (Anthropic's thinking guide: forcing a tool is refused with a budget only), and
 * answered alike: the fake always thinks, where the model may skip it at a low effort.
 * `output_config.effort` is checked for its values and for a model that takes it, with or without
 * thinking; its level changes nothing in the answer.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { startScriptedServer, type WirePlan, type WireFormat, type WireRequest } from "../../server/sandbox/scripted-server.js";
import type { FakeProvider, Fault, Reply, ScriptStep, TruthEntry } from "./fake-types.js";
import { countTokens, echoReply, filler, firstTokens, streamPieces } from "../../server/sandbox/word-text.js";

/** Starts the Anthropic fake on a free loopback port. */
export function startAnthropicFake(): Promise<FakeProvider> {
  return startScriptedServer(anthropicWireFormat());
}

/**
 * The Anthropic `WireFormat`, for a scripted server started with options (a director, a history
 * bound). Each call gives a format with its own prompt cache.
 */
export function anthropicWireFormat(): WireFormat {
  const cache = new PromptCache();
  return { ...anthropicWire, plan: (req, step) => anthropicWire.plan(req, step, cache), reset: () => cache.clear() };
}

/** A Messages API request body, as loosely as the fake reads it. */
interface Body {
  model?: unknown;
  max_tokens?: unknown;
  messages?: unknown;
  system?: unknown;
  stream?: unknown;
  stop_sequences?: unknown;
  thinking?: unknown;
  output_config?: unknown;
  temperature?: unknown;
  top_p?: unknown;
  top_k?: unknown;
  tool_choice?: unknown;
  tools?: unknown;
}

interface ToolUse {
  id: string;
  name: string;
  argumentsJson: string;
}

/** What the model "generated" for one request. */
interface Generation {
  model: string;
  /** The thinking block's text, when the request asked for thinking (a budget or adaptive). */
  thinking?: string;
  text: string;
  toolUses: ToolUse[];
  stopReason: string;
  stopSequence: string | null;
  usage: { input: number; output: number; cacheRead: number; cacheWrite: number; reasoning: number };
}

const FINISH_TO_STOP: Record<NonNullable<Reply["finishReason"]>, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "refusal",
};

const ERROR_TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const ERROR_MESSAGE_BY_TYPE: Record<string, string> = {
  invalid_request_error: "Invalid request",
  authentication_error: "invalid x-api-key",
  billing_error: "Your credit balance is too low to access the Anthropic API.",
  permission_error: "Your API key does not have permission to use the specified resource.",
  not_found_error: "Not found",
  request_too_large: "Request exceeds the maximum allowed number of bytes.",
  rate_limit_error: "Number of request tokens has exceeded your per-minute rate limit",
  api_error: "Internal server error",
  timeout_error: "Request timed out",
  overloaded_error: "Overloaded",
};

/** The sampling controls API version 2026-10-21 removed from every model (its migration guide: a 400 even at the default). */
const SAMPLING_FIELDS = ["temperature", "top_p", "top_k"] as const;

const anthropicWire: Omit<WireFormat, "plan"> & { plan(req: WireRequest, step: ScriptStep, cache: PromptCache): WirePlan } = {
  kind: "anthropic",

  plan(req, step, cache) {
    if (req.method !== "POST" || req.path !== "/v1/messages") return errorPlan(404, "not_found_error", "Not found");
    // `x-api-key`, or `Authorization: Bearer` as @anthropic-ai/sdk 1.x sends the key.
    const key = header(req, "x-api-key") ?? /^Bearer (.+)$/.exec(header(req, "authorization") ?? "")?.[1];
    if (key === undefined || key === "") return errorPlan(401, "authentication_error", "x-api-key header is required");
    const version = header(req, "anthropic-version");
    if (version === undefined) return errorPlan(400, "invalid_request_error", "anthropic-version: header is required");
    const body = (typeof req.body === "object" && req.body !== null ? req.body : {}) as Body;
    const removed = version >= "2026-10-21" ? SAMPLING_FIELDS.find((f) => body[f] !== undefined) : undefined;
    if (removed !== undefined) return errorPlan(400, "invalid_request_error", `${removed}: Extra inputs are not permitted`);
    if (typeof body.model !== "string") return errorPlan(400, "invalid_request_error", "model: Field required");
    if (typeof body.max_tokens !== "number" || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
      return errorPlan(400, "invalid_request_error", "max_tokens: Field required");
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) return errorPlan(400, "invalid_request_error", "messages: Field required");
    const refused = checkModelSampling(body) ?? checkThinking(body, body.max_tokens) ?? checkEffort(body);
    if (refused !== undefined) return errorPlan(400, "invalid_request_error", refused);
    const prompt = promptBlocks(body);
    if (typeof prompt === "string") return errorPlan(400, "invalid_request_error", prompt);
    const gen = generate(body, step, body.max_tokens, cache, prompt);
    return body.stream === true ? streamPlan(gen, step.fault) : unaryPlan(gen, step.fault);
  },

  error(status, fault) {
    const type = fault.errorType ?? ERROR_TYPE_BY_STATUS[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
    const waitSeconds = fault.retryAfterSeconds ?? (fault.retryAfterMs === undefined ? undefined : Math.ceil(fault.retryAfterMs / 1000));
    const headers: Record<string, string> = {};
    if (waitSeconds !== undefined) {
      // Anthropic sends whole seconds only (no `retry-after-ms`).
      headers["retry-after"] = String(waitSeconds);
      if (status === 429) {
        const reset = new Date(Date.now() + waitSeconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
        Object.assign(headers, {
          "anthropic-ratelimit-requests-limit": "50",
          "anthropic-ratelimit-requests-remaining": "0",
          "anthropic-ratelimit-requests-reset": reset,
          "anthropic-ratelimit-tokens-limit": "40000",
          "anthropic-ratelimit-tokens-remaining": "40000",
          "anthropic-ratelimit-tokens-reset": new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        });
      }
    }
    if (status === 429 || status === 529 || status >= 500) headers["x-should-retry"] = "true";
    return errorPlan(status, type, fault.message ?? ERROR_MESSAGE_BY_TYPE[type] ?? "Error", headers);
  },

  malformedEvent() {
    return 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"bro\n\n';
  },
};

/** What the API refuses of a model's thinking controls, each with the API's message. */
interface ThinkingRefusals {
  /** `thinking: {type: "enabled", budget_tokens}`. */
  budget?: string;
  /** `thinking: {type: "adaptive"}`. */
  adaptive?: string;
  /** `output_config.effort`. */
  effort?: string;
}

const NO_BUDGET = '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.';
const NO_ADAPTIVE = "adaptive thinking is not supported on this model";
/** The effort parameter came with Claude Opus 4.5; this wording is the fake's (not seen verbatim from the API). */
const NO_EFFORT = "This model does not support the effort parameter.";
const EFFORTS = new Set(["low", "medium", "high", "xhigh", "max"]);

/**
 * What the API would refuse of the model's thinking controls (a deny-list of what it is known to
 * refuse, so a model id the fake does not know takes everything): the Claude 3 and 3.5 models have
 * no thinking ("'claude-3-5-sonnet-20241022' does not support thinking."); Claude 3.7 Sonnet and
 * the Claude 4 models to 4.5 take only a budget, and the effort only on Opus 4.5; the 4.6 models
 * take both forms; Claude Opus 4.7, Mythos Preview and the generations after them take only
 * adaptive thinking. Per-model limits on `xhigh` and `max` are not modelled.
 */
function thinkingRefusals(model: string): ThinkingRefusals {
  const versionFirst = /^claude-(\d+)(?:-(\d))?-(?:sonnet|opus|haiku)(?:-|$)/.exec(model);
  if (versionFirst !== null) {
    if (Number(versionFirst[1]) === 3 && (versionFirst[2] ?? "0") !== "7") {
      const none = `'${model}' does not support thinking.`;
      return { budget: none, adaptive: none, effort: NO_EFFORT };
    }
    return { adaptive: NO_ADAPTIVE, effort: NO_EFFORT };
  }
  const named = familyFirst(model);
  if (named === undefined) return {};
  if (fromOpus47On(named)) return { budget: NO_BUDGET };
  const { family, major, minor } = named;
  if (major === 4 && minor <= 5) return { adaptive: NO_ADAPTIVE, ...(family === "opus" && minor === 5 ? {} : { effort: NO_EFFORT }) };
  return {};
}

/** A family-first id's (`claude-opus-4-7…`, `claude-fable-5…`, `claude-mythos-preview…`) family and version; a preview's comes after every release. */
function familyFirst(model: string): { family: string; major: number; minor: number } | undefined {
  const m = /^claude-(sonnet|opus|haiku|fable|mythos)-(\d+|preview)(?:-(\d)(?!\d))?/.exec(model);
  if (m === null) return undefined;
  return { family: m[1]!, major: m[2] === "preview" ? Infinity : Number(m[2]), minor: Number(m[3] ?? "0") };
}

/** Claude Opus 4.7, Mythos Preview and every model after them (Fable and Mythos came after). */
function fromOpus47On({ family, major, minor }: { family: string; major: number; minor: number }): boolean {
  return family === "fable" || family === "mythos" || major >= 5 || (major === 4 && minor >= 7);
}

/** Why the API would refuse the request's `thinking` (the rules of Anthropic's extended- and adaptive-thinking guides), if it would. */
function checkThinking(body: Body, maxTokens: number): string | undefined {
  if (body.thinking === undefined) return undefined;
  const t = body.thinking as { type?: unknown; budget_tokens?: unknown } | null;
  if (t?.type === "disabled") return undefined;
  const refusals = typeof body.model === "string" ? thinkingRefusals(body.model) : {};
  if (t?.type === "adaptive") {
    if (refusals.adaptive !== undefined) return refusals.adaptive;
    return checkSampling(body);
  }
  if (t?.type === "enabled" && refusals.budget !== undefined) return refusals.budget;
  if (t?.type !== "enabled" || typeof t.budget_tokens !== "number" || !Number.isInteger(t.budget_tokens)) return "thinking: Input tag does not match the expected tags";
  if (t.budget_tokens < 1024) return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
  if (t.budget_tokens >= maxTokens) return "`max_tokens` must be greater than `thinking.budget_tokens`";
  const sampling = checkSampling(body);
  if (sampling !== undefined) return sampling;
  const choice = (body.tool_choice as { type?: unknown } | undefined)?.type;
  if (choice === "any" || choice === "tool") return "Thinking may not be enabled when tool_choice forces tool use.";
  return undefined;
}

/** Thinking takes no `temperature` but 1 and no `top_p` below 0.95. */
function checkSampling(body: Body): string | undefined {
  if (body.temperature !== undefined && body.temperature !== 1) return "`temperature` may only be set to 1 when thinking is enabled";
  if (typeof body.top_p === "number" && body.top_p < 0.95) return "`top_p` must be greater than or equal to 0.95 when thinking is enabled";
  return undefined;
}

/**
 * Why the API would refuse the request's sampling controls for its model, whatever its thinking
 * (a model id not named as Claude's are takes them all): from Claude Opus 4.7 on
 * (Opus 4.7 and 4.8, Mythos Preview, the Claude 5 generation), any of `temperature`, `top_p` and
 * `top_k` at a value but its default (`temperature` 1; the other two document none), named one at
 * a time; from Opus 4.1 through the 4.6 models (Opus 4.1, 4.5, 4.6, Sonnet 4.5, 4.6, Haiku 4.5),
 * `temperature` with `top_p`, whatever their values. The messages are the API's as reported
 * against it (the `top_k` one by analogy, not seen verbatim). Checked before thinking's rules: the
 * order in which the API checks them is not documented.
 */
function checkModelSampling(body: Body): string | undefined {
  const named = typeof body.model === "string" ? familyFirst(body.model) : undefined;
  if (named === undefined) return undefined;
  if (fromOpus47On(named)) {
    if (body.temperature !== undefined && body.temperature !== 1) return "`temperature` is deprecated for this model.";
    if (body.top_p !== undefined) return "`top_p` is deprecated for this model.";
    if (body.top_k !== undefined) return "`top_k` is deprecated for this model.";
    return undefined;
  }
  if (named.major === 4 && named.minor >= 1 && body.temperature !== undefined && body.top_p !== undefined) {
    return "`temperature` and `top_p` cannot both be specified for this model. Please use only one.";
  }
  return undefined;
}

/** Why the API would refuse `output_config.effort`, if it would: a value it does not know, or a model that takes none. */
function checkEffort(body: Body): string | undefined {
  const effort = (body.output_config as { effort?: unknown } | null | undefined)?.effort;
  if (effort === undefined || effort === null) return undefined;
  if (typeof effort !== "string" || !EFFORTS.has(effort)) return "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'";
  return typeof body.model === "string" ? thinkingRefusals(body.model).effort : undefined;
}

/** Decides the answer: scripted or echoed, cut at a stop sequence or at `max_tokens`. */
function generate(body: Body, step: ScriptStep, maxTokens: number, cache: PromptCache, prompt: PromptBlock[]): Generation {
  const reply = step.reply ?? {};
  const messages = body.messages as unknown[];
  let text = reply.text ?? (reply.toolCalls !== undefined && reply.toolCalls.length > 0 ? "" : echoReply(lastUserText(messages)));
  let toolUses: ToolUse[] = (reply.toolCalls ?? []).map((c) => ({ id: c.id ?? newId("toolu_01", 22), name: c.name, argumentsJson: c.argumentsJson }));
  const forced = forcedTool(body.tool_choice);
  if (forced !== undefined && toolUses.length === 0) {
    // `tool_choice: {type: "tool"}` makes the model answer with that tool only: what it "generated"
    // is the tool's input (the scripted text when it is a JSON object, else `{}`).
    toolUses = [{ id: newId("toolu_01", 22), name: forced, argumentsJson: JSON.stringify(toolInput(text)) }];
    text = "";
  }
  let stopReason: string | undefined = reply.finishReason === undefined ? undefined : FINISH_TO_STOP[reply.finishReason];
  let stopSequence: string | null = null;

  const stops = Array.isArray(body.stop_sequences) ? body.stop_sequences.filter((s): s is string => typeof s === "string" && s !== "") : [];
  const hit = stops.map((s) => ({ s, at: text.indexOf(s) })).filter((h) => h.at >= 0).sort((a, b) => a.at - b.at)[0];
  if (hit !== undefined) {
    text = text.slice(0, hit.at);
    toolUses = [];
    stopReason = "stop_sequence";
    stopSequence = hit.s;
  }

  const scripted = reply.usage ?? {};
  const thinkingType = (body.thinking as { type?: unknown } | undefined)?.type;
  const thinking = thinkingType === "enabled" || thinkingType === "adaptive" ? (reply.thinking ?? "Let me think this over.") : undefined;
  const reasoning = scripted.reasoning ?? (thinking === undefined ? 0 : countTokens(thinking));
  const natural = () => countTokens(text) + toolUses.reduce((n, t) => n + countTokens(t.argumentsJson), 0) + reasoning;
  let output = scripted.output ?? natural();
  if (step.fault?.kind === "overrun_max_tokens") {
    text = `${text} ${filler(maxTokens + 5)}`.trim();
    output = Math.max(output, natural());
  } else if (output > maxTokens) {
    text = firstTokens(text, maxTokens).text;
    toolUses = [];
    output = maxTokens;
    stopReason = "max_tokens";
  }

  const allInput = scripted.input ?? countTokens([textOf(body.system), ...messages.map(textOf)].join(" "));
  const simulated = scripted.cachedInput === undefined && scripted.cacheWrite === undefined ? cache.use(body.model as string, prompt) : { read: 0, written: 0 };
  const cacheRead = scripted.cachedInput ?? Math.min(simulated.read, allInput);
  const cacheWrite = scripted.cacheWrite ?? Math.min(simulated.written, allInput - cacheRead);
  return {
    model: body.model as string,
    ...(thinking === undefined ? {} : { thinking }),
    text,
    toolUses,
    stopReason: stopReason ?? (toolUses.length > 0 ? "tool_use" : "end_turn"),
    stopSequence,
    usage: { input: Math.max(0, allInput - cacheRead - cacheWrite), output, cacheRead, cacheWrite, reasoning },
  };
}

function unaryPlan(gen: Generation, fault: Fault | undefined): WirePlan {
  const content: unknown[] = [];
  if (gen.thinking !== undefined) content.push({ type: "thinking", thinking: gen.thinking, signature: signatureOf(gen.thinking) });
  if (gen.text !== "" || gen.toolUses.length === 0) content.push({ type: "text", text: gen.text });
  for (const t of gen.toolUses) content.push({ type: "tool_use", id: t.id, name: t.name, input: toolInput(t.argumentsJson) });
  const body = {
    id: newId("msg_01", 22),
    type: "message",
    role: "assistant",
    model: gen.model,
    content,
    stop_reason: gen.stopReason,
    stop_sequence: gen.stopSequence,
    ...(fault?.kind === "missing_usage" ? {} : { usage: messageUsage(gen, gen.usage.output) }),
  };
  return { type: "json", status: 200, headers: successHeaders(), body, truth: truthOf(gen, false, gen.usage.output) };
}

function streamPlan(gen: Generation, fault: Fault | undefined): WirePlan {
  const noUsage = fault?.kind === "missing_usage";
  const events: string[] = [];
  const message = {
    id: newId("msg_01", 22),
    type: "message",
    role: "assistant",
    model: gen.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    ...(noUsage ? {} : { usage: messageUsage(gen, 1) }),
  };
  events.push(frame("message_start", { type: "message_start", message }));
  events.push('event: ping\ndata: {"type": "ping"}\n\n');

  // Content events, with how many output tokens had been sent once each was out.
  const content: Array<{ frame: string; tokensSoFar: number; isDelta: boolean }> = [];
  let sent = 0;
  let index = 0;
  if (gen.thinking !== undefined) {
    content.push({ frame: frame("content_block_start", { type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } }), tokensSoFar: sent, isDelta: false });
    for (const piece of streamPieces(gen.thinking)) {
      content.push({ frame: frame("content_block_delta", { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: piece } }), tokensSoFar: sent, isDelta: true });
    }
    sent += gen.usage.reasoning;
    content.push({ frame: frame("content_block_delta", { type: "content_block_delta", index, delta: { type: "signature_delta", signature: signatureOf(gen.thinking) } }), tokensSoFar: sent, isDelta: true });
    content.push({ frame: frame("content_block_stop", { type: "content_block_stop", index }), tokensSoFar: sent, isDelta: false });
    index++;
  }
  if (gen.text !== "") {
    content.push({ frame: frame("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }), tokensSoFar: sent, isDelta: false });
    for (const piece of streamPieces(gen.text)) {
      sent += countTokens(piece);
      content.push({ frame: frame("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: piece } }), tokensSoFar: sent, isDelta: true });
    }
    content.push({ frame: frame("content_block_stop", { type: "content_block_stop", index }), tokensSoFar: sent, isDelta: false });
    index++;
  }
  for (const t of gen.toolUses) {
    const block = { type: "tool_use", id: t.id, name: t.name, input: {} };
    content.push({ frame: frame("content_block_start", { type: "content_block_start", index, content_block: block }), tokensSoFar: sent, isDelta: false });
    for (const piece of ["", ...jsonPieces(t.argumentsJson)]) {
      content.push({ frame: frame("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } }), tokensSoFar: sent, isDelta: true });
    }
    sent += countTokens(t.argumentsJson);
    content.push({ frame: frame("content_block_stop", { type: "content_block_stop", index }), tokensSoFar: sent, isDelta: false });
    index++;
  }

  if (fault?.kind === "mid_stream_error") {
    // Overloaded after the first piece of content: Anthropic's in-stream form of a 529.
    const first = content.findIndex((c) => c.isDelta);
    const upTo = first === -1 ? content.length : first + 1;
    events.push(...content.slice(0, upTo).map((c) => c.frame));
    events.push(frame("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }));
    const generated = content[upTo - 1]?.tokensSoFar ?? 0;
    return { type: "sse", headers: successHeaders(), events, truth: truthOf(gen, true, generated), endsEarly: true };
  }

  events.push(...content.map((c) => c.frame));
  const deltaUsage = { ...wireUsageCounts(gen), output_tokens: gen.usage.output, ...reasoningDetails(gen) };
  events.push(frame("message_delta", { type: "message_delta", delta: { stop_reason: gen.stopReason, stop_sequence: gen.stopSequence }, ...(noUsage ? {} : { usage: deltaUsage }) }));
  events.push(frame("message_stop", { type: "message_stop" }));
  return { type: "sse", headers: successHeaders(), events, truth: truthOf(gen, true, gen.usage.output) };
}

function messageUsage(gen: Generation, outputTokens: number): Record<string, unknown> {
  return {
    ...wireUsageCounts(gen),
    cache_creation: { ephemeral_5m_input_tokens: gen.usage.cacheWrite, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    ...reasoningDetails(gen),
    service_tier: "standard",
  };
}

function wireUsageCounts(gen: Generation): Record<string, number> {
  return { input_tokens: gen.usage.input, cache_creation_input_tokens: gen.usage.cacheWrite, cache_read_input_tokens: gen.usage.cacheRead };
}

function reasoningDetails(gen: Generation): Record<string, unknown> {
  return gen.usage.reasoning > 0 ? { output_tokens_details: { thinking_tokens: gen.usage.reasoning } } : {};
}

function truthOf(gen: Generation, stream: boolean, outputTokens: number): Omit<TruthEntry, "delivered"> {
  return {
    path: "/v1/messages",
    model: gen.model,
    stream,
    inputTokens: gen.usage.input + gen.usage.cacheRead + gen.usage.cacheWrite,
    outputTokens,
    cachedInputTokens: gen.usage.cacheRead,
    cacheWriteInputTokens: gen.usage.cacheWrite,
    reasoningTokens: gen.usage.reasoning,
  };
}

function errorPlan(status: number, type: string, message: string, headers: Record<string, string> = {}): WirePlan {
  const requestId = newId("req_01", 22);
  return { type: "json", status, headers: { "request-id": requestId, ...headers }, body: { type: "error", error: { type, message }, request_id: requestId } };
}

function successHeaders(): Record<string, string> {
  return {
    "request-id": newId("req_01", 22),
    "anthropic-organization-id": randomUUID(),
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "49",
    "anthropic-ratelimit-requests-reset": new Date(Date.now() + 1_200).toISOString().replace(/\.\d+Z$/, "Z"),
  };
}

/** An opaque signature in the shape Anthropic's has (base64), derived from the thinking text. */
function signatureOf(thinking: string): string {
  return Buffer.from(`sig:${thinking}`).toString("base64");
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The text a user turn carries last: its text blocks, else its tool results. */
function lastUserText(messages: unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown };
    if (m?.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    if (!Array.isArray(m.content)) return "";
    const texts = m.content.filter((b): b is { type: "text"; text: string } => b?.type === "text" && typeof b.text === "string").map((b) => b.text);
    return texts.length > 0 ? texts.join(" ") : textOf(m.content);
  }
  return "";
}

/** Every text a system prompt, message or block holds (tool inputs as JSON). */
function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(textOf).join(" ");
  if (typeof value !== "object" || value === null) return "";
  const v = value as { type?: unknown; text?: unknown; content?: unknown; input?: unknown };
  if (v.type === "text" && typeof v.text === "string") return v.text;
  if (v.type === "tool_use") return JSON.stringify(v.input ?? {});
  if (v.type === "tool_result" || v.content !== undefined) return textOf(v.content);
  return "";
}

/** The tool a `tool_choice` of type `tool` forces, if it is one. */
function forcedTool(choice: unknown): string | undefined {
  const c = choice as { type?: unknown; name?: unknown } | null | undefined;
  return c?.type === "tool" && typeof c.name === "string" ? c.name : undefined;
}

function toolInput(argumentsJson: string): unknown {
  try {
    const value: unknown = JSON.parse(argumentsJson);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/** A tool's argument JSON in pieces of about 8 characters, as `input_json_delta`s carry it. */
function jsonPieces(json: string): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < json.length; i += 8) pieces.push(json.slice(i, i + 8));
  return pieces;
}

function header(req: WireRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** An id in Anthropic's shape: a prefix such as `msg_01` and base62 characters. */
function newId(prefix: string, length: number): string {
  const bytes = randomBytes(length);
  let out = prefix;
  for (const b of bytes) out += BASE62[b % 62];
  return out;
}

/** One block of the prompt, in cache order: its running hash (the prefix ending here), tokens so far, and its breakpoint. */
interface PromptBlock {
  hash: string;
  tokensSoFar: number;
  ttlMs?: number;
}

/** Anthropic's cache lookback: how many blocks before a breakpoint are checked for an entry. */
const LOOKBACK_BLOCKS = 20;
const TTL_MS: Record<string, number> = { "5m": 5 * 60_000, "1h": 60 * 60_000 };

/**
 * The prompt as cacheable blocks (tools, system, messages; a string `system` or `content` is one
 * text block), or why the API would refuse its `cache_control`s.
 */
function promptBlocks(body: Body): PromptBlock[] | string {
  const items: unknown[] = [];
  if (Array.isArray(body.tools)) items.push(...body.tools);
  if (typeof body.system === "string") items.push({ type: "text", text: body.system });
  else if (Array.isArray(body.system)) items.push(...body.system);
  for (const m of body.messages as unknown[]) {
    const content = (m as { content?: unknown } | null)?.content;
    if (typeof content === "string") items.push({ type: "text", text: content });
    else if (Array.isArray(content)) items.push(...content);
  }
  const blocks: PromptBlock[] = [];
  let hash = createHash("sha256").digest("hex");
  let tokens = 0;
  let breakpoints = 0;
  for (const item of items) {
    const { cache_control: control, ...block } = (typeof item === "object" && item !== null ? item : {}) as { cache_control?: unknown; content?: unknown };
    // A breakpoint nested in a tool_result's content counts too.
    const nested = Array.isArray(block.content) ? block.content.filter((c) => (c as { cache_control?: unknown } | null)?.cache_control != null) : [];
    for (const c of [control, ...nested.map((n) => (n as { cache_control: unknown }).cache_control)]) {
      if (c === undefined || c === null) continue;
      const why = cacheControlError(c);
      if (why !== undefined) return why;
      breakpoints++;
    }
    hash = createHash("sha256").update(hash).update(JSON.stringify(block)).digest("hex");
    tokens += (block as { type?: unknown }).type === undefined ? 0 : countTokens(textOf(block));
    const ttl = control ?? nested.at(-1);
    blocks.push({ hash, tokensSoFar: tokens, ...(ttl == null ? {} : { ttlMs: TTL_MS[(ttl as { ttl?: string }).ttl ?? "5m"]! }) });
  }
  if (breakpoints > 4) return `A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`;
  return blocks;
}

function cacheControlError(control: unknown): string | undefined {
  const c = control as { type?: unknown; ttl?: unknown } | null;
  if (typeof c !== "object" || c === null) return "cache_control: Input should be a valid dictionary";
  if (c.type !== "ephemeral") return `cache_control.type: Input tag '${String(c.type)}' found using 'type' does not match any of the expected tags: 'ephemeral'`;
  if (c.ttl !== undefined && c.ttl !== "5m" && c.ttl !== "1h") return "cache_control.ephemeral.ttl: Input should be '5m' or '1h'";
  return undefined;
}

/** A model's least cacheable prefix (simplified from Anthropic's per-model table). */
function minCacheableTokens(model: string): number {
  return /haiku/.test(model) ? 2048 : 1024;
}

/** One fake's prompt cache: prefix hashes per model, each with its expiry. */
class PromptCache {
  private readonly entries = new Map<string, number>();

  clear(): void {
    this.entries.clear();
  }

  /** Reads the longest cached prefix a breakpoint reaches and writes the prompt's breakpoints; the tokens read and written. */
  use(model: string, blocks: PromptBlock[]): { read: number; written: number } {
    const now = Date.now();
    const key = (b: PromptBlock) => `${model}\u0000${b.hash}`;
    const live = (b: PromptBlock) => (this.entries.get(key(b)) ?? 0) > now;
    const breakpoints = blocks.flatMap((b, i) => (b.ttlMs === undefined ? [] : [i]));
    if (breakpoints.length === 0) return { read: 0, written: 0 };
    let hit: number | undefined;
    for (const at of breakpoints) {
      for (let i = at; i >= Math.max(0, at - LOOKBACK_BLOCKS); i--) {
        if (live(blocks[i]!) && (hit === undefined || i > hit)) hit = i;
      }
    }
    const read = hit === undefined ? 0 : blocks[hit]!.tokensSoFar;
    if (hit !== undefined) this.entries.set(key(blocks[hit]!), now + (blocks[hit]!.ttlMs ?? TTL_MS["5m"]!));
    const min = minCacheableTokens(model);
    let written = 0;
    for (const at of breakpoints) {
      const b = blocks[at]!;
      if (b.tokensSoFar < min) continue;
      this.entries.set(key(b), Math.max(this.entries.get(key(b)) ?? 0, now + b.ttlMs!));
      written = Math.max(written, b.tokensSoFar - read);
    }
    return { read, written };
  }
}
