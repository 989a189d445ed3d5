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
} from "../providers/model.js";
import { ownEntry } from "../own-entry.js";
import { arrayField, booleanField, isObject, numberField, objectField, requiredString, stringField, stringMapField } from "./json-fields.js";
import { invalidField } from "./openai-request-error.js";

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
 * Fields that only tune OpenAI's own service (`store`, `service_tier`, `reasoning_effort`,
 * penalties, `logit_bias`, `modalities: ["text"]`) are accepted and ignored; fields whose effect
 * this surface cannot honour (`n` > 1, `logprobs`, audio, predictions, legacy `functions`) are
 * refused.
 */
export function parseChatCompletionRequest(body: JsonObject): ChatCompletionRequest {
  const route = requiredString(body, "model");
  for (const [name, refuse] of Object.entries(UNSUPPORTED)) {
    const v = body[name];
    if (v !== undefined && v !== null && refuse(v)) throw invalidField(name, `'${name}' is not supported by this gateway`);
  }
  const messagesJson = arrayField(body, "messages");
  if (messagesJson === undefined || messagesJson.length === 0) throw invalidField("messages", "'messages' must be a non-empty array");
  const messages = messagesJson.map((m, i) => messageOf(m, `messages[${i}]`));

  const toolsJson = arrayField(body, "tools");
  const tools = toolsJson?.map((t, i) => toolOf(t, `tools[${i}]`));
  const toolChoice = toolChoiceOf(body.tool_choice);
  const responseFormat = responseFormatOf(objectField(body, "response_format"));
  const maxOutputTokens =
    numberField(body, "max_completion_tokens", { min: 1, integer: true }) ?? numberField(body, "max_tokens", { min: 1, integer: true });
  const temperature = numberField(body, "temperature", { min: 0, max: 2 });
  const topP = numberField(body, "top_p", { min: 0, max: 1 });
  const seed = numberField(body, "seed", { integer: true });
  const parallelToolCalls = booleanField(body, "parallel_tool_calls");
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
  };
  return { route, request, stream, includeUsage, ...(metadata === undefined ? {} : { metadata }), ...(user === undefined ? {} : { user }) };
}

function messageOf(m: JsonValue, at: string): ModelMessage {
  if (!isObject(m)) throw invalidField(at, `'${at}' must be an object`);
  const roleName = requiredString(m, "role", `${at}.role`);
  const role = ownEntry(ROLES, roleName);
  if (role === undefined) throw invalidField(`${at}.role`, `'${at}.role' must be one of system, developer, user, assistant, tool`);
  const content = contentOf(m.content ?? null, `${at}.content`);
  const name = stringField(m, "name", `${at}.name`);
  const message: ModelMessage = { role, content, ...(name === undefined ? {} : { name }) };
  if (role === "assistant") {
    const calls = arrayField(m, "tool_calls", `${at}.tool_calls`);
    if (calls !== undefined && calls.length > 0) message.toolCalls = calls.map((c, i) => toolCallOf(c, `${at}.tool_calls[${i}]`));
    if (content.length === 0 && message.toolCalls === undefined) throw invalidField(`${at}.content`, `'${at}' needs content or tool_calls`);
  } else if (role === "tool") {
    message.toolCallId = requiredString(m, "tool_call_id", `${at}.tool_call_id`);
  } else if (content.length === 0) {
    throw invalidField(`${at}.content`, `'${at}.content' is required`);
  }
  return message;
}

function contentOf(content: JsonValue, at: string): ModelContentPart[] {
  if (content === null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content)) throw invalidField(at, `'${at}' must be a string or an array of content parts`);
  return content.flatMap((part, i): ModelContentPart[] => {
    const here = `${at}[${i}]`;
    if (!isObject(part)) throw invalidField(here, `'${here}' must be an object`);
    const type = requiredString(part, "type", `${here}.type`);
    switch (type) {
      case "text":
        return [{ type: "text", text: stringField(part, "text", `${here}.text`) ?? "" }];
      case "refusal":
        return [{ type: "text", text: stringField(part, "refusal", `${here}.refusal`) ?? "" }];
      case "image_url": {
        const image = objectField(part, "image_url", `${here}.image_url`);
        const url = image === undefined ? undefined : stringField(image, "url", `${here}.image_url.url`);
        if (url === undefined || url === "") throw invalidField(`${here}.image_url.url`, `'${here}.image_url.url' is required`);
        return [{ type: "image", url }];
      }
      default:
        throw invalidField(`${here}.type`, `content part type "${type}" is not supported (text, image_url)`);
    }
  });
}

function toolCallOf(c: JsonValue, at: string): ModelToolCall {
  if (!isObject(c)) throw invalidField(at, `'${at}' must be an object`);
  const fn = objectField(c, "function", `${at}.function`);
  if (fn === undefined) throw invalidField(`${at}.function`, `'${at}.function' is required`);
  return {
    id: requiredString(c, "id", `${at}.id`),
    name: requiredString(fn, "name", `${at}.function.name`),
    argumentsJson: stringField(fn, "arguments", `${at}.function.arguments`) ?? "{}",
  };
}

function toolOf(t: JsonValue, at: string): ModelTool {
  if (!isObject(t)) throw invalidField(at, `'${at}' must be an object`);
  const type = requiredString(t, "type", `${at}.type`);
  if (type !== "function") throw invalidField(`${at}.type`, `tool type "${type}" is not supported (function)`);
  const fn = objectField(t, "function", `${at}.function`);
  if (fn === undefined) throw invalidField(`${at}.function`, `'${at}.function' is required`);
  const description = stringField(fn, "description", `${at}.function.description`);
  const parameters = objectField(fn, "parameters", `${at}.function.parameters`);
  const strict = booleanField(fn, "strict", `${at}.function.strict`);
  return {
    name: requiredString(fn, "name", `${at}.function.name`),
    ...(description === undefined ? {} : { description }),
    ...(parameters === undefined ? {} : { parameters }),
    ...(strict === true ? { strict } : {}),
  };
}

function toolChoiceOf(choice: JsonValue | undefined): ModelToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "auto" || choice === "none" || choice === "required") return { type: choice };
  if (isObject(choice) && choice.type === "function") {
    const fn = objectField(choice, "function", "tool_choice.function");
    if (fn !== undefined) return { type: "tool", name: requiredString(fn, "name", "tool_choice.function.name") };
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
      return {
        type: "json_schema",
        name: requiredString(spec, "name", "response_format.json_schema.name"),
        schema: objectField(spec, "schema", "response_format.json_schema.schema") ?? {},
        strict: booleanField(spec, "strict", "response_format.json_schema.strict") ?? false,
      };
    }
    default:
      throw invalidField("response_format.type", `response_format type "${type}" is not supported (text, json_object, json_schema)`);
  }
}

function stopOf(stop: JsonValue | undefined): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  const list = typeof stop === "string" ? [stop] : stop;
  if (!Array.isArray(list) || list.length > 4 || list.some((s) => typeof s !== "string")) {
    throw invalidField("stop", "'stop' must be a string or an array of at most 4 strings");
  }
  return list.length === 0 ? undefined : (list as string[]);
}
