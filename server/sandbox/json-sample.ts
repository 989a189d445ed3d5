import { ownEntry } from "../own-entry.js";

/**
 * A minimal JSON value that conforms to a JSON Schema, so the sandbox's `json_schema` replies and
 * tool-call arguments validate: required properties only, `const` and the first `enum` value,
 * the first non-null branch of `anyOf`/`oneOf`, merged `allOf`, local `$ref`s, numeric bounds and
 * `multipleOf`, string lengths and common formats, array lengths and `uniqueItems`. Patterns are
 * not solved (a `pattern` may fail): the conformance is structural.
 */

/** A JSON value. */
export type JsonSample = null | boolean | number | string | JsonSample[] | { [key: string]: JsonSample };

type Schema = Record<string, unknown>;

/** Deepest nesting followed (recursive schemas stop here with the smallest value of their type). */
const MAX_DEPTH = 12;

const FORMATS: Record<string, string> = {
  "date-time": "2024-01-01T12:00:00Z",
  date: "2024-01-01",
  time: "12:00:00Z",
  duration: "P1D",
  email: "sandbox@example.com",
  "idn-email": "sandbox@example.com",
  hostname: "example.com",
  "idn-hostname": "example.com",
  ipv4: "192.0.2.1",
  ipv6: "2001:db8::1",
  uri: "https://example.com/sandbox",
  "uri-reference": "https://example.com/sandbox",
  iri: "https://example.com/sandbox",
  url: "https://example.com/sandbox",
  uuid: "00000000-0000-4000-8000-000000000000",
};

/** A value conforming to `schema` (a JSON Schema object; anything else allows anything). */
export function sampleJson(schema: unknown): JsonSample {
  return sample(schema, { root: schema, refs: new Set() }, "value", 0, 0);
}

/** Where a sample is being taken: the whole schema (for `$ref`s) and the `$ref`s being expanded. */
interface Scope {
  root: unknown;
  refs: ReadonlySet<string>;
}

function sample(node: unknown, scope: Scope, name: string, variant: number, depth: number): JsonSample {
  if (typeof node !== "object" || node === null || Array.isArray(node)) return "sample";
  let s = node as Schema;
  if (typeof s.$ref === "string") {
    const target = resolveRef(scope.root, s.$ref);
    if (target !== undefined && depth < MAX_DEPTH) {
      const inner: Scope = { root: scope.root, refs: new Set([...scope.refs, s.$ref]) };
      return sample({ ...target, ...withoutKey(s, "$ref") }, inner, name, variant, depth + 1);
    }
  }
  if ("const" in s) return s.const as JsonSample;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[variant % s.enum.length] as JsonSample;
  if (Array.isArray(s.allOf) && s.allOf.length > 0) s = mergeAll(s, s.allOf, scope.root);
  for (const key of ["anyOf", "oneOf"]) {
    const branches = s[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const branch = branches.find((b) => !isNullSchema(b)) ?? branches[0];
      return sample({ ...withoutKey(s, key), ...(branch as Schema) }, scope, name, variant, depth + 1);
    }
  }
  switch (typeOf(s)) {
    case "null":
      return null;
    case "boolean":
      return true;
    case "integer":
      return numberIn(s, true, variant);
    case "number":
      return numberIn(s, false, variant);
    case "array":
      return depth >= MAX_DEPTH ? [] : arrayOf(s, scope, name, depth);
    case "object":
      return depth >= MAX_DEPTH ? {} : objectOf(s, scope, depth);
    default:
      return stringOf(s, name, variant);
  }
}

function typeOf(s: Schema): string {
  const t = s.type;
  if (typeof t === "string") return t;
  if (Array.isArray(t) && t.length > 0) return String(t.find((x) => x !== "null") ?? t[0]);
  if (s.properties !== undefined || s.required !== undefined || s.additionalProperties !== undefined) return "object";
  if (s.items !== undefined || s.prefixItems !== undefined) return "array";
  if (s.minimum !== undefined || s.maximum !== undefined || s.multipleOf !== undefined) return "number";
  return "string";
}

function objectOf(s: Schema, scope: Scope, depth: number): JsonSample {
  const props = (typeof s.properties === "object" && s.properties !== null ? s.properties : {}) as Record<string, unknown>;
  const extra = typeof s.additionalProperties === "object" ? s.additionalProperties : { type: "string" };
  const out: Record<string, JsonSample> = {};
  for (const key of Array.isArray(s.required) ? s.required : []) {
    if (typeof key !== "string") continue;
    out[key] = sample(key in props ? props[key] : extra, scope, key, 0, depth + 1);
  }
  return out;
}

