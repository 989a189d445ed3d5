import type { JsonObject, JsonValue, ModelContentPart, ModelMessage, ModelRequest, ModelTool, ModelToolCall, ModelToolChoice, ReasoningEffort } from "../providers/model.js";
import { cacheControlOf } from "../openai/chat-request.js";
import { arrayField, booleanField, isObject, numberField, objectField, requiredString, stringField } from "../openai/json-fields.js";
import { invalidField } from "../openai/openai-request-error.js";
import { BOUNDS, checkBytes, checkChars, checkCount, IMAGE_URL, TOOL_NAME } from "../openai/request-bounds.js";

/** A parsed `POST /v1/messages` body. */
export interface MessagesRequest {
  /** `model`: the route alias. */
  route: string;
  /** The neutral request (`model` empty: each route target has its own). */
  request: ModelRequest;
  stream: boolean;
  /** `metadata.user_id`: the end user (recorded as the `end_user` tag, as OpenAI's `user`). */
  user?: string;
}

/** The Chat verb's bound on stop sequences (`ChatRequest.stop`: at most 8). */
const MAX_STOP_SEQUENCES = 8;

/**
 * Fields whose effect this surface cannot honour: refused with a 400 naming them rather than
 * silently not applied (server-side tools and containers run on Anthropic's side only). Any other
 * unknown field is ignored, as on the OpenAI surface.
 */
const UNSUPPORTED = ["mcp_servers", "container"] as const;

/**
 * Maps an Anthropic Messages body to the neutral request, answering 400 naming the field for
 * anything malformed (every field bounded as the Chat verb's schema bounds it, `request-bounds.ts`).
 *
 * - `system` (a string or text blocks) becomes a system turn before the conversation.
 * - A user turn's `tool_result` blocks become tool turns (in order, before the rest of the turn's
 *   content); their `is_error` has no neutral counterpart and is dropped. An assistant turn's
 *   `tool_use` blocks become its tool calls; `thinking` and `redacted_thinking` blocks (only
 *   Anthropic signs them, and no other provider can take them back) are dropped.
 * - Images: `base64` sources become a `data:` URL, `url` sources must be https.
 * - `tool_choice`: `auto`, `any` (→ required), `tool` (→ that tool), `none`;
 *   `disable_parallel_tool_use` → `parallelToolCalls: false`.
 * - `top_k` has no neutral counterpart and is dropped (validated only).
 * - `thinking` maps to the neutral reasoning effort (`reasoningEffortOf`).
 * - `cache_control` on a block or tool is a prompt-cache breakpoint (`cacheControlOf`).
 */
export function parseMessagesRequest(body: JsonObject): MessagesRequest {
  const route = requiredString(body, "model");
  for (const name of UNSUPPORTED) {
    const v = body[name];
    if (v !== undefined && v !== null) throw invalidField(name, `'${name}' is not supported by this gateway`);
  }
  const maxOutputTokens = numberField(body, "max_tokens", { min: 1, integer: true });
  if (maxOutputTokens === undefined) throw invalidField("max_tokens", "'max_tokens' is a required property");
  const messagesJson = arrayField(body, "messages");
  if (messagesJson === undefined || messagesJson.length === 0) throw invalidField("messages", "'messages' must be a non-empty array");
  checkCount(messagesJson, BOUNDS.messages, "messages");
  const toolNames = new Map<string, string>();
  const messages: ModelMessage[] = [...systemOf(body.system)];
  messagesJson.forEach((m, i) => messages.push(...turnOf(m, `messages[${i}]`, toolNames)));
  checkCount(messages, BOUNDS.messages, "messages");

  const toolsJson = arrayField(body, "tools");
  if (toolsJson !== undefined) checkCount(toolsJson, BOUNDS.tools, "tools");
  const tools = toolsJson?.map((t, i) => toolOf(t, `tools[${i}]`));
  const choice = toolChoiceOf(objectField(body, "tool_choice"));
  const temperature = numberField(body, "temperature", { min: 0, max: 1 });
  const topP = numberField(body, "top_p", { min: 0, max: 1 });
  numberField(body, "top_k", { min: 0, integer: true });
  const stop = stopOf(arrayField(body, "stop_sequences"));
  const stream = booleanField(body, "stream") ?? false;
  const metadata = objectField(body, "metadata");
  const user = metadata === undefined ? undefined : stringField(metadata, "user_id", "metadata.user_id", 256);
  const reasoningEffort = reasoningEffortOf(objectField(body, "thinking"), objectField(body, "output_config"), maxOutputTokens);

  const request: ModelRequest = {
    model: "",
    messages,
    maxOutputTokens,
    ...(tools !== undefined && tools.length > 0 ? { tools } : {}),
    ...(choice?.toolChoice === undefined ? {} : { toolChoice: choice.toolChoice }),
    ...(choice?.parallelToolCalls === undefined ? {} : { parallelToolCalls: choice.parallelToolCalls }),
    ...(temperature === undefined ? {} : { temperature }),
    ...(topP === undefined ? {} : { topP }),
    ...(stop === undefined ? {} : { stop }),
    ...(reasoningEffort === undefined ? {} : { reasoningEffort }),
  };
  return { route, request, stream, ...(user === undefined || user === "" ? {} : { user }) };
}

