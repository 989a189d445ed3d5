import type { ModelRequest, ModelResponse, ModelToolCall } from "../model.js";
import { invalidResponse } from "./errors.js";
import { answerText, STRUCTURED_OUTPUT_TOOL, structuredOutputOf } from "./structured-output.js";
import { answerFinishReason, estimateTokens, requestChars, toFinishReason, toTokenUsage } from "./usage.js";
import type { WireMessageResponse } from "./wire.js";

/**
 * Maps a unary Messages API answer to the neutral response: text blocks concatenated, `tool_use`
 * blocks as tool calls (input re-serialised as JSON), the structured-output tool's input as the
 * text, other blocks (thinking, server tools) skipped. With no `usage` in the body, usage is estimated (see `estimateTokens`).
 */
export function fromWireMessage(bodyText: string, req: ModelRequest, requestId: string | undefined): ModelResponse {
  let body: WireMessageResponse;
  try {
    body = JSON.parse(bodyText) as WireMessageResponse;
  } catch (err) {
    throw invalidResponse(err);
  }
  if (typeof body !== "object" || body === null || !Array.isArray(body.content)) throw invalidResponse();
  const structured = structuredOutputOf(req);
  let text = "";
  let answered = false;
  const toolCalls: ModelToolCall[] = [];
  for (const block of body.content) {
    if (block.type === "text" && typeof block.text === "string") text += block.text;
    else if (structured !== undefined && block.type === "tool_use" && block.name === STRUCTURED_OUTPUT_TOOL) {
      // The structured answer (the first one, should the model call the tool twice).
      if (!answered) text += answerText(block.input, structured.wrapped);
      answered = true;
    } else if (block.type === "tool_use" && typeof block.id === "string" && typeof block.name === "string") {
      toolCalls.push({ id: block.id, name: block.name, argumentsJson: JSON.stringify(block.input ?? {}) });
    }
  }
  const outputChars = text.length + toolCalls.reduce((n, c) => n + c.argumentsJson.length, 0);
  const usage =
    body.usage != null && typeof body.usage.output_tokens === "number"
      ? toTokenUsage(body.usage)
      : {
          ...toTokenUsage({ input_tokens: estimateTokens(requestChars(req)), output_tokens: estimateTokens(outputChars) }),
          estimated: true,
        };
  const providerRequestId = requestId ?? body.id;
  return {
    text,
    toolCalls,
    finishReason: answerFinishReason(toFinishReason(body.stop_reason), answered, toolCalls.length),
    usage,
    model: body.model ?? req.model,
    ...(providerRequestId === undefined ? {} : { providerRequestId }),
  };
}
