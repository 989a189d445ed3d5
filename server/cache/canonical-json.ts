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
  if (value === undefined) throw new TypeError("canonicalJson: a undefined has no JSON form");
  let plain: unknown;
  try {
    plain = canonical(value);
  } catch (err) {
    if (err !== NOT_EXPRESSIBLE) throw err;
    return write(value, "");
  }
  return JSON.stringify(plain);
}

// The cache key is built on every cacheable call, so the text comes from one native
// `JSON.stringify` — one flat string — over the value itself wherever it is already canonical
// (keys in order, nothing to rewrite), and over small re-ordered copies only where it is not.
// Concatenating the text by hand made a string per key and value and a rope node per `+`
// (≈ 8 KB allocated per call; issue #11's allocation profile).

/** Thrown by {@link canonical} for an object whose sorted key order no JS object can hold. */
const NOT_EXPRESSIBLE = Symbol("not expressible");

/** Keys a JS object enumerates before all others, in numeric order, whatever their insertion. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/** What `JSON.stringify` writes as the canonical text of `value`: `value` itself when it already is. */
function canonical(value: unknown): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      return value; // JSON.stringify writes -0 as 0
    case "object":
      if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
      if (Array.isArray(value)) return canonicalArray(value);
      return canonicalObject(value);
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

function canonicalArray(items: readonly unknown[]): readonly unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === undefined) continue; // written as null, as here
    const c = canonical(item);
    if (c !== item) (out ??= items.slice())[i] = c;
  }
  return out ?? items;
}

function canonicalObject(obj: object): object {
  const record = obj as Record<string, unknown>;
  const keys = Object.keys(obj);
  const proto: unknown = Object.getPrototypeOf(obj);
  // A class instance is written by its own enumerable properties only (no `toJSON`).
  let reorder = proto !== Object.prototype && proto !== null;
  let changed: Map<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i > 0 && !(keys[i - 1]! < k)) reorder = true;
    const v = record[k];
    if (v === undefined) continue; // JSON.stringify drops it, as here
    const c = canonical(v);
    if (c !== v) (changed ??= new Map()).set(k, c);
  }
  if (!reorder && changed === undefined) return obj;
  if (reorder) {
    keys.sort();
    if (keys.some((k) => ARRAY_INDEX.test(k))) throw NOT_EXPRESSIBLE;
  }
  // No prototype: a `__proto__` key stays a key.
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of keys) {
    const v = record[k];
    if (v !== undefined) out[k] = changed?.has(k) ? changed.get(k) : v;
  }
  return out;
}

// The same text written piece by piece: for the rare value `canonical` cannot express (an object
// with array-index keys out of code-unit order, e.g. "10" before "9").
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