/** `system`: a string or an array of text blocks; absent or empty: no system turn. */
function systemOf(system: JsonValue | undefined): ModelMessage[] {
  if (system === undefined || system === null) return [];
  if (typeof system === "string") return system === "" ? [] : [{ role: "system", content: [{ type: "text", text: checkBytes(system, BOUNDS.textBytes, "system") }] }];
  if (!Array.isArray(system)) throw invalidField("system", "'system' must be a string or an array of text blocks");
  checkCount(system, BOUNDS.contentParts, "system");
  const content = system.map((block, i): ModelContentPart => {
    const at = `system[${i}]`;
    if (!isObject(block)) throw invalidField(at, `'${at}' must be an object`);
    if (block.type !== "text") throw invalidField(`${at}.type`, `'${at}.type' must be "text"`);
    return textPart(block, at);
  });
  return content.length === 0 ? [] : [{ role: "system", content }];
}

/** One Anthropic turn as neutral messages: a user turn's tool results come out as tool turns first. */
function turnOf(m: JsonValue, at: string, toolNames: Map<string, string>): ModelMessage[] {
  if (!isObject(m)) throw invalidField(at, `'${at}' must be an object`);
  const role = requiredString(m, "role", `${at}.role`);
  if (role !== "user" && role !== "assistant") throw invalidField(`${at}.role`, `'${at}.role' must be "user" or "assistant"`);
  const blocks = blocksOf(m.content ?? null, `${at}.content`);
  const content: ModelContentPart[] = [];
  const out: ModelMessage[] = [];
  const toolCalls: ModelToolCall[] = [];
  blocks.forEach((block, i) => {
    const here = `${at}.content[${i}]`;
    const type = requiredString(block, "type", `${here}.type`);
    switch (type) {
      case "text":
        content.push(textPart(block, here));
        return;
      case "image":
        if (role !== "user") throw invalidField(`${here}.type`, `'${here}': images go in user turns`);
        content.push(imagePart(block, here));
        return;
      case "tool_use": {
        if (role !== "assistant") throw invalidField(`${here}.type`, `'${here}': tool_use blocks go in assistant turns`);
        const id = checkChars(requiredString(block, "id", `${here}.id`), BOUNDS.toolCallId, `${here}.id`);
        const name = checkChars(requiredString(block, "name", `${here}.name`), BOUNDS.name, `${here}.name`);
        const input = block.input ?? {};
        if (!isObject(input)) throw invalidField(`${here}.input`, `'${here}.input' must be an object`);
        toolNames.set(id, name);
        toolCalls.push({ id, name, argumentsJson: checkBytes(JSON.stringify(input), BOUNDS.argumentsBytes, `${here}.input`) });
        return;
      }
      case "tool_result": {
        if (role !== "user") throw invalidField(`${here}.type`, `'${here}': tool_result blocks go in user turns`);
        const id = checkChars(requiredString(block, "tool_use_id", `${here}.tool_use_id`), BOUNDS.toolCallId, `${here}.tool_use_id`);
        const result = toolResultContent(block.content ?? null, `${here}.content`);
        const name = toolNames.get(id);
        out.push({ role: "tool", toolCallId: id, content: result, ...(name === undefined ? {} : { name }) });
        return;
      }
      case "thinking":
      case "redacted_thinking":
        if (role !== "assistant") throw invalidField(`${here}.type`, `'${here}': ${type} blocks go in assistant turns`);
        return;
      default:
        throw invalidField(`${here}.type`, `'${here}.type': content block type "${type}" is not supported (text, image, tool_use, tool_result)`);
    }
  });
  if (role === "assistant") {
    if (content.length === 0 && toolCalls.length === 0) return out;
    out.push({ role: "assistant", content, ...(toolCalls.length === 0 ? {} : { toolCalls }) });
  } else if (content.length > 0) {
    out.push({ role: "user", content });
  } else if (out.length === 0) {
    throw invalidField(`${at}.content`, `'${at}.content' is required`);
  }
  return out;
}

