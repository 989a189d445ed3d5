import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { sampleJson } from "./json-sample.js";

/** Draft 2020-12 with the common formats checked (ajv-formats is not a dependency: simple patterns do). */
function validator(): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/);
  ajv.addFormat("date", /^\d{4}-\d\d-\d\d$/);
  ajv.addFormat("email", /^[^@\s]+@[^@\s]+\.[^@\s]+$/);
  ajv.addFormat("uri", /^https?:\/\/\S+$/);
  ajv.addFormat("uuid", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return ajv;
}

const cases: Array<[string, Record<string, unknown>]> = [
  ["a flat object with every scalar type", { type: "object", properties: { s: { type: "string" }, i: { type: "integer" }, n: { type: "number" }, b: { type: "boolean" }, z: { type: "null" } }, required: ["s", "i", "n", "b", "z"], additionalProperties: false }],
  ["numeric bounds, exclusive bounds and multipleOf", { type: "object", properties: { a: { type: "integer", minimum: 18, maximum: 99 }, b: { type: "number", exclusiveMinimum: 5, exclusiveMaximum: 6 }, c: { type: "number", multipleOf: 0.1, minimum: 0.25 }, d: { type: "integer", maximum: -3 }, e: { type: "integer", multipleOf: 7, minimum: 10, maximum: 20 } }, required: ["a", "b", "c", "d", "e"] }],
  ["string lengths and formats", { type: "object", properties: { short: { type: "string", maxLength: 3 }, long: { type: "string", minLength: 40 }, when: { type: "string", format: "date-time" }, day: { type: "string", format: "date" }, mail: { type: "string", format: "email" }, link: { type: "string", format: "uri" }, id: { type: "string", format: "uuid" } }, required: ["short", "long", "when", "day", "mail", "link", "id"] }],
  ["enums, const and nullable unions", { type: "object", properties: { tier: { enum: ["gold", "silver"] }, v: { const: 2 }, maybe: { type: ["string", "null"] }, either: { anyOf: [{ type: "null" }, { type: "integer", minimum: 3 }] }, one: { oneOf: [{ type: "string", maxLength: 2 }, { type: "number" }] } }, required: ["tier", "v", "maybe", "either", "one"] }],
  ["arrays: minItems, maxItems, uniqueItems, prefixItems", { type: "object", properties: { tags: { type: "array", items: { type: "string" }, minItems: 3, uniqueItems: true }, none: { type: "array", items: { type: "string" }, maxItems: 0 }, pair: { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], items: false }, levels: { type: "array", items: { enum: ["low", "mid", "high"] }, minItems: 3, uniqueItems: true } }, required: ["tags", "none", "pair", "levels"] }],
  ["$defs references and allOf", { type: "object", $defs: { money: { type: "object", properties: { amount: { type: "number", minimum: 0 }, currency: { enum: ["EUR", "USD"] } }, required: ["amount", "currency"] } }, properties: { total: { $ref: "#/$defs/money" }, lines: { type: "array", minItems: 1, items: { allOf: [{ $ref: "#/$defs/money" }, { type: "object", properties: { sku: { type: "string" } }, required: ["sku"] }] } } }, required: ["total", "lines"] }],
  ["a recursive tree", { $ref: "#/$defs/node", $defs: { node: { type: "object", properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/node" } } }, required: ["name", "children"] } } }],
  ["required keys without property schemas", { type: "object", required: ["x"], additionalProperties: { type: "integer" } }],
];

describe("sampleJson", () => {
  const ajv = validator();
  for (const [label, schema] of cases) {
    it(`conforms: ${label}`, () => {
      const value = sampleJson(schema);
      const validate = ajv.compile(schema);
      expect(validate(value), JSON.stringify({ value, errors: validate.errors })).toBe(true);
    });
  }

  it("samples a string whose format names a member of Object.prototype as a plain string", () => {
    for (const format of ["toString", "constructor", "__proto__"]) {
      expect(sampleJson({ type: "object", properties: { v: { type: "string", format } }, required: ["v"] }), format).toEqual({ v: "sample v" });
    }
  });

  it("gives required properties only, enums their first value, and is deterministic", () => {
    const schema = { type: "object", properties: { city: { type: "string" }, unit: { enum: ["celsius", "fahrenheit"] }, note: { type: "string" } }, required: ["city", "unit"] };
    expect(sampleJson(schema)).toEqual({ city: "sample city", unit: "celsius" });
    expect(sampleJson(schema)).toEqual(sampleJson(schema));
  });
});
