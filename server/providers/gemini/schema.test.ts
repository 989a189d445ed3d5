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