/** A turn's `content`: a string is one text block. */
function blocksOf(content: JsonValue, at: string): JsonObject[] {
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content)) throw invalidField(at, `'${at}' must be a string or an array of content blocks`);
  checkCount(content, BOUNDS.contentParts, at);
  return content.map((block, i) => {
    if (!isObject(block)) throw invalidField(`${at}[${i}]`, `'${at}[${i}]' must be an object`);
    return block;
  });
}

/** A `tool_result`'s content: a string, or text and image blocks. */
function toolResultContent(content: JsonValue, at: string): ModelContentPart[] {
  return blocksOf(content ?? "", at).map((block, i) => {
    const here = `${at}[${i}]`;
    const type = requiredString(block, "type", `${here}.type`);
    if (type === "text") return textPart(block, here);
    if (type === "image") return imagePart(block, here);
    throw invalidField(`${here}.type`, `'${here}.type': a tool_result holds text and image blocks, not "${type}"`);
  });
}

function textPart(block: JsonObject, at: string): ModelContentPart {
  const text = checkBytes(stringField(block, "text", `${at}.text`) ?? "", BOUNDS.textBytes, `${at}.text`);
  return { type: "text", text, ...(cacheControlOf(block, at) ? { cacheBreakpoint: true } : {}) };
}

function imagePart(block: JsonObject, at: string): ModelContentPart {
  const source = objectField(block, "source", `${at}.source`);
  if (source === undefined) throw invalidField(`${at}.source`, `'${at}.source' is required`);
  const type = requiredString(source, "type", `${at}.source.type`);
  let url: string;
  if (type === "base64") {
    const mediaType = requiredString(source, "media_type", `${at}.source.media_type`);
    if (!/^image\/[a-z0-9.+-]+$/.test(mediaType)) throw invalidField(`${at}.source.media_type`, `'${at}.source.media_type' must be an image type`);
    url = `data:${mediaType};base64,${requiredString(source, "data", `${at}.source.data`)}`;
  } else if (type === "url") {
    url = requiredString(source, "url", `${at}.source.url`);
    if (!IMAGE_URL.test(url)) throw invalidField(`${at}.source.url`, `'${at}.source.url' must be an https URL`);
  } else {
    throw invalidField(`${at}.source.type`, `'${at}.source.type' must be "base64" or "url"`);
  }
  return { type: "image", url: checkChars(url, BOUNDS.imageUrl, `${at}.source`), ...(cacheControlOf(block, at) ? { cacheBreakpoint: true } : {}) };
}

function toolOf(t: JsonValue, at: string): ModelTool {
  if (!isObject(t)) throw invalidField(at, `'${at}' must be an object`);
  const type = stringField(t, "type", `${at}.type`);
  // Anthropic's server tools (web search, code execution, …) run on its side: none here.
  if (type !== undefined && type !== "custom") throw invalidField(`${at}.type`, `tool type "${type}" is not supported (custom tools only)`);
  const name = requiredString(t, "name", `${at}.name`);
  if (name.length > BOUNDS.name || !TOOL_NAME.test(name)) throw invalidField(`${at}.name`, `'${at}.name' must be 1 to ${BOUNDS.name} of a-z, A-Z, 0-9, _ and -`);
  const description = stringField(t, "description", `${at}.description`);
  if (description !== undefined) checkChars(description, BOUNDS.toolDescription, `${at}.description`);
  const parameters = objectField(t, "input_schema", `${at}.input_schema`);
  if (parameters === undefined) throw invalidField(`${at}.input_schema`, `'${at}.input_schema' is a required property`);
  const strict = booleanField(t, "strict", `${at}.strict`);
  return {
    name,
    parameters,
    ...(description === undefined ? {} : { description }),
    ...(strict === true ? { strict } : {}),
    ...(cacheControlOf(t, at) ? { cacheBreakpoint: true } : {}),
  };
}

