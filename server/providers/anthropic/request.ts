import type { JsonObject, ModelContentPart, ModelMessage, ModelRequest, ModelToolCall, ReasoningEffort } from "../model.js";
import { ProviderError } from "../provider-error.js";
import { cacheMark, placeCacheBreakpoints } from "./cache-control.js";
import { structuredOutputOf, structuredTools } from "./structured-output.js";
import { samplingControlsOf } from "./sampling-models.js";
import { thinkingFormOf } from "./thinking-models.js";
import type { WireEffort, WireMediaBlock, WireMessage, WireRequest, WireRequestBlock, WireSystemBlock, WireThinking, WireTool, WireToolChoice } from "./wire.js";

/** Options of {@link toWireRequest}. */
export interface WireRequestOptions {
  /** `max_tokens` when the request sets none (Anthropic requires it). */
  defaultMaxTokens: number;
  stream: boolean;
}

/**
 * Maps a neutral request to a Messages API body. System turns become the top-level `system`
 * blocks; tool turns become `user` turns of `tool_result` blocks; consecutive turns of one role
 * are merged (Anthropic requires alternating roles) with `tool_result` blocks first, as the API
 * requires after an assistant `tool_use`. A JSON `responseFormat` becomes a synthetic tool
 * (`structured-output.ts`). `seed` has no Anthropic equivalent; `temperature` and `top_p` are
 * sent as far as the model takes them (`samplingFor`). `reasoningEffort` becomes
 * extended thinking — a budget, or adaptive with `output_config.effort` — where the API takes it
 * (`thinkingFor`). Prompt-cache marks (and AUTO's) become `cache_control` on their blocks, at most
 * 4 (`cache-control.ts`).
 * Throws `ProviderError("bad_request")` for content the wire cannot carry.
 */
export function toWireRequest(req: ModelRequest, opts: WireRequestOptions): WireRequest {
  const system: WireSystemBlock[] = [];
  const turns: WireMessage[] = [];
  for (const message of req.messages) {
    if (message.role === "system") {
      for (const part of message.content) {
        if (part.type !== "text") throw badRequest("system messages can only hold text");
        if (part.text !== "") system.push({ type: "text", text: part.text, ...cacheMark(part.cacheBreakpoint) });
      }
      continue;
    }
    const turn = toWireTurn(message);
    if (turn.content.length > 0) turns.push(turn);
  }

  const body: WireRequest = {
    model: req.model,
    max_tokens: req.maxOutputTokens ?? opts.defaultMaxTokens,
    messages: mergeTurns(turns),
  };
  if (system.length > 0) body.system = system;
  const tools: WireTool[] = (req.tools ?? []).map((tool) => ({
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    input_schema: tool.parameters ?? { type: "object", properties: {} },
    ...(tool.strict === true ? { strict: true } : {}),
    ...cacheMark(tool.cacheBreakpoint),
  }));
  const callerChoice = tools.length > 0 ? toWireToolChoice(req) : undefined;
  const structured = structuredOutputOf(req);
  const sent = structured === undefined ? { tools, toolChoice: callerChoice } : structuredTools(req, structured, tools, callerChoice);
  if (sent.tools.length > 0) body.tools = sent.tools;
  if (sent.toolChoice !== undefined) body.tool_choice = sent.toolChoice;
  const { thinking, effort } = thinkingFor(req, body.max_tokens, sent.toolChoice);
  if (thinking !== undefined) {
    // Anthropic refuses `temperature` other than 1 and `top_p` below 0.95 with thinking, budgeted
    // or adaptive: the effort wins and the sampling controls are left out.
    body.thinking = thinking;
  } else {
    Object.assign(body, samplingFor(req));
  }
  if (effort !== undefined) body.output_config = { ...body.output_config, effort };
  if (req.stop !== undefined && req.stop.length > 0) body.stop_sequences = req.stop;
  if (opts.stream) body.stream = true;
  placeCacheBreakpoints(body, req.promptCaching);
  return body;
}

/**
 * `temperature` and `top_p` as the model takes them (`sampling-models.ts`): both as asked, only
 * one — `temperature` when both are asked — where the pair is refused, none where the model
 * refuses them. What is left out is a hint the model answers without, at its default.
 */
