import { buildPath } from "@bufbuild/protobuf/reflect";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, type ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { openAIErrorOf } from "../openai/error-mapping.js";
import { fieldViolation, fieldViolations } from "./field-violation.js";

/** The one violation of `err`'s Violations detail: its path elements (name, subscript), rule and message. */
function violation(err: ConnectError) {
  const all = err.findDetails(ViolationsSchema).flatMap((v) => v.violations);
  expect(all).toHaveLength(1);
  const v = all[0]!;
  return { path: v.field?.elements.map((e) => [e.fieldName, e.subscript.value]), ruleId: v.ruleId, message: v.message };
}

describe("fieldViolation", () => {
  it("from a schema path: protovalidate's error — field number in the detail, the rule in the message", () => {
    const err = fieldViolation(buildPath(ChatRequestSchema).field(ChatRequestSchema.field.toolChoice).toPath(), "needs tools", "tool_choice.tools_required");
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("tool_choice: needs tools [tool_choice.tools_required]");
    expect(err.findDetails(ViolationsSchema)[0]?.violations[0]?.field?.elements[0]).toMatchObject({ fieldName: "tool_choice", fieldNumber: 4 });
    expect(violation(err)).toEqual({ path: [["tool_choice", undefined]], ruleId: "tool_choice.tools_required", message: "needs tools" });
  });

  it("from a written path: the message as written, the detail naming each field, index and map key", () => {
    const nested = fieldViolation("template.attachments[2]", "orgs/a not found", "attachments.exists");
    expect(nested.code).toBe(Code.InvalidArgument);
    expect(nested.rawMessage).toBe("template.attachments[2]: orgs/a not found");
    expect(violation(nested)).toEqual({ path: [["template", undefined], ["attachments", 2n]], ruleId: "attachments.exists", message: "orgs/a not found" });
    expect(violation(fieldViolation('key.tags["a.b\\"]c"].x', "bad", "r")).path).toEqual([["key", undefined], ["tags", 'a.b"]c'], ["x", undefined]]);
    expect(violation(fieldViolation("filter.teams", "bad", "r")).path).toEqual([["filter", undefined], ["teams", undefined]]);
  });

  it("of several fields: one detail with a violation each, in order, and every problem in the message", () => {
    const err = fieldViolations([
      { field: "route.targets[0].provider", message: "unknown provider", ruleId: "route.target.provider.known" },
      { field: "route.retry.initial_backoff", message: "must not exceed retry.max_backoff", ruleId: "route.retry.backoff_order" },
    ]);
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("route.targets[0].provider: unknown provider; route.retry.initial_backoff: must not exceed retry.max_backoff");
    const all = err.findDetails(ViolationsSchema).flatMap((v) => v.violations);
    expect(all.map((v) => [v.field?.elements.map((e) => e.fieldName).join("."), v.ruleId])).toEqual([
      ["route.targets.provider", "route.target.provider.known"],
      ["route.retry.initial_backoff", "route.retry.backoff_order"],
    ]);
  });

  it("names a path it cannot read by its whole text", () => {
    expect(violation(fieldViolation("not a path", "bad", "r")).path).toEqual([["not a path", undefined]]);
  });

  it("is named as OpenAI's param on the OpenAI surface", () => {
    expect(openAIErrorOf(fieldViolation("messages[2].content", "bad", "r"), 0)).toMatchObject({
      status: 400,
      body: { error: { type: "invalid_request_error", param: "messages[2].content", message: "messages[2].content: bad" } },
    });
  });
});
