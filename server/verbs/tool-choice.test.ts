import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ModelToolChoice } from "../providers/model.js";
import { createChatVerb } from "./chat-verb.js";
import { createChatStreamVerb } from "./chat-stream-verb.js";
import { createScriptedPipeline } from "./testing/scripted-pipeline.js";
import { testContext } from "./testing/test-context.js";
import { effectiveToolChoice } from "./tool-choice.js";

const weather = [{ name: "weather", parameters: { type: "object" } }];
const messages = [{ role: "user" as const, content: [{ type: "text" as const, text: "hi" }] }];

/** The refusal `fn` throws, with the fields and rules its Violations detail names. */
function refusal(fn: () => unknown) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConnectError);
  const c = err as ConnectError;
  const violations = c.findDetails(ViolationsSchema).flatMap((v) => v.violations);
  return { code: c.code, message: c.rawMessage, fields: violations.map((v) => v.field?.elements.map((e) => e.fieldName).join(".")), rules: violations.map((v) => v.ruleId) };
}

describe("effectiveToolChoice", () => {
  it('drops "auto" and "none" without tools: they constrain nothing', () => {
    for (const tools of [undefined, []]) {
      expect(effectiveToolChoice({ type: "auto" }, tools)).toBeUndefined();
      expect(effectiveToolChoice({ type: "none" }, tools)).toBeUndefined();
    }
    expect(effectiveToolChoice(undefined, undefined)).toBeUndefined();
  });

  it("keeps every choice when tools are given and a named one is among them", () => {
    for (const choice of [{ type: "auto" }, { type: "none" }, { type: "required" }, { type: "tool", name: "weather" }] as ModelToolChoice[]) {
      expect(effectiveToolChoice(choice, weather)).toEqual(choice);
    }
  });

  it("refuses a required or named choice without tools as INVALID_ARGUMENT on tool_choice", () => {
    for (const choice of [{ type: "required" }, { type: "tool", name: "weather" }] as ModelToolChoice[]) {
      expect(refusal(() => effectiveToolChoice(choice, []))).toEqual({
        code: Code.InvalidArgument,
        message: "tool_choice: a required or named tool choice needs tools to call [tool_choice.tools_required]",
        fields: ["tool_choice"],
        rules: ["tool_choice.tools_required"],
      });
    }
  });

  it("refuses a named tool that is not among the tools, naming it (at most 64 characters)", () => {
    expect(refusal(() => effectiveToolChoice({ type: "tool", name: "stocks" }, weather))).toEqual({
      code: Code.InvalidArgument,
      message: 'tool_choice: names tool "stocks", which is not among the tools [tool_choice.tool_offered]',
      fields: ["tool_choice"],
      rules: ["tool_choice.tool_offered"],
    });
    expect(refusal(() => effectiveToolChoice({ type: "tool", name: "x".repeat(1000) }, weather)).message).toContain(`"${"x".repeat(64)}"`);
  });
});

describe("Chat and ChatStream apply it before dispatch", () => {
  it('send no tool choice for "none" without tools', async () => {
    const pipeline = createScriptedPipeline([{ type: "answer", text: "Hi." }]);
    await createChatVerb({ pipeline })({ messages, toolChoice: { type: "none" } }, testContext());
    expect(pipeline.chatCalls()[0]?.request).not.toHaveProperty("toolChoice");
  });

  it("refuse a required choice without tools with no model call", async () => {
    const pipeline = createScriptedPipeline([]);
    const chat = await createChatVerb({ pipeline })({ messages, toolChoice: { type: "required" } }, testContext()).catch((e: unknown) => e);
    expect((chat as ConnectError).code).toBe(Code.InvalidArgument);
    const stream = await (async () => {
      for await (const _ of createChatStreamVerb({ pipeline })({ messages, toolChoice: { type: "required" } }, testContext()));
    })().catch((e: unknown) => e);
    expect((stream as ConnectError).code).toBe(Code.InvalidArgument);
    expect(pipeline.chatCalls()).toEqual([]);
  });
});