function samplingFor(req: ModelRequest): Pick<WireRequest, "temperature" | "top_p"> {
  const controls = samplingControlsOf(req.model);
  if (controls === "none") return {};
  const sampling: Pick<WireRequest, "temperature" | "top_p"> = {};
  if (req.temperature !== undefined) sampling.temperature = req.temperature;
  if (req.topP !== undefined && (controls === "both" || req.temperature === undefined)) sampling.top_p = req.topP;
  return sampling;
}

/**
 * Thinking budget per effort: LiteLLM's mapping for Anthropic (`DEFAULT_REASONING_EFFORT_*_THINKING_BUDGET`:
 * low 1,024, medium 2,048, high 4,096), with `minimal` raised to Anthropic's least budget, 1,024
 * (LiteLLM's 128 would be refused; "budget_tokens must be ≥ 1024", extended-thinking docs).
 */
const THINKING_BUDGET: Readonly<Record<ReasoningEffort, number>> = Object.freeze({ minimal: 1024, low: 1024, medium: 2048, high: 4096 });
const MIN_THINKING_BUDGET = 1024;

/**
 * `output_config.effort` per effort, for the models that take adaptive thinking. Anthropic's levels
 * are low, medium, high (its default: the same as not sending one), xhigh and max; `minimal` has
 * none and is sent as the least, low. xhigh and max are not every model's (xhigh from Opus 4.7,
 * max from the 4.6 models), and `high` is already the top of the neutral scale.
 */
const ADAPTIVE_EFFORT: Readonly<Record<ReasoningEffort, WireEffort>> = Object.freeze({ minimal: "low", low: "low", medium: "medium", high: "high" });

/** What `thinkingFor` asks for: `thinking`, `output_config.effort`, both or neither. */
interface ThinkingRequest {
  thinking?: WireThinking;
  effort?: WireEffort;
}

/**
 * Thinking for the request's effort, in the form the model takes (`thinking-models.ts`), or none —
 * the effort is a hint, answered at the model's default — when the model is not known to take
 * one (Anthropic refuses a form the model does not take with a 400).
 *
 * A budget counts toward `max_tokens` (`max_output_tokens` stays the cap on all output, reasoning
 * included, as on OpenAI and Gemini, and what budgets reserve for), so it is capped at half of it:
 * the other half is left to the answer, which a budget of nearly all of it (4,095 of the default
 * 4,096) would cut; and none is asked for when half of `max_tokens` is under the least budget,
 * 1,024 (Anthropic refuses a smaller budget, and a larger one would leave the answer less than the
 * thinking).
 *
 * Adaptive thinking is `thinking: {type: "adaptive"}` with the effort as `output_config.effort`:
 * the model decides whether and how much to think, within `max_tokens` (which stays the only cap;
 * it has no least budget). The effort also paces the text and tool calls, and needs no thinking,
 * so it is sent even where thinking is not.
 *
 * No thinking, in either form, is asked for when the conversation continues a tool call (ends in
 * tool results): Anthropic then requires the assistant turn to carry its signed thinking blocks
 * back, which the neutral history cannot, and a tool loop is one assistant turn, in which the
 * thinking configuration may not change. No budget is asked for when the request sent forces a
 * tool (`tool_choice` any or tool, the caller's or structured output's): Anthropic refuses that
 * with a budget, but not with adaptive thinking ("adaptive thinking supports forced tool use",
 * its thinking-with-tools guide).
 */
function thinkingFor(req: ModelRequest, maxTokens: number, sentChoice: WireToolChoice | undefined): ThinkingRequest {
  if (req.reasoningEffort === undefined) return {};
  const form = thinkingFormOf(req.model);
  if (form === undefined) return {};
  const continuesToolCall = req.messages.at(-1)?.role === "tool";
  if (form === "adaptive") {
    const effort = ADAPTIVE_EFFORT[req.reasoningEffort];
    return continuesToolCall ? { effort } : { thinking: { type: "adaptive" }, effort };
  }
  // The choice as sent: a structured-output request forces its synthetic tool too.
  if (continuesToolCall || sentChoice?.type === "any" || sentChoice?.type === "tool") return {};
  const budget = Math.min(THINKING_BUDGET[req.reasoningEffort], Math.floor(maxTokens / 2));
  if (budget < MIN_THINKING_BUDGET) return {};
  return { thinking: { type: "enabled", budget_tokens: budget } };
}

