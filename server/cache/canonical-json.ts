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
  return write(value, "");
}

// One string grown by `+` (V8 ropes) rather than a `map`/`join` array per object and array: the
// cache key is built on every cacheable call (issue #11's allocation profile).
function write(value: unknown, out: string): string {
  if (value === null) return out + "null";
  switch (typeof value) {
    case "string":
      return out + JSON.stringify(value);
    case "boolean":
      return out + (value ? "true" : "false");
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      return out + (Object.is(value, -0) ? "0" : JSON.stringify(value));
    case "object":
      if (value instanceof Uint8Array) return `${out}{"$bytes":${JSON.stringify(Buffer.from(value).toString("base64"))}}`;
      if (Array.isArray(value)) return writeArray(value, out);
      return writeObject(value as Record<string, unknown>, out);
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

function writeArray(items: readonly unknown[], out: string): string {
  out += "[";
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ",";
    const item = items[i];
    out = item === undefined ? out + "null" : write(item, out);
  }
  return out + "]";
}

function writeObject(obj: Record<string, unknown>, out: string): string {
  const keys = Object.keys(obj).sort();
  out += "{";
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += first ? JSON.stringify(k) + ":" : "," + JSON.stringify(k) + ":";
    first = false;
    out = write(v, out);
  }
  return out + "}";
}
