import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json.js";

/**
 * The reference: the first implementation (map/join per level), with which stored audit hashes
 * and cache keys were made; a faster one must give the very same text.
 */
function reference(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "number") return Object.is(value, -0) ? "0" : JSON.stringify(value);
  if (typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : reference(item))).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`).join(",")}}`;
}

describe("canonicalJson", () => {
  it("is the reference text for any JSON-like value, undefined fields and -0 included (audit hashes depend on it)", () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.string(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.oneof(tie("v"), fc.constant(undefined)), { maxLength: 4 }),
        fc.dictionary(fc.string(), fc.oneof(tie("v"), fc.constant(undefined)), { maxKeys: 5 }),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
      { numRuns: 1000 },
    );
  });

  it("writes bytes as base64 and rejects values with no JSON form", () => {
    expect(canonicalJson({ b: new Uint8Array([1, 2, 255]), a: [undefined, -0] })).toBe('{"a":[null,0],"b":{"$bytes":"AQL/"}}');
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson([1n])).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
  });
});