function toWireTurn(message: ModelMessage): WireMessage {
  if (message.role === "tool") {
    if (message.toolCallId === undefined || message.toolCallId === "") throw badRequest("a tool message needs the id of the call it answers");
    const content = message.content.map(toMediaBlock).filter(nonEmpty);
    // A mark on any part of a tool message goes on its one `tool_result` block.
    const marked = message.content.some((p) => p.cacheBreakpoint === true);
    return {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: message.toolCallId, ...(content.length > 0 ? { content } : {}), ...cacheMark(marked) }],
    };
  }
  const content: WireRequestBlock[] = message.content.map((p) => (p.cacheBreakpoint === true ? { ...toMediaBlock(p), ...cacheMark(true) } : toMediaBlock(p))).filter(nonEmpty);
  if (message.role === "assistant") {
    for (const call of message.toolCalls ?? []) content.push({ type: "tool_use", id: call.id, name: call.name, input: toolInput(call) });
    return { role: "assistant", content };
  }
  return { role: "user", content };
}

function toMediaBlock(part: ModelContentPart): WireMediaBlock {
  if (part.type === "text") return { type: "text", text: part.text };
  if (part.data !== undefined) {
    if (part.mimeType === undefined) throw badRequest("inline image data needs a MIME type");
    return { type: "image", source: { type: "base64", media_type: part.mimeType, data: Buffer.from(part.data).toString("base64") } };
  }
  if (part.url === undefined) throw badRequest("an image needs a URL or inline data");
  if (part.url.startsWith("data:")) return { type: "image", source: dataUrlSource(part.url) };
  return { type: "image", source: { type: "url", url: part.url } };
}

/** `data:<mime>[;base64],<payload>` → a base64 source (Anthropic takes no data URLs). */
function dataUrlSource(url: string): { type: "base64"; media_type: string; data: string } {
  const comma = url.indexOf(",");
  const header = comma === -1 ? "" : url.slice("data:".length, comma);
  const [mime, ...params] = header.split(";");
  if (comma === -1 || mime === undefined || mime === "") throw badRequest("an image data URL needs a MIME type");
  const payload = url.slice(comma + 1);
  const data = params.includes("base64") ? payload : Buffer.from(decodeURIComponent(payload), "utf8").toString("base64");
  return { type: "base64", media_type: mime, data };
}

function toolInput(call: ModelToolCall): JsonObject {
  if (call.argumentsJson.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(call.argumentsJson);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw badRequest("a tool call in the conversation has arguments that are not a JSON object");
  }
  return parsed as JsonObject;
}

function toWireToolChoice(req: ModelRequest): WireToolChoice | undefined {
  const choice = req.toolChoice;
  if (choice?.type === "none") return { type: "none" };
  const disable = req.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined) return req.parallelToolCalls === false ? { type: "auto", ...disable } : undefined;
  if (choice.type === "tool") return { type: "tool", name: choice.name, ...disable };
  return { type: choice.type === "required" ? "any" : "auto", ...disable };
}

/** Merges consecutive same-role turns; in user turns, `tool_result` blocks go first. */
function mergeTurns(turns: WireMessage[]): WireMessage[] {
  const merged: WireMessage[] = [];
  for (const turn of turns) {
    const last = merged.at(-1);
    if (last?.role === turn.role) last.content.push(...turn.content);
    else merged.push({ role: turn.role, content: [...turn.content] });
  }
  for (const turn of merged) {
    if (turn.role !== "user") continue;
    turn.content = [...turn.content.filter((b) => b.type === "tool_result"), ...turn.content.filter((b) => b.type !== "tool_result")];
  }
  return merged;
}

/** Anthropic rejects empty text blocks. */
function nonEmpty(block: WireMediaBlock): boolean {
  return block.type !== "text" || block.text !== "";
}

function badRequest(message: string): ProviderError {
  return new ProviderError("bad_request", `anthropic: ${message}`);
}
