import type {
  JsonObject,
  JsonValue,
  ModelContentPart,
  ModelMessage,
  ModelRequest,
  ModelResponseFormat,
  ModelRole,
  ModelTool,
  ModelToolCall,
  ModelToolChoice,
  ReasoningEffort,
} from "../providers/model.js";
import { REASONING_EFFORTS } from "../providers/model.js";
import { ownEntry } from "../own-entry.js";
import { arrayField, booleanField, isObject, numberField, objectField, requiredString, stringField, stringMapField } from "./json-fields.js";
import { invalidField } from "./openai-request-error.js";
import { BOUNDS, checkBytes, checkChars, checkCount, IMAGE_URL, TOOL_NAME } from "./request-bounds.js";

/** A parsed `POST /v1/chat/completions` body. */
export interface ChatCompletionRequest {
  /** `model`: the route alias. */
  route: string;
  /** The neutral request (`model` empty: each route target has its own). */
  request: ModelRequest;
  stream: boolean;
  /** `stream_options.include_usage`. */
  includeUsage: boolean;
  metadata?: Record<string, string>;
  /** OpenAI's end-user id (validated; see the README for where it goes). */
  user?: string;
}

const ROLES: Record<string, ModelRole> = { system: "system", developer: "system", user: "user", assistant: "assistant", tool: "tool" };
/** Fields that would change the answer's shape in ways this surface does not serve: refused, not ignored. */
const UNSUPPORTED: Record<string, (v: JsonValue) => boolean> = {
  n: (v) => v !== 1,
  // Anything but false: a `"true"` or `1` asks for log probabilities too, which would silently not come.
  logprobs: (v) => v !== false,
  top_logprobs: () => true,
  audio: () => true,
  prediction: () => true,
  functions: () => true,
  function_call: () => true,
  modalities: (v) => !Array.isArray(v) || v.some((m) => m !== "text"),
};

/**
 * Maps an OpenAI Chat Completions body to the neutral request. Follows OpenAI's field rules
 * (`developer` is a system turn; `max_completion_tokens` wins over the deprecated `max_tokens`;
 * `stop` is a string or up to 4 strings) and answers 400 naming the field for anything malformed.
 * Every field is bounded as the Chat verb's schema bounds it (`request-bounds.ts`), so what one
 * door accepts the other does too; `stop` keeps OpenAI's own count (4).
 * `reasoning_effort` (minimal, low, medium, high) goes to every target that can take it (see the
 * `ReasoningEffort` enum in the schema). Fields that only tune OpenAI's own service (`store`,
 * `service_tier`, `modalities: ["text"]`) are accepted and ignored; the penalties (-2..2) and
 * `logit_bias` (token id → -100..100) change the answer, so they pass through, and dispatch sends
 * them only to targets that take them (`dispatch/option-bounds.ts`); fields whose effect this
 * surface cannot honour (`n` > 1, `logprobs`, audio, predictions, legacy `functions`) are refused.
 * Anthropic's `cache_control` on a content part or a tool (LiteLLM's convention) marks a
 * prompt-cache breakpoint there (`cacheControlOf`).
 */
