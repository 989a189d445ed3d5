import type { JsonObject, JsonValue } from "../providers/model.js";
import { invalidField } from "./openai-request-error.js";
import { withinChars } from "./request-bounds.js";

/**
 * Typed readers for the fields of a parsed OpenAI request body. Each returns `undefined` for an
 * absent or `null` field (OpenAI treats both as "not set") and throws a 400 naming the field
 * (`param`) when it has the wrong type or range, so the request mappers read like a field list.
 */

/** Whether `v` is a JSON object (not an array, not null). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The value of `name` in `body`, with `null` read as absent. */
function field(body: JsonObject, name: string): JsonValue | undefined {
  const v = body[name];
  return v === null ? undefined : v;
}

/** A JSON object field. */
export function objectField(body: JsonObject, name: string, param = name): JsonObject | undefined {
  const v = field(body, name);
  if (v === undefined) return undefined;
  if (!isObject(v)) throw invalidField(param, `'${param}' must be an object`);
  return v;
}

/** A string field, at most `maxLength` characters (code points, as protovalidate's `max_len` counts) when given. */
export function stringField(body: JsonObject, name: string, param = name, maxLength?: number): string | undefined {
  const v = field(body, name);
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw invalidField(param, `'${param}' must be a string`);
  if (maxLength !== undefined && !withinChars(v, maxLength)) throw invalidField(param, `'${param}' must be at most ${maxLength} characters`);
  return v;
}

/** A string field that must be present and non-empty. */
export function requiredString(body: JsonObject, name: string, param = name): string {
  const v = stringField(body, name, param);
  if (v === undefined || v === "") throw invalidField(param, `'${param}' is a required property`);
  return v;
}

/** A boolean field. */
export function booleanField(body: JsonObject, name: string, param = name): boolean | undefined {
  const v = field(body, name);
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw invalidField(param, `'${param}' must be a boolean`);
  return v;
}

/** A number field within `[min, max]`; `integer` also demands a whole number. */
export function numberField(
  body: JsonObject,
  name: string,
  range: { min?: number; max?: number; integer?: boolean },
  param = name,
): number | undefined {
  const v = field(body, name);
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw invalidField(param, `'${param}' must be a number`);
  if (range.integer === true && !Number.isSafeInteger(v)) throw invalidField(param, `'${param}' must be an integer`);
  if (range.min !== undefined && v < range.min) throw invalidField(param, `'${param}' must be at least ${range.min}`);
  if (range.max !== undefined && v > range.max) throw invalidField(param, `'${param}' must be at most ${range.max}`);
  return v;
}

/** An array field. */
export function arrayField(body: JsonObject, name: string, param = name): JsonValue[] | undefined {
  const v = field(body, name);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalidField(param, `'${param}' must be an array`);
  return v;
}

/** A map of strings to strings (OpenAI's `metadata`). */
export function stringMapField(body: JsonObject, name: string, param = name): Record<string, string> | undefined {
  const v = objectField(body, name, param);
  if (v === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(v)) {
    if (typeof value !== "string") throw invalidField(`${param}.${key}`, `'${param}.${key}' must be a string`);
    // Defined, not assigned: `out.__proto__ = value` would set the prototype and lose the key.
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
