import { buildPath } from "@bufbuild/protobuf/reflect";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { fieldViolation } from "../errors/field-violation.js";
import type { ModelTool, ModelToolChoice } from "../providers/model.js";

/**
 * `tool_choice` as a field path (number 4 in ChatRequest and ChatStreamRequest alike; the OpenAI
 * surface's body field has the same name, which its error mapping reports as `param`).
 */
const TOOL_CHOICE_PATH = buildPath(ChatRequestSchema).field(ChatRequestSchema.field.toolChoice).toPath();

/**
 * The tool choice a Chat call sends, checked against its tools — one rule for both front doors,
 * applied before dispatch, so a tool choice means the same on every provider: OpenAI answers 400
 * to a `tool_choice` without `tools` (after a round trip), Anthropic and Gemini ignore it. Without
 * tools, "auto" and "none" constrain nothing and are dropped (undefined: no provider sees them);
 * "required" or a named tool has nothing to call, and a named tool that is not among the tools
 * cannot be called — both are INVALID_ARGUMENT on `tool_choice`, with the `buf.validate.Violations`
 * detail the schema's own validation errors carry.
 */
export function effectiveToolChoice(choice: ModelToolChoice | undefined, tools: readonly ModelTool[] | undefined): ModelToolChoice | undefined {
  if (choice === undefined) return undefined;
  const offered = tools ?? [];
  if (offered.length === 0) {
    if (choice.type === "auto" || choice.type === "none") return undefined;
    throw fieldViolation(TOOL_CHOICE_PATH, "a required or named tool choice needs tools to call", "tool_choice.tools_required");
  }
  if (choice.type === "tool" && !offered.some((t) => t.name === choice.name)) {
    throw fieldViolation(TOOL_CHOICE_PATH, `names tool ${JSON.stringify(choice.name.slice(0, 64))}, which is not among the tools`, "tool_choice.tool_offered");
  }
  return choice;
}
