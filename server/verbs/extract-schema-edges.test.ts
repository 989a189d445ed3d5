import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../providers/model.js";
import { createExtractVerb } from "./extract-verb.js";
import { createScriptedPipeline } from "./testing/scripted-pipeline.js";
import { testContext } from "./testing/test-context.js";

function extract(replies: string[], schema: JsonObject) {
  const pipeline = createScriptedPipeline(replies.map((text) => ({ type: "answer" as const, text })));
  const run = createExtractVerb({ pipeline })({ text: "Max Verstappen drives for Red Bull.", jsonSchema: schema }, testContext());
  return { run, pipeline };
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (e instanceof ConnectError ? Code[e.code] : `${(e as Error).name}: ${(e as Error).message}`),
  );

describe("Extract", () => {
  it("a schema whose validation recurses without end is InvalidArgument before any model call", async () => {
    const { run, pipeline } = extract(['{"a": 1}', '{"a": 1}'], { type: "object", allOf: [{ $ref: "#" }] });
    expect(await outcome(run)).toBe("InvalidArgument");
    expect(pipeline.calls).toHaveLength(0);
  });

  it("a cycle reached only through a property is InvalidArgument, not Internal", async () => {
    const { run } = extract(['{"a": 1}', '{"a": 1}'], { type: "object", properties: { a: { allOf: [{ $ref: "#/properties/a" }] } } });
    expect(await outcome(run)).toBe("InvalidArgument");
  });

  it("a pattern too large to match cheaply is InvalidArgument naming where it is, before any model call", async () => {
    const { run, pipeline } = extract(['{"code": "a"}'], { type: "object", properties: { code: { type: "string", pattern: "(?:.{0,1000}){9}x" } } });
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toMatch(/^json_schema: \/properties\/code\/pattern: pattern too large \(over 1000 instructions\)/);
    expect(pipeline.calls).toHaveLength(0);
  });

  it("an answer too costly to check against the schema's patterns gets the repair call, then FailedPrecondition saying so", async () => {
    const costly = JSON.stringify({ code: "a".repeat(5_000) });
    const { run, pipeline } = extract([costly, costly], { type: "object", properties: { code: { type: "string", pattern: "(?:.{0,49}){10}x" } } });
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((err as ConnectError).rawMessage).toContain('(root): too costly to check against the schema\'s patterns: pattern "(?:.{0,49}){10}x" on a string of 5000 characters');
    expect(pipeline.calls).toHaveLength(2);
  });

  it("accepts a valid answer that leaves out an optional property named like an Object.prototype member", async () => {
    const schema: JsonObject = { type: "object", properties: { driver: { type: "string" }, constructor: { type: "string" } }, required: ["driver"] };
    const { run, pipeline } = extract(['{"driver": "Max Verstappen"}', '{"driver": "Max Verstappen"}'], schema);
    expect(await outcome(run)).toBe("ok");
    expect(pipeline.calls).toHaveLength(1);
  });

  it("never returns data missing a required property named like an Object.prototype member", async () => {
    const schema: JsonObject = { type: "object", properties: { driver: { type: "string" }, constructor: {} }, required: ["driver", "constructor"] };
    const { run } = extract(['{"driver": "Max Verstappen"}', '{"driver": "Max Verstappen"}'], schema);
    expect(await outcome(run)).toBe("FailedPrecondition");
  });
});
