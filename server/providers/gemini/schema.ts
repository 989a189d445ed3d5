/**
 * JSON Schema → Gemini `Schema` (the OpenAPI 3.0 subset that `functionDeclarations[].parameters`
 * and `generationConfig.responseSchema` accept). Gemini rejects the whole request with
 * `400 Invalid JSON payload received. Unknown name "…"` for any keyword outside its subset, so the
 * adapter rewrites what it can and drops the rest:
 *
 * - kept: `type` (upper-cased), `format` (only `enum`/`date-time` on strings, `int32`/`int64` on
 *   integers, `float`/`double` on numbers), `title`, `description`, `nullable`, `enum` (values as
 *   strings), `properties`, `required` (only names that are in `properties`), `items`, `anyOf`,
 *   `minItems`, `maxItems`, `minLength`, `maxLength`, `minProperties`, `maxProperties`, `pattern`,
 *   `minimum`, `maximum`, `example`, `default`, `propertyOrdering`;
 * - rewritten: local `$ref` (`#/$defs/…`, `#/definitions/…`) is inlined (a recursive reference
 *   becomes an unconstrained `{}`); `type: [T, "null"]` and `anyOf: [S, {type: "null"}]` become
 *   `nullable: true`; other type lists become `anyOf`; `oneOf` becomes `anyOf`; `allOf` is merged
 *   into one schema; `const` becomes a one-value `enum`; `examples[0]` becomes `example`;
 * - dropped: `$schema`, `$id`, `$comment`, `$defs`/`definitions` (after inlining),
 *   `additionalProperties`, `patternProperties`, `unevaluatedProperties`, `not`, `if`/`then`/`else`,
 *   `dependentRequired`, `dependentSchemas`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`,
 *   `uniqueItems`, `contains`, `prefixItems`, `readOnly`, `writeOnly`, `deprecated`,
 *   `contentEncoding`, `contentMediaType`, every unsupported `format`, and anything else unknown.
 */
import type { JsonObject, JsonValue } from "../model.js";

const KEPT_SCALARS = new Set([
  "title",
  "description",
  "nullable",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "minProperties",
  "maxProperties",
  "pattern",
  "minimum",
  "maximum",
  "example",
  "default",
  "propertyOrdering",
]);

const FORMATS: Readonly<Record<string, readonly string[]>> = {
  STRING: ["enum", "date-time"],
  INTEGER: ["int32", "int64"],
  NUMBER: ["float", "double"],
};

const TYPES = new Set(["string", "number", "integer", "boolean", "array", "object"]);

/** Converts a JSON Schema into the Gemini `Schema` subset (see the module comment for the rules). */
export function toGeminiSchema(schema: JsonObject): JsonObject {
  return convert(schema, schema, []);
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function resolveRef(root: JsonObject, ref: string): JsonValue | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let node: JsonValue | undefined = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    node = isObject(node) ? node[key] : undefined;
  }
  return node;
}

function convert(node: JsonValue | undefined, root: JsonObject, refs: string[]): JsonObject {
  if (!isObject(node)) return {};
  const src = node;

  // $ref: inline the target; sibling keywords (a description, typically) win over the target's.
  if (typeof src.$ref === "string") {
    const ref = src.$ref;
    const { $ref: _ignored, ...siblings } = src;
    if (refs.includes(ref)) return convert(siblings, root, refs);
    const target = resolveRef(root, ref);
    return { ...convert(target, root, [...refs, ref]), ...convert(siblings, root, refs) };
  }

  // allOf: merge the members into this schema.
  if (Array.isArray(src.allOf)) {
    const { allOf, ...rest } = src;
    let merged = convert(rest, root, refs);
    for (const member of allOf) merged = mergeSchemas(merged, convert(member, root, refs));
    return merged;
  }

  const out: JsonObject = {};
  let nullable = src.nullable === true;

  // type: upper-case; a list with "null" means nullable; several types become anyOf.
  let types: string[] = [];
  if (typeof src.type === "string") types = [src.type];
  else if (Array.isArray(src.type)) types = src.type.filter((t): t is string => typeof t === "string");
  if (types.includes("null")) nullable = true;
  types = types.filter((t) => TYPES.has(t));
  let type: string | undefined;
  if (types.length === 1) type = types[0]!.toUpperCase();
  else if (types.length > 1) out.anyOf = types.map((t) => ({ type: t.toUpperCase() }));
  if (type !== undefined) out.type = type;

  if (typeof src.format === "string" && type !== undefined && FORMATS[type]?.includes(src.format)) out.format = src.format;

  // enum / const: Gemini's enum is a list of strings.
  const values = Array.isArray(src.enum) ? src.enum : src.const !== undefined ? [src.const] : undefined;
  if (values !== undefined) {
    const kept = values.filter((v) => v !== null);
    if (values.length !== kept.length) nullable = true;
    if (kept.length > 0) out.enum = kept.map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
  }

  for (const key of KEPT_SCALARS) if (src[key] !== undefined) out[key] = src[key]!;
  if (out.example === undefined && Array.isArray(src.examples) && src.examples.length > 0) out.example = src.examples[0]!;

  if (isObject(src.properties)) {
    const props: JsonObject = {};
    for (const [name, sub] of Object.entries(src.properties)) props[name] = convert(sub, root, refs);
    out.properties = props;
    if (Array.isArray(src.required)) {
      const required = src.required.filter((r): r is string => typeof r === "string" && r in props);
      if (required.length > 0) out.required = required;
    }
  }

  if (isObject(src.items)) out.items = convert(src.items, root, refs);
  else if (Array.isArray(src.items) && src.items.length > 0) out.items = convert(src.items[0], root, refs);

  // anyOf / oneOf: a {type: "null"} member means nullable; one member left is inlined.
  const union = Array.isArray(src.anyOf) ? src.anyOf : Array.isArray(src.oneOf) ? src.oneOf : undefined;
  if (union !== undefined) {
    const members = union.filter((m) => !(isObject(m) && m.type === "null"));
    if (members.length !== union.length) nullable = true;
    const converted = members.map((m) => convert(m, root, refs));
    if (converted.length === 1) Object.assign(out, mergeSchemas(out, converted[0]!));
    else if (converted.length > 1) out.anyOf = converted;
  }

  if (nullable) out.nullable = true;
  return out;
}

/** Merges two converted schemas: properties and required are unioned, other keys first-wins. */
function mergeSchemas(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = { ...b, ...a };
  if (isObject(a.properties) || isObject(b.properties)) {
    out.properties = { ...(isObject(b.properties) ? b.properties : {}), ...(isObject(a.properties) ? a.properties : {}) };
  }
  const req = [...(Array.isArray(a.required) ? a.required : []), ...(Array.isArray(b.required) ? b.required : [])];
  if (req.length > 0) out.required = [...new Set(req.filter((r): r is string => typeof r === "string"))];
  return out;
}
