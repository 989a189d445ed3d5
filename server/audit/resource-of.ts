import { ScalarType, type DescMessage } from "@bufbuild/protobuf";
import { isReflectMessage, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";

/** The longest resource name recorded; anything longer (only an unvalidated request has one) is cut. */
export const MAX_RESOURCE_CHARS = 512;

/** Collections whose name is not the `*_id` field's stem plus `s` (`rate_limit_id` → `rate-limits`). */
const COLLECTIONS: Readonly<Record<string, string>> = { rate_limit_id: "rate-limits", policy_id: "guardrail-policies" };

/**
 * The resource a request or response is about, by the AIP conventions the schema follows: its
 * `name`; else the `name` of its first message field that has one (`UpdateKeyRequest.key.name`,
 * `CreateKeyResponse.key.name`); else `parent` plus the collection named by the first `*_id`
 * field (`parent` + `/keys/` + `key_id`, AIP-133); else `parent`. Empty when none applies.
 */
export function resourceOf(schema: DescMessage, message: unknown): string {
  const r = reflect(schema, message as never);
  const own = stringField(r, "name");
  if (own) return cut(own);
  for (const field of r.fields) {
    if (field.fieldKind !== "message" || !r.isSet(field)) continue;
    const inner = r.get(field);
    if (isReflectMessage(inner)) {
      const name = stringField(inner, "name");
      if (name) return cut(name);
    }
  }
  const parent = stringField(r, "parent") ?? "";
  const idField = r.fields.find((f) => f.name.endsWith("_id") && f.name !== "request_id" && f.fieldKind === "scalar" && f.scalar === ScalarType.STRING);
  const id = idField === undefined ? "" : (r.get(idField) as string);
  if (idField !== undefined && id !== "") {
    const collection = COLLECTIONS[idField.name] ?? `${idField.name.slice(0, -"_id".length)}s`;
    return cut(parent === "" ? `${collection}/${id}` : `${parent}/${collection}/${id}`);
  }
  return cut(parent);
}

/** The `{org}` of a resource name under `orgs/{org}`; `undefined` for a global resource. */
export function orgNameOf(resource: string): string | undefined {
  return /^orgs\/([a-z0-9][a-z0-9-]{0,62})(?:\/|$)/.exec(resource)?.[1];
}

function stringField(r: ReflectMessage, name: string): string | undefined {
  const field = r.fields.find((f) => f.name === name && f.fieldKind === "scalar" && f.scalar === ScalarType.STRING);
  return field === undefined ? undefined : (r.get(field) as string);
}

function cut(text: string): string {
  return text.length > MAX_RESOURCE_CHARS ? `${text.slice(0, MAX_RESOURCE_CHARS)}…` : text;
}