export function parseChatCompletionRequest(body: JsonObject): ChatCompletionRequest {
  const route = requiredString(body, "model");
  for (const [name, refuse] of Object.entries(UNSUPPORTED)) {
    const v = body[name];
    if (v !== undefined && v !== null && refuse(v)) throw invalidField(name, `'${name}' is not supported by this gateway`);
  }
  const messagesJson = arrayField(body, "messages");
  if (messagesJson === undefined || messagesJson.length === 0) throw invalidField("messages", "'messages' must be a non-empty array");
  checkCount(messagesJson, BOUNDS.messages, "messages");
  const messages = messagesJson.map((m, i) => messageOf(m, `messages[${i}]`));

  const toolsJson = arrayField(body, "tools");
  if (toolsJson !== undefined) checkCount(toolsJson, BOUNDS.tools, "tools");
  const tools = toolsJson?.map((t, i) => toolOf(t, `tools[${i}]`));
  const toolChoice = toolChoiceOf(body.tool_choice);
  const responseFormat = responseFormatOf(objectField(body, "response_format"));
  const maxOutputTokens =
    numberField(body, "max_completion_tokens", { min: 1, integer: true }) ?? numberField(body, "max_tokens", { min: 1, integer: true });
  const temperature = numberField(body, "temperature", { min: 0, max: 2 });
  const topP = numberField(body, "top_p", { min: 0, max: 1 });
  const seed = numberField(body, "seed", { integer: true });
  const parallelToolCalls = booleanField(body, "parallel_tool_calls");
  const reasoningEffort = reasoningEffortOf(body.reasoning_effort);
  const frequencyPenalty = numberField(body, "frequency_penalty", { min: -2, max: 2 });
  const presencePenalty = numberField(body, "presence_penalty", { min: -2, max: 2 });
  const logitBias = logitBiasOf(objectField(body, "logit_bias"));
  const stop = stopOf(body.stop);
  const stream = booleanField(body, "stream") ?? false;
  const streamOptions = objectField(body, "stream_options");
  const includeUsage = streamOptions === undefined ? false : (booleanField(streamOptions, "include_usage", "stream_options.include_usage") ?? false);
  const metadata = stringMapField(body, "metadata");
  const user = stringField(body, "user", "user", 256);

  const request: ModelRequest = {
    model: "",
    messages,
    ...(tools !== undefined && tools.length > 0 ? { tools } : {}),
    ...(toolChoice === undefined ? {} : { toolChoice }),
    ...(responseFormat === undefined ? {} : { responseFormat }),
    ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
    ...(temperature === undefined ? {} : { temperature }),
    ...(topP === undefined ? {} : { topP }),
    ...(stop === undefined ? {} : { stop }),
    ...(seed === undefined ? {} : { seed }),
    ...(parallelToolCalls === undefined ? {} : { parallelToolCalls }),
    ...(reasoningEffort === undefined ? {} : { reasoningEffort }),
    ...(frequencyPenalty === undefined ? {} : { frequencyPenalty }),
    ...(presencePenalty === undefined ? {} : { presencePenalty }),
    ...(logitBias === undefined ? {} : { logitBias }),
  };
  return { route, request, stream, includeUsage, ...(metadata === undefined ? {} : { metadata }), ...(user === undefined ? {} : { user }) };
}

/** OpenAI's `logit_bias`: token ids (decimal strings) to a bias of -100..100; empty or absent: none. */
function logitBiasOf(bias: JsonObject | undefined): Record<string, number> | undefined {
  if (bias === undefined) return undefined;
  const entries = Object.entries(bias);
  if (entries.length > BOUNDS.logitBias) throw invalidField("logit_bias", `'logit_bias' must have at most ${BOUNDS.logitBias} entries`);
  for (const [token, value] of entries) {
    if (!/^\d{1,10}$/.test(token)) throw invalidField("logit_bias", `'logit_bias' keys must be token ids (whole numbers), not ${JSON.stringify(token)}`);
    if (typeof value !== "number" || !Number.isFinite(value) || value < -100 || value > 100) {
      throw invalidField("logit_bias", `'logit_bias' values must be numbers from -100 to 100 (token ${token})`);
    }
  }
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as Record<string, number>);
}

function messageOf(m: JsonValue, at: string): ModelMessage {
  if (!isObject(m)) throw invalidField(at, `'${at}' must be an object`);
  const roleName = requiredString(m, "role", `${at}.role`);
  const role = ownEntry(ROLES, roleName);
  if (role === undefined) throw invalidField(`${at}.role`, `'${at}.role' must be one of system, developer, user, assistant, tool`);
  const content = contentOf(m.content ?? null, `${at}.content`);
  const name = stringField(m, "name", `${at}.name`);
  if (name !== undefined) checkChars(name, BOUNDS.messageName, `${at}.name`);
  const message: ModelMessage = { role, content, ...(name === undefined ? {} : { name }) };
  if (role === "assistant") {
    const calls = arrayField(m, "tool_calls", `${at}.tool_calls`);
    if (calls !== undefined) checkCount(calls, BOUNDS.toolCalls, `${at}.tool_calls`);
    if (calls !== undefined && calls.length > 0) message.toolCalls = calls.map((c, i) => toolCallOf(c, `${at}.tool_calls[${i}]`));
    if (content.length === 0 && message.toolCalls === undefined) throw invalidField(`${at}.content`, `'${at}' needs content or tool_calls`);
  } else if (role === "tool") {
    message.toolCallId = checkChars(requiredString(m, "tool_call_id", `${at}.tool_call_id`), BOUNDS.toolCallId, `${at}.tool_call_id`);
  } else if (content.length === 0) {
    throw invalidField(`${at}.content`, `'${at}.content' is required`);
  }
  return message;
}