function arrayOf(s: Schema, scope: Scope, name: string, depth: number): JsonSample {
  const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
  const min = typeof s.minItems === "number" ? s.minItems : 0;
  const max = typeof s.maxItems === "number" ? s.maxItems : Number.POSITIVE_INFINITY;
  // One item even when none is required (a demo shows more that way), never more than allowed, and
  // none that would recurse into a definition already being expanded (a tree's optional children).
  const items = s.items as Schema | undefined;
  const recursive = typeof items?.$ref === "string" && scope.refs.has(items.$ref);
  const n = Math.min(Math.max(min, prefix.length > 0 || recursive ? prefix.length : 1), max);
  const unique = s.uniqueItems === true;
  const out: JsonSample[] = [];
  for (let i = 0; i < n; i++) {
    const item = i < prefix.length ? prefix[i] : s.items;
    out.push(sample(item ?? {}, scope, singular(name), unique ? i : 0, depth + 1));
  }
  return out;
}

function stringOf(s: Schema, name: string, variant: number): string {
  const format = typeof s.format === "string" ? ownEntry(FORMATS, s.format) : undefined;
  let text = format ?? `sample ${name}${variant > 0 ? ` ${variant + 1}` : ""}`;
  const min = typeof s.minLength === "number" ? s.minLength : 0;
  const max = typeof s.maxLength === "number" ? s.maxLength : Number.POSITIVE_INFINITY;
  if (Array.from(text).length < min) text = text + "x".repeat(min - Array.from(text).length);
  if (Array.from(text).length > max) text = Array.from(text).slice(0, max).join("");
  return text;
}

function numberIn(s: Schema, integer: boolean, variant: number): number {
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  // Draft 4 spells exclusivity as booleans next to minimum/maximum; later drafts as numbers.
  const exLo = num(s.exclusiveMinimum) ?? (s.exclusiveMinimum === true ? num(s.minimum) : undefined);
  const exHi = num(s.exclusiveMaximum) ?? (s.exclusiveMaximum === true ? num(s.maximum) : undefined);
  const lo = s.exclusiveMinimum === true ? undefined : num(s.minimum);
  const hi = s.exclusiveMaximum === true ? undefined : num(s.maximum);
  const above = (v: number) => (lo === undefined || v >= lo) && (exLo === undefined || v > exLo);
  const below = (v: number) => (hi === undefined || v <= hi) && (exHi === undefined || v < exHi);
  const step = num(s.multipleOf) ?? (integer ? 1 : undefined);
  const floorBound = Math.max(lo ?? Number.NEGATIVE_INFINITY, exLo ?? Number.NEGATIVE_INFINITY);
  const ceilBound = Math.min(hi ?? Number.POSITIVE_INFINITY, exHi ?? Number.POSITIVE_INFINITY);
  let v = 1 + variant;
  if (!above(v)) v = Number.isFinite(ceilBound) ? (floorBound + ceilBound) / 2 : floorBound + 1 + variant;
  if (!below(v)) v = Number.isFinite(floorBound) ? (floorBound + ceilBound) / 2 : ceilBound - 1 - variant;
  if (step !== undefined && step > 0) {
    const up = Math.ceil(v / step) * step;
    const down = Math.floor(v / step) * step;
    v = above(up) && below(up) ? up : down;
    // Floating-point multiples (0.1 * 3) drift: round to the step's precision.
    v = Number(v.toFixed(decimals(step)));
  }
  return integer ? Math.round(v) : v;
}

function decimals(n: number): number {
  const s = String(n);
  const dot = s.indexOf(".");
  return dot < 0 ? 0 : Math.min(s.length - dot - 1, 15);
}

function mergeAll(base: Schema, parts: unknown[], root: unknown): Schema {
  const merged: Schema = withoutKey(base, "allOf");
  const properties: Record<string, unknown> = { ...(merged.properties as Record<string, unknown> | undefined) };
  const required = new Set<unknown>(Array.isArray(merged.required) ? merged.required : []);
  for (const raw of parts) {
    let part = (typeof raw === "object" && raw !== null ? raw : {}) as Schema;
    if (typeof part.$ref === "string") part = { ...(resolveRef(root, part.$ref) ?? {}), ...withoutKey(part, "$ref") };
    Object.assign(properties, part.properties);
    for (const r of Array.isArray(part.required) ? part.required : []) required.add(r);
    for (const [k, v] of Object.entries(part)) if (k !== "properties" && k !== "required" && !(k in merged)) merged[k] = v;
  }
  return { ...merged, properties, required: [...required] };
}

function resolveRef(root: unknown, ref: string): Schema | undefined {
  if (!ref.startsWith("#")) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split("/").filter((p) => p !== "")) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === "object" && node !== null && !Array.isArray(node) ? (node as Schema) : undefined;
}

function isNullSchema(b: unknown): boolean {
  return typeof b === "object" && b !== null && (b as Schema).type === "null";
}

function withoutKey(s: Schema, key: string): Schema {
  const { [key]: _omitted, ...rest } = s;
  return rest;
}

function singular(name: string): string {
  return name.length > 3 && name.endsWith("s") ? name.slice(0, -1) : name;
}
