import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ModelCall } from "../pipeline/model-call.js";
import type { JsonObject } from "../providers/model.js";
import { createExtractVerb } from "./extract-verb.js";
import { createSchemaCompiler } from "./schema-compiler.js";
import { createScriptedPipeline, promptText } from "./testing/scripted-pipeline.js";
import { testContext } from "./testing/test-context.js";

const SCHEMA: JsonObject = {
  type: "object",
  properties: {
    name: { type: "string" },
    age: { type: "integer", minimum: 0, "x-ui-hint": "vendor keywords are ignored" },
  },
  required: ["name", "age"],
  additionalProperties: false,
};
const TEXT = "Ada Lovelace was 36.";

async function extract(replies: string[], jsonSchema = false, schema: JsonObject = SCHEMA) {
  const pipeline = createScriptedPipeline(replies.map((text, i) => ({ type: "answer" as const, text, usage: { inputTokens: 100 + i, outputTokens: 10 + i }, costMicrosUsd: 500n + BigInt(i) })));
  const run = createExtractVerb({ pipeline })({ text: TEXT, jsonSchema: schema, instructions: "Ages in years." }, testContext({ capabilities: { jsonSchema } }));
  return { run, pipeline };
}

const failure = async (p: Promise<unknown>): Promise<ConnectError> => {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
};

describe("Extract", () => {
  it("finds the object in prose also when a string in it holds escaped quotes and a closing brace", async () => {
    const json = '{"name": "Ada \\"Countess}\\" Lovelace", "age": 36}';
    const { run, pipeline } = await extract([`Here is the result: ${json} Hope this helps!`]);
    const out = await run;
    expect(out).toMatchObject({ data: { name: 'Ada "Countess}" Lovelace', age: 36 }, json, repaired: false });
    expect(pipeline.calls).toHaveLength(1);
  });

  it("returns valid data and the model's JSON text, fences stripped", async () => {
    const { run, pipeline } = await extract(['```json\n{"name": "Ada Lovelace", "age": 36}\n```']);
    const out = await run;
    expect(out).toMatchObject({ data: { name: "Ada Lovelace", age: 36 }, json: '{"name": "Ada Lovelace", "age": 36}', repaired: false });
    expect(pipeline.calls).toHaveLength(1);
    expect(out.usage.template?.name).toBe("builtin/extract");
  });

  it("rejects invalid output, then repairs it with one call that shows the reply and the errors", async () => {
    const { run, pipeline } = await extract(['{"name": "Ada Lovelace", "age": "36", "born": 1815}', '{"name": "Ada Lovelace", "age": 36}']);
    const out = await run;
    expect(out.repaired).toBe(true);
    expect(out.data).toEqual({ name: "Ada Lovelace", age: 36 });
    expect(pipeline.calls).toHaveLength(2);
    const repair = pipeline.chatCalls()[1] as ModelCall;
    const [assistant, feedback] = repair.request.messages.slice(-2);
    expect(assistant?.role).toBe("assistant");
    expect(assistant?.content).toEqual([{ type: "text", text: '{"name": "Ada Lovelace", "age": "36", "born": 1815}' }]);
    expect(feedback?.role).toBe("user");
    expect(promptText(repair)).toContain("/age: must be integer");
    expect(promptText(repair)).toContain('(root): must NOT have additional properties ("born")');
    expect(repair.meta.userContentMessages).toEqual([1]);
    // Usage covers both calls exactly.
    expect(out.usage.modelCalls).toBe(2);
    expect(out.usage.tokens.inputTokens).toBe(201);
    expect(out.usage.tokens.outputTokens).toBe(21);
    expect(out.usage.costMicrosUsd).toBe(1001n);
  });

  it("repairs an empty reply, showing it to the model as a non-empty assistant turn", async () => {
    const { run, pipeline } = await extract(["  ", '{"name": "Ada Lovelace", "age": 36}']);
    expect(await run).toMatchObject({ data: { name: "Ada Lovelace", age: 36 }, repaired: true });
    const repair = pipeline.chatCalls()[1] as ModelCall;
    expect(repair.request.messages.at(-2)).toEqual({ role: "assistant", content: [{ type: "text", text: "(empty reply)" }] });
    expect(promptText(repair)).toContain("the reply was empty");
  });

  it("returns FailedPrecondition listing the validation errors when the repair fails too", async () => {
    const { run, pipeline } = await extract(['{"name": 1}', '{"name": "Ada", "age": -3}']);
    const err = await failure(run);
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toContain("/age: must be >= 0");
    expect(pipeline.calls).toHaveLength(2);
  });

  it("treats unparseable output like invalid output", async () => {
    const { run } = await extract(["I could not find anything.", "still prose"]);
    const err = await failure(run);
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toContain("not valid JSON");
  });

  it("uses native json_schema when the route supports it, and keeps the schema out of the prompt", async () => {
    const { run, pipeline } = await extract(['{"name": "Ada", "age": 36}'], true);
    await run;
    const call = pipeline.chatCalls()[0] as ModelCall;
    expect(call.request.responseFormat).toEqual({ type: "json_schema", name: "extraction", schema: SCHEMA, strict: false });
    expect(promptText(call)).not.toContain('"minimum"');
    expect(promptText(call)).toContain("Ages in years.");
  });

  it("puts the schema in the prompt when the route has no native structured output", async () => {
    const { run, pipeline } = await extract(['{"name": "Ada", "age": 36}'], false);
    await run;
    const call = pipeline.chatCalls()[0] as ModelCall;
    expect(call.request.responseFormat).toBeUndefined();
    expect(promptText(call)).toContain(JSON.stringify(SCHEMA, null, 2));
    expect(call.request.messages[0]?.role).toBe("system");
    expect(promptText(call).endsWith(TEXT)).toBe(true);
  });

  it("rejects an uncompilable schema or a non-object root with InvalidArgument before any call", async () => {
    for (const schema of [{ type: "object", properties: { a: { type: "nope" } } }, { type: "array" }, { $ref: "https://example.com/missing.json" }] as JsonObject[]) {
      const { run, pipeline } = await extract([], false, schema);
      const err = await failure(run);
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^json_schema: /);
      if (schema["properties"] !== undefined) expect(err.rawMessage).toBe("json_schema: /properties/a/type: must be equal to one of the allowed values; /properties/a/type: must be array; /properties/a/type: must match a schema in anyOf");
      expect(pipeline.calls).toHaveLength(0);
    }
  });

  it("never returns a non-object even if the schema allows it", async () => {
    const { run } = await extract(["[1]", "42"], false, {});
    expect((await failure(run)).rawMessage).toContain("(root): must be a JSON object");
  });
});

