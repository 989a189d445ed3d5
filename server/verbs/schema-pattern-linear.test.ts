import { describe, expect, it } from "vitest";
import { createSchemaCompiler, SchemaCompileError } from "./schema-compiler.js";

describe("schema patterns (matched by the linear-time engine)", () => {
  it("keep their meaning: anchored, unanchored, classes, counts, in patternProperties and propertyNames too", () => {
    const v = createSchemaCompiler().compile({
      type: "object",
      properties: { date: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" }, sku: { type: "string", pattern: "[A-Z]{3}" } },
      patternProperties: { "^x-": { type: "integer" } },
      propertyNames: { pattern: "^[a-z-]+$" },
    });
    expect(v.validate({ date: "2024-01-31", sku: "abcXYZ", "x-a": 1 })).toEqual([]);
    expect(v.validate({ date: "2024-1-31" }).map((e) => e.instancePath)).toEqual(["/date"]);
    expect(v.validate({ sku: "abc" }).map((e) => e.instancePath)).toEqual(["/sku"]);
    expect(v.validate({ "x-a": "no" }).map((e) => e.instancePath)).toEqual(["/x-a"]);
    expect(v.validate({ Bad: 1 }).length).toBeGreaterThan(0);
  });

  it("two different patterns in one schema are not confused", () => {
    const v = createSchemaCompiler().compile({ type: "object", properties: { a: { type: "string", pattern: "^a$" }, b: { type: "string", pattern: "^b$" } } });
    expect(v.validate({ a: "a", b: "b" })).toEqual([]);
    expect(v.validate({ a: "b", b: "a" }).map((e) => e.instancePath)).toEqual(["/a", "/b"]);
  });

  it("a pathological pattern validates in linear time; an unsupported one is a compile error", () => {
    const v = createSchemaCompiler().compile({ type: "object", properties: { code: { type: "string", pattern: "^(a+)+$" } } });
    // A backtracking engine would not finish this within the test's timeout (2^5000 paths).
    expect(v.validate({ code: `${"a".repeat(5000)}!` }).length).toBe(1);
    expect(v.validate({ code: "a".repeat(5000) })).toEqual([]);
    expect(() => createSchemaCompiler().compile({ type: "object", properties: { a: { type: "string", pattern: "(?=a)a" } } })).toThrow(SchemaCompileError);
  });
});
