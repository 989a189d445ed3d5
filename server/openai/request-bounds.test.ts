import { getOption, type DescMessage } from "@bufbuild/protobuf";
import { field as fieldRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema, ChatStreamRequestSchema, EmbedRequestSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { ContentPartSchema, ImageSchema, MessageSchema, ResponseFormatSchema, ToolCallSchema, ToolChoiceSchema, ToolSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { BOUNDS, codePoints, IMAGE_URL, TOOL_NAME, withinChars } from "./request-bounds.js";

/** The protovalidate rules of `message`'s field `name`. */
function rulesOf(message: DescMessage, name: string) {
  const f = message.fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`${message.typeName} has no field ${name}`);
  return getOption(f, fieldRules).type;
}
/** A rule's value, as a number (`max_len`, `max_items`, … are uint64s: bigints). */
function rule(message: DescMessage, name: string, key: string): number | string | undefined {
  const rules = rulesOf(message, name).value as Record<string, unknown> | undefined;
  const v = rules?.[key];
  if (typeof v === "bigint") return Number(v);
  if (key === "items") return undefined;
  return v as string | undefined;
}

describe("the OpenAI surface's request bounds", () => {
  it("are the schema's, rule for rule", () => {
    for (const chat of [ChatRequestSchema, ChatStreamRequestSchema]) {
      expect(rule(chat, "messages", "maxItems")).toBe(BOUNDS.messages);
      expect(rule(chat, "tools", "maxItems")).toBe(BOUNDS.tools);
      const stop = rulesOf(chat, "stop").value as { items?: { type: { value: { maxLen: bigint; minLen: bigint } } } };
      expect(Number(stop.items?.type.value.maxLen)).toBe(BOUNDS.stopLength);
      expect(Number(stop.items?.type.value.minLen)).toBe(1);
    }
    expect(rule(MessageSchema, "content", "maxItems")).toBe(BOUNDS.contentParts);
    expect(rule(MessageSchema, "tool_calls", "maxItems")).toBe(BOUNDS.toolCalls);
    expect(rule(MessageSchema, "name", "maxLen")).toBe(BOUNDS.messageName);
    expect(rule(MessageSchema, "tool_call_id", "maxLen")).toBe(BOUNDS.toolCallId);
    expect(rule(ContentPartSchema, "text", "maxBytes")).toBe(BOUNDS.textBytes);
    expect(rule(ImageSchema, "url", "maxLen")).toBe(BOUNDS.imageUrl);
    expect(rule(ImageSchema, "url", "pattern")).toBe(IMAGE_URL.source.replaceAll("\\/", "/"));
    expect(rule(ToolCallSchema, "id", "maxLen")).toBe(BOUNDS.toolCallId);
    expect(rule(ToolCallSchema, "name", "maxLen")).toBe(BOUNDS.name);
    expect(rule(ToolCallSchema, "arguments_json", "maxBytes")).toBe(BOUNDS.argumentsBytes);
    expect(rule(ToolSchema, "name", "maxLen")).toBe(BOUNDS.name);
    expect(rule(ToolSchema, "name", "pattern")).toBe(TOOL_NAME.source);
    expect(rule(ToolSchema, "description", "maxLen")).toBe(BOUNDS.toolDescription);
    expect(rule(ToolChoiceSchema, "tool_name", "maxLen")).toBe(BOUNDS.name);
    expect(rule(ResponseFormatSchema, "schema_name", "maxLen")).toBe(BOUNDS.name);
    const inputs = rulesOf(EmbedRequestSchema, "inputs").value as { items?: { type: { value: { maxBytes: bigint } } } };
    expect(Number(inputs.items?.type.value.maxBytes)).toBe(BOUNDS.embedInputBytes);
  });

  it("count characters as protovalidate does: code points, an unpaired surrogate one", () => {
    expect(codePoints("a😀b")).toBe(3);
    expect(codePoints("\ud800x\udc00")).toBe(3);
    expect(withinChars("😀".repeat(256), 256)).toBe(true);
    expect(withinChars(`${"😀".repeat(256)}a`, 256)).toBe(false);
  });
});