function contentOf(content: JsonValue, at: string): ModelContentPart[] {
  if (content === null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: checkBytes(content, BOUNDS.textBytes, at) }];
  if (!Array.isArray(content)) throw invalidField(at, `'${at}' must be a string or an array of content parts`);
  checkCount(content, BOUNDS.contentParts, at);
  return content.map((part, i): ModelContentPart => {
    const here = `${at}[${i}]`;
    if (!isObject(part)) throw invalidField(here, `'${here}' must be an object`);
    const parsed = contentPartOf(part, here);
    return cacheControlOf(part, here) ? { ...parsed, cacheBreakpoint: true } : parsed;
  });
}

function contentPartOf(part: JsonObject, here: string): ModelContentPart {
  const type = requiredString(part, "type", `${here}.type`);
  switch (type) {
    case "text":
      return { type: "text", text: checkBytes(stringField(part, "text", `${here}.text`) ?? "", BOUNDS.textBytes, `${here}.text`) };
    case "refusal":
      return { type: "text", text: checkBytes(stringField(part, "refusal", `${here}.refusal`) ?? "", BOUNDS.textBytes, `${here}.refusal`) };
    case "image_url": {
      const image = objectField(part, "image_url", `${here}.image_url`);
      const url = image === undefined ? undefined : stringField(image, "url", `${here}.image_url.url`);
      if (url === undefined || url === "") throw invalidField(`${here}.image_url.url`, `'${here}.image_url.url' is required`);
      if (!IMAGE_URL.test(url)) throw invalidField(`${here}.image_url.url`, `'${here}.image_url.url' must be an https or a data:image/ URL`);
      return { type: "image", url: checkChars(url, BOUNDS.imageUrl, `${here}.image_url.url`) };
    }
    default:
      throw invalidField(`${here}.type`, `content part type "${type}" is not supported (text, image_url)`);
  }
}

/**
 * Whether an object (a content part, a tool) carries Anthropic's `cache_control` — a prompt-cache
 * breakpoint, as LiteLLM accepts it on this surface. Only `{"type": "ephemeral"}` exists; its TTL
 * may be `"5m"` (the default) but not `"1h"`: an hour-long entry is written at 2x the input rate
 * and the price table has one cache-write rate (the 5-minute one), so it would be under-billed.
 * Anything else is a 400 naming the field rather than a breakpoint silently not placed.
 */
export function cacheControlOf(o: JsonObject, at: string): boolean {
  const control = o.cache_control;
  if (control === undefined || control === null) return false;
  const here = `${at}.cache_control`;
  if (!isObject(control)) throw invalidField(here, `'${here}' must be an object such as {"type": "ephemeral"}`);
  if (control.type !== "ephemeral") throw invalidField(`${here}.type`, `'${here}.type' must be "ephemeral"`);
  if (control.ttl !== undefined && control.ttl !== null && control.ttl !== "5m") {
    throw invalidField(`${here}.ttl`, `'${here}.ttl' must be "5m": only the 5-minute prompt cache is supported`);
  }
  return true;
}

function toolCallOf(c: JsonValue, at: string): ModelToolCall {
  if (!isObject(c)) throw invalidField(at, `'${at}' must be an object`);
  const fn = objectField(c, "function", `${at}.function`);
  if (fn === undefined) throw invalidField(`${at}.function`, `'${at}.function' is required`);
  return {
    id: checkChars(requiredString(c, "id", `${at}.id`), BOUNDS.toolCallId, `${at}.id`),
    name: checkChars(requiredString(fn, "name", `${at}.function.name`), BOUNDS.name, `${at}.function.name`),
    argumentsJson: checkBytes(stringField(fn, "arguments", `${at}.function.arguments`) ?? "{}", BOUNDS.argumentsBytes, `${at}.function.arguments`),
  };
}

