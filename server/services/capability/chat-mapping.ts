import { create, type JsonObject as PbJsonObject } from "@bufbuild/protobuf";
import {
  FinishReason,
  MessageSchema,
  ResponseFormatType,
  Role,
  ToolChoiceMode,
  type Message,
  type ResponseFormat,
  type Tool,
  type ToolChoice,
} from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { JsonObject, ModelContentPart, ModelFinishReason, ModelMessage, ModelResponseFormat, ModelRole, ModelTool, ModelToolChoice } from "../../providers/model.js";

const ROLES: Record<number, ModelRole> = { [Role.SYSTEM]: "system", [Role.USER]: "user", [Role.ASSISTANT]: "assistant", [Role.TOOL]: "tool" };

/** A `google.protobuf.Struct` field (protobuf-es gives it as a JSON object) as a neutral one. */
export function structToJson(struct: PbJsonObject | undefined): JsonObject | undefined {
  return struct as JsonObject | undefined;
}

/** `cacheBreakpoint` to spread into a neutral part or tool when the proto sets it (absent otherwise, as most requests have none). */
function breakpoint(marked: boolean): { cacheBreakpoint?: true } {
  return marked ? { cacheBreakpoint: true } : {};
}

/** Proto messages as neutral model messages (validation already guaranteed a role). */
export function messagesFromProto(messages: readonly Message[]): ModelMessage[] {
  return messages.map((m) => ({
    role: ROLES[m.role] ?? "user",
    content: m.content.flatMap((p): ModelContentPart[] => {
      if (p.part.case === "text") return [{ type: "text" as const, text: p.part.value, ...breakpoint(p.cacheBreakpoint) }];
      if (p.part.case === "image") {
        const img = p.part.value;
        if (img.source.case === "url") return [{ type: "image" as const, url: img.source.value, ...breakpoint(p.cacheBreakpoint) }];
        if (img.source.case === "data") return [{ type: "image" as const, data: img.source.value, mimeType: img.mimeType, ...breakpoint(p.cacheBreakpoint) }];
      }
      return [];
    }),
    ...(m.toolCalls.length === 0 ? {} : { toolCalls: m.toolCalls.map((c) => ({ id: c.id, name: c.name, argumentsJson: c.argumentsJson })) }),
    ...(m.toolCallId === "" ? {} : { toolCallId: m.toolCallId }),
    ...(m.name === "" ? {} : { name: m.name }),
  }));
}

/** A neutral assistant message as the proto `Message` a response carries. */
export function messageToProto(m: ModelMessage): Message {
  const role = Object.entries(ROLES).find(([, r]) => r === m.role)?.[0];
  return create(MessageSchema, {
    role: Number(role ?? Role.ASSISTANT),
    content: m.content.flatMap((p) => (p.type === "text" ? [{ part: { case: "text" as const, value: p.text } }] : [])),
    toolCalls: (m.toolCalls ?? []).map((c) => ({ id: c.id, name: c.name, argumentsJson: c.argumentsJson })),
  });
}

/** Proto tools as neutral tools. */
export function toolsFromProto(tools: readonly Tool[]): ModelTool[] {
  return tools.map((t) => {
    const parameters = structToJson(t.parameters);
    return {
      name: t.name,
      ...(t.description === "" ? {} : { description: t.description }),
      ...(parameters ? { parameters } : {}),
      ...(t.strict ? { strict: true } : {}),
      ...breakpoint(t.cacheBreakpoint),
    };
  });
}

/** A proto tool choice as the neutral one; undefined when unset. */
export function toolChoiceFromProto(choice: ToolChoice | undefined): ModelToolChoice | undefined {
  switch (choice?.choice.case) {
    case "toolName":
      return { type: "tool", name: choice.choice.value };
    case "mode":
      return choice.choice.value === ToolChoiceMode.NONE
        ? { type: "none" }
        : choice.choice.value === ToolChoiceMode.REQUIRED
          ? { type: "required" }
          : choice.choice.value === ToolChoiceMode.AUTO
            ? { type: "auto" }
            : undefined;
    default:
      return undefined;
  }
}

/** A proto response format as the neutral one; undefined for free text. */
export function responseFormatFromProto(format: ResponseFormat | undefined): ModelResponseFormat | undefined {
  switch (format?.type) {
    case ResponseFormatType.JSON_OBJECT:
      return { type: "json_object" };
    case ResponseFormatType.JSON_SCHEMA:
      return { type: "json_schema", name: format.schemaName || "response", schema: structToJson(format.jsonSchema) ?? {}, strict: format.strict };
    default:
      return undefined;
  }
}

const FINISH: Record<ModelFinishReason, FinishReason> = {
  stop: FinishReason.STOP,
  length: FinishReason.LENGTH,
  tool_calls: FinishReason.TOOL_CALLS,
  content_filter: FinishReason.CONTENT_FILTER,
  unknown: FinishReason.UNSPECIFIED,
};

/** A neutral finish reason as the proto enum. */
export function finishReasonToProto(reason: ModelFinishReason): FinishReason {
  return FINISH[reason];
}

