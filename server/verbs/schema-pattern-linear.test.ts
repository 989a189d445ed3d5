import { describe, expect, it } from "vitest";
import type { JsonObject } from "../providers/model.js";
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

  // Linear in the text, but times the program: `(?:.{0,1000}){9}x` compiled to ≈ 18 000 instructions
  // with thousands of threads alive per character (9.3 s on 20 000 characters; 19.6 s with `[^x]`).
  it("a pattern too large to match cheaply is refused when compiled, naming where it is", () => {
    const refusal = (schema: JsonObject) => {
      try {
        createSchemaCompiler().compile(schema);
      } catch (err) {
        expect(err).toBeInstanceOf(SchemaCompileError);
        return (err as Error).message;
      }
      throw new Error("compiled");
    };
    expect(refusal({ type: "object", properties: { code: { type: "string", pattern: "(?:.{0,1000}){9}x" } } })).toMatch(/^\/properties\/code\/pattern: pattern too large \(over 1000 instructions\): a count \{n,m\} repeats/);
    expect(refusal({ type: "object", properties: { list: { type: "array", items: { propertyNames: { pattern: "a{999}b{2}" } } } } })).toMatch(/^\/properties\/list\/items\/propertyNames\/pattern: pattern too large/);
    expect(refusal({ type: "object", patternProperties: { "a/{0,999}": {} } })).toMatch(/^\/patternProperties\/a~1\{0,999\}: pattern too large/);
    expect(refusal({ type: "object", anyOf: [{}, { properties: { x: { pattern: "(?=a)" } } }] })).toMatch(/^\/anyOf\/1\/properties\/x\/pattern: lookaround/);
    expect(refusal({ type: "object", properties: { x: { pattern: `${"(".repeat(20_000)}a${")".repeat(20_000)}` } } })).toBe("/properties/x/pattern: groups nested too deeply");
    // Real patterns are tens or hundreds of instructions: the WHATWG e-mail address is 261.
    const email = "^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$";
    expect(createSchemaCompiler().compile({ type: "object", properties: { e: { type: "string", pattern: email }, s: { pattern: "^.{1,400}$" } } }).validate({ e: "first.last@example.com" })).toEqual([]);
  });

  it("the largest pattern allowed, on a long string or many, stops at the budget: the value does not validate", () => {
    // 982 instructions, nearly all of them threads alive at every character; the last with a class of
    // 3 000 characters, which cost as many comparisons per test while classes were lists (3 s on 200).
    const wide = Array.from({ length: 3_000 }, (_, i) => String.fromCharCode(0x4e00 + i)).join("");
    for (const pattern of ["(?:.{0,49}){10}x", "(?:[^x]{0,49}){10}x", `(?:[^${wide}]{0,49}){10}x`]) {
      const v = createSchemaCompiler().compile({ type: "object", properties: { code: { type: "string", pattern }, many: { type: "array", items: { type: "string", pattern } } } });
      for (const value of [{ code: "a".repeat(20_000) }, { many: Array.from({ length: 2_000 }, () => "a".repeat(100)) }] as JsonObject[]) {
        // The budget ran out (5–12 ms warm; unbounded, seconds). How soon a search stops once it
        // has is pinned in steps, not time, by `pikeSearch`'s test (rules.test.ts).
        expect(v.validate(value), pattern).toEqual([{ instancePath: "", message: expect.stringMatching(/^too costly to check against the schema's patterns: pattern "\(\?:.+" on a string of \d+ characters/) as unknown }]);
      }
    }
  });

  it("real patterns on a large answer stay within the budget", () => {
    const email = "^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$";
    const v = createSchemaCompiler().compile({
      type: "object",
      properties: {
        people: { type: "array", items: { type: "object", properties: { email: { type: "string", pattern: email }, born: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" } } } },
        notes: { type: "string", pattern: "^[^<>]*$" },
      },
    });
    const people = Array.from({ length: 100 }, (_, i) => ({ email: `person.number${i}@mail.example.com`, born: "1990-01-31" }));
    expect(v.validate({ people, notes: "lorem ipsum ".repeat(1_500) })).toEqual([]);
    expect(v.validate({ people: [{ email: "nobody", born: "1990-01-31" }] }).map((e) => e.instancePath)).toEqual(["/people/0/email"]);
  });

  it("a check past the budget never passes a value: not under `not`, nor by skipping a patternProperties subschema", () => {
    const v = createSchemaCompiler().compile({ type: "object", properties: { a: { not: { pattern: "(?:.{0,49}){10}x" } } }, patternProperties: { "(?:.{0,49}){10}x": { type: "integer" } } });
    expect(v.validate({ a: "b".repeat(2_000) }).map((e) => e.instancePath)).toEqual([""]);
    expect(v.validate({ ["k".repeat(2_000)]: "not an integer" }).map((e) => e.instancePath)).toEqual([""]);
    // Each validation has its own budget.
    expect(v.validate({ a: "b" })).toEqual([]);
  });
});