function toolChoiceOf(choice: JsonObject | undefined): { toolChoice?: ModelToolChoice; parallelToolCalls?: boolean } | undefined {
  if (choice === undefined) return undefined;
  const type = requiredString(choice, "type", "tool_choice.type");
  const disableParallel = booleanField(choice, "disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use");
  const parallel = disableParallel === true ? { parallelToolCalls: false } : {};
  switch (type) {
    case "auto":
      return { toolChoice: { type: "auto" }, ...parallel };
    case "any":
      return { toolChoice: { type: "required" }, ...parallel };
    case "none":
      return { toolChoice: { type: "none" } };
    case "tool":
      return { toolChoice: { type: "tool", name: checkChars(requiredString(choice, "name", "tool_choice.name"), BOUNDS.name, "tool_choice.name") }, ...parallel };
    default:
      throw invalidField("tool_choice.type", `'tool_choice.type' must be one of auto, any, tool, none`);
  }
}

function stopOf(list: JsonValue[] | undefined): string[] | undefined {
  if (list === undefined || list.length === 0) return undefined;
  if (list.length > MAX_STOP_SEQUENCES) throw invalidField("stop_sequences", `'stop_sequences' may hold at most ${MAX_STOP_SEQUENCES} items`);
  return list.map((s, i) => {
    if (typeof s !== "string" || s === "") throw invalidField(`stop_sequences[${i}]`, `'stop_sequences[${i}]' must be a non-empty string`);
    return checkChars(s, BOUNDS.stopLength, `stop_sequences[${i}]`);
  });
}

/** `output_config.effort` levels on the neutral scale: Anthropic's xhigh and max are above its top, high. */
const EFFORT_LEVELS: Readonly<Record<string, ReasoningEffort>> = Object.freeze({ low: "low", medium: "medium", high: "high", xhigh: "high", max: "high" });

/**
 * `thinking` as the neutral reasoning effort, the inverse of the Anthropic adapter's budgets
 * (low 1,024, medium 2,048, high 4,096): `enabled` with `budget_tokens` (≥ 1,024 and below
 * `max_tokens`, Anthropic's rules) is `low` below 2,048, `medium` below 4,096 and `high` from
 * there; `adaptive` is `output_config.effort` (low, medium; high, xhigh and max are `high`), else
 * `high` (Anthropic's default effort); `disabled` or absent is none, unless `output_config.effort`
 * is given alone. The answer carries no thinking blocks: the neutral answer has none.
 */
function reasoningEffortOf(thinking: JsonObject | undefined, outputConfig: JsonObject | undefined, maxTokens: number): ReasoningEffort | undefined {
  const effortName = outputConfig === undefined ? undefined : stringField(outputConfig, "effort", "output_config.effort");
  const effort = effortName === undefined ? undefined : EFFORT_LEVELS[effortName];
  if (effortName !== undefined && effort === undefined) throw invalidField("output_config.effort", "'output_config.effort' must be one of low, medium, high, xhigh, max");
  if (thinking === undefined) return effort;
  const type = requiredString(thinking, "type", "thinking.type");
  switch (type) {
    case "disabled":
      return effort;
    case "adaptive":
      return effort ?? "high";
    case "enabled": {
      const budget = numberField(thinking, "budget_tokens", { min: 1024, integer: true }, "thinking.budget_tokens");
      if (budget === undefined) throw invalidField("thinking.budget_tokens", "'thinking.budget_tokens' is a required property");
      if (budget >= maxTokens) throw invalidField("thinking.budget_tokens", "'thinking.budget_tokens' must be less than 'max_tokens'");
      return budget < 2048 ? "low" : budget < 4096 ? "medium" : "high";
    }
    default:
      throw invalidField("thinking.type", "'thinking.type' must be one of enabled, adaptive, disabled");
  }
}