describe("createSchemaCompiler", () => {
  it("caches validators by content (key order ignored) and evicts the least recently used", () => {
    const compiler = createSchemaCompiler({ maxEntries: 2 });
    const a = compiler.compile({ type: "object", required: ["x"] });
    expect(compiler.compile({ required: ["x"], type: "object" })).toBe(a);
    const b = compiler.compile({ type: "object", required: ["y"] });
    compiler.compile({ type: "object", required: ["x"] });
    compiler.compile({ type: "object", required: ["z"] });
    expect(compiler.compile({ type: "object", required: ["x"] })).toBe(a);
    expect(compiler.compile({ type: "object", required: ["y"] })).not.toBe(b);
  });

  it("does not let one schema's definitions leak into the next", () => {
    const compiler = createSchemaCompiler();
    compiler.compile({ type: "object", $defs: { x: { $anchor: "pt", type: "string" } } });
    expect(() => compiler.compile({ type: "object", properties: { a: { $ref: "#pt" } } })).toThrow(/can't resolve reference/);
  });

  it("keeps schemas with the same $id apart", () => {
    const compiler = createSchemaCompiler();
    const one = compiler.compile({ $id: "https://x/s", type: "object", required: ["a"] });
    const two = compiler.compile({ $id: "https://x/s", type: "object", required: ["b"] });
    expect(one.validate({ a: 1 })).toEqual([]);
    expect(two.validate({ a: 1 })).not.toEqual([]);
  });
});
