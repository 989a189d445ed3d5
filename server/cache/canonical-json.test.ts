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

  it("is the reference text when keys are array indices, `__proto__` or out of order, and for class instances", () => {
    const keys = fc.constantFrom("0", "1", "9", "10", "4294967295", "a", "B", "__proto__", "$typeName", "");
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.integer(),
        fc.string({ maxLength: 3 }),
        fc.array(tie("v"), { maxLength: 3 }),
        fc.dictionary(keys, fc.oneof(tie("v"), fc.constant(undefined)), { maxKeys: 6 }),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        // Through JSON text too, where `__proto__` arrives as an own key.
        expect(canonicalJson(v)).toBe(reference(v));
        const parsed: unknown = JSON.parse(JSON.stringify(v) ?? "null");
        expect(canonicalJson(parsed)).toBe(reference(parsed));
      }),
      { numRuns: 1000 },
    );
    expect(canonicalJson(JSON.parse('{"10":1,"9":2,"a":[{"b":1,"a":2}]}'))).toBe('{"10":1,"9":2,"a":[{"a":2,"b":1}]}');
    expect(canonicalJson(JSON.parse('{"z":1,"__proto__":{"y":1,"x":2}}'))).toBe('{"__proto__":{"x":2,"y":1},"z":1}');
    class Point {
      constructor(
        readonly y: number,
        readonly x: number,
      ) {}
      toJSON() {
        return "ignored";
      }
    }
    expect(canonicalJson({ p: new Point(2, 1), d: new Date(0), f: new Float32Array([1.5]) })).toBe('{"d":{},"f":{"0":1.5},"p":{"x":1,"y":2}}');
  });

  it("leaves the value it reads unchanged", () => {
    const value = { b: [{ d: 1, c: new Uint8Array([1]) }], a: undefined };
    const before = structuredClone(value);
    canonicalJson(value);
    expect(value).toEqual(before);
    expect(Object.keys(value)).toEqual(["b", "a"]);
  });

  it("writes only the bytes a view covers, not the whole buffer under it (two images cut from one buffer differ)", () => {
    const buffer = new Uint8Array([9, 1, 2, 3, 4, 9]);
    expect(canonicalJson({ b: buffer.subarray(1, 3) })).toBe('{"b":{"$bytes":"AQI="}}');
    expect(canonicalJson({ b: buffer.subarray(3, 5) })).toBe('{"b":{"$bytes":"AwQ="}}');
    // Through the piece-by-piece path too (array-index keys out of code-unit order).
    expect(canonicalJson({ "10": 1, "9": buffer.subarray(1, 3) })).toBe('{"10":1,"9":{"$bytes":"AQI="}}');
  });

  it("writes bytes as base64 and rejects values with no JSON form", () => {
    expect(canonicalJson({ b: new Uint8Array([1, 2, 255]), a: [undefined, -0] })).toBe('{"a":[null,0],"b":{"$bytes":"AQL/"}}');
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson([1n])).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
  });
});
