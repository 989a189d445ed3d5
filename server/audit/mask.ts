import { clone, getOption, ScalarType, toJson, type DescField, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { isReflectMessage, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { sensitive } from "../../gen/ts/switchboard/v1/options_pb.js";
import { storableCopy } from "../store/storable-text.js";

/** What a masked secret reads as in an audit record. */
export const MASKED = "[sensitive]";

/**
 * Secret shapes masked wherever they appear in a string, whatever field holds them: Switchboard
 * keys, and the common provider key formats (OpenAI/Anthropic `sk-…`, Google `AIza…`). Defence
 * in depth behind the schema option: a key pasted into a display name is still not stored.
 */
const SECRET_PATTERNS: readonly RegExp[] = [/sb_[a-z]{2,16}_[0-9A-Za-z]{49}/g, /sk-[A-Za-z0-9_-]{20,}/g, /AIza[0-9A-Za-z_-]{35}/g];

/**
 * A message as protobuf JSON for the audit log, every `(switchboard.v1.sensitive)` field masked at
 * any depth (a set string reads `[sensitive]`, any other sensitive value is dropped), then every
 * string scrubbed of secret-looking values (see {@link scrubJson}). The message itself is not
 * changed.
 */
export function maskedJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue {
  const copy = clone(schema, message);
  redact(reflect(schema, copy));
  let json: JsonValue;
  try {
    json = toJson(schema, copy);
  } catch {
    // An `Any` of a type this build cannot resolve: record that there was a value, not what.
    json = { unrepresentable: schema.typeName };
  }
  return scrubJson(json);
}

/**
 * Makes any JSON value safe to store: secret-looking substrings become `[sensitive]`, and
 * strings are made storable as Postgres `jsonb` and `text` (no NUL, no lone surrogate), so the
 * value read back is the value hashed.
 */
export function scrubJson(value: JsonValue): JsonValue {
  if (typeof value === "string") return scrubText(value);
  if (Array.isArray(value)) return value.map(scrubJson);
  if (value !== null && typeof value === "object") {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[scrubText(k)] = scrubJson(v);
    return out;
  }
  return value;
}

/** {@link scrubJson} for one string. */
export function scrubText(text: string): string {
  let out = storableCopy(text);
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, MASKED);
  return out;
}

function redact(message: ReflectMessage): void {
  for (const field of message.fields) {
    if (!message.isSet(field)) continue;
    if (isSensitive(field)) {
      if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING) message.set(field, MASKED);
      else message.clear(field);
      continue;
    }
    const value: unknown = message.get(field);
    if (isReflectMessage(value)) redact(value);
    else if (field.fieldKind === "list" && field.listKind === "message") for (const item of value as Iterable<ReflectMessage>) redact(item);
    else if (field.fieldKind === "map" && field.mapKind === "message") for (const [, item] of value as Iterable<[unknown, ReflectMessage]>) redact(item);
  }
}

function isSensitive(field: DescField): boolean {
  return getOption(field, sensitive);
}