function toolOf(t: JsonValue, at: string): ModelTool {
  if (!isObject(t)) throw invalidField(at, `'${at}' must be an object`);
  const type = requiredString(t, "type", `${at}.type`);
  if (type !== "function") throw invalidField(`${at}.type`, `tool type "${type}" is not supported (function)`);
  const fn = objectField(t, "function", `${at}.function`);
  if (fn === undefined) throw invalidField(`${at}.function`, `'${at}.function' is required`);
  const description = stringField(fn, "description", `${at}.function.description`);
  if (description !== undefined) checkChars(description, BOUNDS.toolDescription, `${at}.function.description`);
  const name = requiredString(fn, "name", `${at}.function.name`);
  if (name.length > BOUNDS.name || !TOOL_NAME.test(name)) {
    throw invalidField(`${at}.function.name`, `'${at}.function.name' must be 1 to ${BOUNDS.name} of a-z, A-Z, 0-9, _ and -`);
  }
  const parameters = objectField(fn, "parameters", `${at}.function.parameters`);
  const strict = booleanField(fn, "strict", `${at}.function.strict`);
  return {
    name,
    ...(description === undefined ? {} : { description }),
    ...(parameters === undefined ? {} : { parameters }),
    ...(strict === true ? { strict } : {}),
    ...(cacheControlOf(t, at) ? { cacheBreakpoint: true } : {}),
  };
}

function toolChoiceOf(choice: JsonValue | undefined): ModelToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "auto" || choice === "none" || choice === "required") return { type: choice };
  if (isObject(choice) && choice.type === "function") {
    const fn = objectField(choice, "function", "tool_choice.function");
    if (fn !== undefined) return { type: "tool", name: checkChars(requiredString(fn, "name", "tool_choice.function.name"), BOUNDS.name, "tool_choice.function.name") };
  }
  throw invalidField("tool_choice", `'tool_choice' must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}`);
}

function responseFormatOf(format: JsonObject | undefined): ModelResponseFormat | undefined {
  if (format === undefined) return undefined;
  const type = requiredString(format, "type", "response_format.type");
  switch (type) {
    case "text":
      return undefined;
    case "json_object":
      return { type: "json_object" };
    case "json_schema": {
      const spec = objectField(format, "json_schema", "response_format.json_schema");
      if (spec === undefined) throw invalidField("response_format.json_schema", "'response_format.json_schema' is required");
      const name = requiredString(spec, "name", "response_format.json_schema.name");
      if (name.length > BOUNDS.name || !TOOL_NAME.test(name)) {
        throw invalidField("response_format.json_schema.name", `'response_format.json_schema.name' must be 1 to ${BOUNDS.name} of a-z, A-Z, 0-9, _ and -`);
      }
      return {
        type: "json_schema",
        name,
        schema: objectField(spec, "schema", "response_format.json_schema.schema") ?? {},
        strict: booleanField(spec, "strict", "response_format.json_schema.strict") ?? false,
      };
    }
    default:
      throw invalidField("response_format.type", `response_format type "${type}" is not supported (text, json_object, json_schema)`);
  }
}

/**
 * OpenAI's `reasoning_effort`, as far as every target's mapping goes: `none` (gpt-5.1 and later
 * only) and `xhigh` have no counterpart on the other providers' scales, so they are refused rather
 * than silently answered at another effort.
 */
function reasoningEffortOf(effort: JsonValue | undefined): ReasoningEffort | undefined {
  if (effort === undefined || effort === null) return undefined;
  const found = REASONING_EFFORTS.find((e) => e === effort);
  if (found === undefined) throw invalidField("reasoning_effort", `'reasoning_effort' must be one of ${REASONING_EFFORTS.join(", ")}`);
  return found;
}

function stopOf(stop: JsonValue | undefined): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  const list = typeof stop === "string" ? [stop] : stop;
  if (!Array.isArray(list) || list.length > 4 || list.some((s) => typeof s !== "string")) {
    throw invalidField("stop", "'stop' must be a string or an array of at most 4 strings");
  }
  // The Chat verb's rule for each sequence (1 to 256 characters); OpenAI's count is the tighter.
  for (const s of list as string[]) {
    if (s === "") throw invalidField("stop", "'stop' must not hold empty strings");
    checkChars(s, BOUNDS.stopLength, "stop");
  }
  return list.length === 0 ? undefined : (list as string[]);
}
