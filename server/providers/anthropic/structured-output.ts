/**
 * JSON-schema and JSON-object output on the Messages API, through a synthetic tool: the schema
 * becomes the `input_schema` of a tool the model is made to call, and that call's input comes back
 * as the answer's text (a JSON string) with a normal stop.
 *
 * Why a tool and not Anthropic's native `output_config.format`: the native form is GA only on the
 * Claude 4.5 generation and later, while capabilities are declared per provider kind, not per
 * model; the tool form works on every Messages API model. `strict` is not forwarded for the same
 * reason (strict tool use is limited to the same newer models): the forced tool already shapes the
 * answer, and the gateway's verbs validate it. Non-strict `input_schema` takes any JSON Schema,
 * but its root must be an object: another root is wrapped as the `value` property of one (with
 * `$defs`/`definitions` kept at the root so `#/$defs/…` references still resolve) and unwrapped on
 * the way back.
 */
import type { JsonObject, JsonValue, ModelRequest } from "../model.js";
import { ProviderError } from "../provider-error.js";
import type { WireTool, WireToolChoice } from "./wire.js";

/** The synthetic tool's name; a caller tool of this name is refused. */
export const STRUCTURED_OUTPUT_TOOL = "switchboard_structured_output";

/** How a request asks for structured output on the wire. */
export interface StructuredOutput {
  tool: WireTool;
  /** True when the caller's schema was wrapped in `{value: …}` (its root is not an object). */
  wrapped: boolean;
}

/** The synthetic tool for `req`'s response format; undefined when the answer is free text. */
export function structuredOutputOf(req: ModelRequest): StructuredOutput | undefined {
  const format = req.responseFormat;
  if (format === undefined || format.type === "text") return undefined;
  const schema: JsonObject = format.type === "json_object" ? { type: "object" } : format.schema;
  const wrapped = schema.type !== "object";
  return {
    tool: {
      name: STRUCTURED_OUTPUT_TOOL,
      description: "Give your final answer by calling this tool: its input is the answer, as JSON matching the schema.",
      input_schema: wrapped ? wrap(schema) : schema,
    },
    wrapped,
  };
}

/**
 * The tools and tool choice to send when `req` wants structured output. Without caller tools, or
 * with `tool_choice: none`, the synthetic tool is forced (one call). With caller tools under
 * `auto`, both are offered and `any` makes the model call one: a caller tool (a tool call, as on
 * OpenAI, where `response_format` shapes only the final answer) or the synthetic one (the answer).
 * Forcing the synthetic tool there would make the caller's tools uncallable. When the caller forces
 * its own tools (`required`, a named tool) this turn is a tool call, so no synthetic tool is sent.
 */
export function structuredTools(
  req: ModelRequest,
  output: StructuredOutput,
  callerTools: WireTool[],
  callerChoice: WireToolChoice | undefined,
): { tools: WireTool[]; toolChoice?: WireToolChoice } {
  if (callerTools.some((t) => t.name === STRUCTURED_OUTPUT_TOOL)) {
    throw new ProviderError("bad_request", `anthropic: the tool name "${STRUCTURED_OUTPUT_TOOL}" is reserved for structured output; rename the tool`);
  }
  const choice = req.toolChoice?.type;
  if (callerTools.length > 0 && (choice === "required" || choice === "tool")) {
    return { tools: callerTools, ...(callerChoice === undefined ? {} : { toolChoice: callerChoice }) };
  }
  const tools = [...callerTools, output.tool];
  if (callerTools.length > 0 && choice !== "none") {
    const disable = req.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
    return { tools, toolChoice: { type: "any", ...disable } };
  }
  return { tools, toolChoice: { type: "tool", name: STRUCTURED_OUTPUT_TOOL, disable_parallel_tool_use: true } };
}

/** The answer text for the synthetic tool's input (unwrapped when the schema was wrapped). */
export function answerText(input: unknown, wrapped: boolean): string {
  const value = wrapped ? (input as { value?: JsonValue } | null)?.value : input;
  return JSON.stringify(value ?? (wrapped ? null : {}));
}

/** The answer text for the synthetic tool's streamed input JSON, once complete (wrapped schemas only). */
export function answerTextOfJson(json: string): string {
  try {
    return answerText(JSON.parse(json), true);
  } catch {
    // A cut or malformed input: pass it on as it came, rather than invent an answer.
    return json;
  }
}

function wrap(schema: JsonObject): JsonObject {
  const { $defs, definitions, ...value } = schema;
  return {
    type: "object",
    properties: { value },
    required: ["value"],
    ...($defs === undefined ? {} : { $defs }),
    ...(definitions === undefined ? {} : { definitions }),
  };
}
