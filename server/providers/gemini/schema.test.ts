import { describe, expect, it } from "vitest";
import { toGeminiSchema } from "./schema.js";

describe("toGeminiSchema", () => {
  it("inlines a recursive $ref once and leaves the cycle unconstrained", () => {
    const out = toGeminiSchema({
      $ref: "#/definitions/Node",
      definitions: { Node: { type: "object", properties: { value: { type: "number" }, next: { $ref: "#/definitions/Node", description: "tail" } } } },
    });
    expect(out).toEqual({ type: "OBJECT", properties: { value: { type: "NUMBER" }, next: { description: "tail" } } });
  });

  it("merges allOf, unions required, keeps sibling descriptions over referenced ones", () => {
    const out = toGeminiSchema({
      $defs: { Base: { type: "object", description: "base", properties: { id: { type: "integer", format: "int64" } }, required: ["id"] } },
      allOf: [{ $ref: "#/$defs/Base" }, { properties: { name: { type: "string" } }, required: ["name"] }],
      description: "person",
    });
    expect(out).toEqual({
      type: "OBJECT",
      description: "person",
      properties: { id: { type: "INTEGER", format: "int64" }, name: { type: "STRING" } },
      required: ["id", "name"],
    });
  });

  it("turns multi-type lists into anyOf, enums into strings, examples into example", () => {
    expect(toGeminiSchema({ type: ["string", "integer", "null"], enum: [1, "a", null], examples: ["a"] })).toEqual({
      anyOf: [{ type: "STRING" }, { type: "INTEGER" }],
      enum: ["1", "a"],
      example: "a",
      nullable: true,
    });
  });
});

describe("toGeminiSchema: rewrites the module comment promises", () => {
  it("keeps only required names that are properties", () => {
    expect(toGeminiSchema({ type: "object", properties: { a: { type: "string" } }, required: ["a", "ghost"] })).toEqual({
      type: "OBJECT",
      properties: { a: { type: "STRING" } },
      required: ["a"],
    });
  });

  it("reads anyOf/oneOf with a null member as nullable, one member left inlined", () => {
    expect(toGeminiSchema({ anyOf: [{ type: "string", maxLength: 3 }, { type: "null" }], description: "maybe" })).toEqual({
      type: "STRING",
      maxLength: 3,
      description: "maybe",
      nullable: true,
    });
    expect(toGeminiSchema({ oneOf: [{ type: "string" }, { type: "number" }] })).toEqual({ anyOf: [{ type: "STRING" }, { type: "NUMBER" }] });
  });

  it("turns const into a one-value string enum", () => {
    expect(toGeminiSchema({ type: "integer", const: 3 })).toEqual({ type: "INTEGER", enum: ["3"] });
  });

  it("inlines a reference used twice side by side (only a cycle is cut)", () => {
    const point = { type: "object", properties: { x: { type: "number" } } };
    expect(toGeminiSchema({ $defs: { P: point }, type: "object", properties: { a: { $ref: "#/$defs/P" }, b: { $ref: "#/$defs/P" } } })).toEqual({
      type: "OBJECT",
      properties: { a: { type: "OBJECT", properties: { x: { type: "NUMBER" } } }, b: { type: "OBJECT", properties: { x: { type: "NUMBER" } } } },
    });
  });

  it("keeps a format only where Gemini takes it", () => {
    expect(toGeminiSchema({ type: "string", format: "email" })).toEqual({ type: "STRING" });
    expect(toGeminiSchema({ type: "string", format: "date-time" })).toEqual({ type: "STRING", format: "date-time" });
    expect(toGeminiSchema({ type: "integer", format: "float" })).toEqual({ type: "INTEGER" });
  });

  it("takes the first schema of a tuple-style items list", () => {
    expect(toGeminiSchema({ type: "array", items: [{ type: "string" }, { type: "number" }] })).toEqual({ type: "ARRAY", items: { type: "STRING" } });
  });
});

describe("toGeminiSchema: $ref siblings", () => {
  it("lets a $ref's sibling keywords win over the referenced schema's", () => {
    expect(toGeminiSchema({ $defs: { P: { type: "string", description: "target" } }, type: "object", properties: { a: { $ref: "#/$defs/P", description: "sibling" } } })).toEqual({
      type: "OBJECT",
      properties: { a: { type: "STRING", description: "sibling" } },
    });
  });
});
