/**
 * A canonical JSON text of a value: object keys sorted by code unit, `undefined` properties
 * dropped (an absent field and an undefined one are the same request), `-0` written as `0`, and
 * bytes written as `{"$bytes":"<base64>"}`. Two values that mean the same request give the same
 * text whatever order their keys were built in, which is what a cache key hashes (P17: reordered
 * JSON keys still hit).
 *
 * Non-finite numbers, functions, symbols and bigints have no JSON meaning in a model request and
 * are rejected with a `TypeError` rather than silently collapsed to `null` (two different requests
 * must never share a key).
 */
export function canonicalJson(value: unknown): string {
  return write(value);
}

function write(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      return Object.is(value, -0) ? "0" : JSON.stringify(value);
    case "object":
      if (value instanceof Uint8Array) return `{"$bytes":${JSON.stringify(Buffer.from(value).toString("base64"))}}`;
      if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : write(item))).join(",")}]`;
      return writeObject(value as Record<string, unknown>);
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

function writeObject(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${write(obj[k])}`).join(",")}}`;
}
