import { create, ScalarType, type DescEnum, type DescField, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import type { Path } from "@bufbuild/protobuf/reflect";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { RouteSchema, type Route } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { ROUTE_ALIAS, ROUTE_ALIAS_RULE, validateRoute, type ProviderCatalog } from "../dispatch/route-spec.js";
import { PROVIDER_DECLARATIONS } from "../providers/registry.js";
import { credentialUsableBy, parseCredentialName } from "../vault/credential-names.js";
import type { ConfigIssue } from "./config-error.js";
import { closestName } from "./closest-name.js";

/** Routes seeded from the config file, by alias: global routes (`routes/{alias}`) only. */
export type ConfigRoutes = Readonly<Record<string, Route>>;

/** Fields of `switchboard.v1.Route` the server owns: a config file cannot set them. */
const SERVER_OWNED = new Set(["name", "createTime", "updateTime"]);
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** The provider kinds routes may name, from the registry's declarations (what RouteService checks too). */
export const DECLARED_PROVIDERS: ProviderCatalog = {
  kinds: PROVIDER_DECLARATIONS.map((d) => d.kind),
  needsCredential: (kind) => PROVIDER_DECLARATIONS.find((d) => d.kind === kind)?.apiKeyRequired ?? true,
  settings: (kind) => PROVIDER_DECLARATIONS.find((d) => d.kind === kind)?.settings ?? [],
  params: (kind) => PROVIDER_DECLARATIONS.find((d) => d.kind === kind)?.params ?? [],
};

/**
 * Parses the `routes` section of the YAML config: a mapping of alias to a route written with
 * RouteService's field names (camelCase, as in protobuf JSON) and durations as `250ms`, `1.5s`,
 * `2m` or `1h`. Each route then passes the same checks as `CreateRoute`: the schema's
 * protovalidate rules and `validateRoute` (provider kinds with "did you mean", credentials,
 * backoff bounds). Every problem is pushed to `issues` at its exact path, e.g.
 * `routes.fast.targets[1].provider: unknown provider "opnai" (did you mean "openai"?)`.
 */
export function parseConfigRoutes(raw: unknown, issues: ConfigIssue[], catalog: ProviderCatalog = DECLARED_PROVIDERS): ConfigRoutes {
  if (!isRecord(raw)) {
    issues.push({ path: "routes", message: "must be a mapping of route alias to route, e.g. `fast: { targets: [...] }`" });
    return {};
  }
  const out: Record<string, Route> = {};
  // Created only when there are routes: compiling the rules costs 60-120 ms, once, at start.
  let validator: Validator | undefined;
  for (const [alias, value] of Object.entries(raw)) {
    const base = `routes.${alias}`;
    if (!ROUTE_ALIAS.test(alias)) {
      issues.push({ path: base, message: ROUTE_ALIAS_RULE });
      continue;
    }
    const found: ConfigIssue[] = [];
    const init = readMessage(RouteSchema, value, base, found);
    if (found.length > 0) {
      issues.push(...found);
      continue;
    }
    const route = create(RouteSchema, init as MessageInitShape<typeof RouteSchema>);
    validator ??= createValidator();
    const result = validator.validate(RouteSchema, route);
    if (result.kind === "invalid") {
      for (const v of result.violations) found.push({ path: `${base}.${pathText(v.field)}`, message: v.message });
    } else if (result.kind === "error") {
      found.push({ path: base, message: `cannot be validated: ${result.error.message}` });
    }
    for (const issue of validateRoute(route, catalog)) found.push({ path: `${base}.${camelPath(issue.path)}`, message: issue.message });
    // Config routes are global: like CreateRoute's, they may spend only global credentials (a
    // malformed name is already reported by the schema's rule).
    route.targets.forEach((t, i) => {
      if (parseCredentialName(t.credential) !== undefined && !credentialUsableBy(t.credential, null)) {
        found.push({ path: `${base}.targets[${i}].credential`, message: "a global route may use only credentials/{id}" });
      }
    });
    if (found.length > 0) issues.push(...found);
    else out[alias] = route;
  }
  return out;
}

/** A YAML mapping as the init object of `schema`, every field checked; undefined when invalid. */
function readMessage(schema: DescMessage, value: unknown, path: string, issues: ConfigIssue[]): Record<string, unknown> | undefined {
  if (!isRecord(value)) {
    issues.push({ path, message: "must be a mapping" });
    return undefined;
  }
  const fields = schema.fields.filter((f) => !SERVER_OWNED.has(f.localName));
  const names = fields.map((f) => f.localName);
  const init: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = fields.find((f) => f.localName === key || f.name === key);
    if (field === undefined) {
      const guess = closestName(key, names);
      issues.push({ path: `${path}.${key}`, message: `unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ""}; known keys: ${names.join(", ")}` });
      continue;
    }
    const parsed = readField(field, v, `${path}.${field.localName}`, issues);
    if (parsed !== undefined) init[field.localName] = parsed;
  }
  return init;
}

function readField(field: DescField, value: unknown, path: string, issues: ConfigIssue[]): unknown {
  switch (field.fieldKind) {
    case "message":
      return readSingular(field.message, value, path, issues);
    case "list": {
      if (!Array.isArray(value)) {
        issues.push({ path, message: "must be a list" });
        return undefined;
      }
      const items = value.map((item, i) => {
        if (field.listKind === "message") return readSingular(field.message, item, `${path}[${i}]`, issues);
        if (field.listKind === "scalar") return readScalar(field.scalar, item, `${path}[${i}]`, issues);
        issues.push({ path: `${path}[${i}]`, message: "cannot be set from the config file" });
        return undefined;
      });
      return items.every((i) => i !== undefined) ? items : undefined;
    }
    case "map": {
      if (!isRecord(value) || !Object.values(value).every((v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean")) {
        issues.push({ path, message: "must be a mapping of names to text values" });
        return undefined;
      }
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
    }
    case "scalar":
      return readScalar(field.scalar, value, path, issues);
    case "enum":
      return readEnum(field.enum, value, path, issues);
    default:
      issues.push({ path, message: "cannot be set from the config file" });
      return undefined;
  }
}

/**
 * An enum value by its name without the enum's prefix (`least_busy` for `STRATEGY_LEAST_BUSY`),
 * in any case, `-` for `_` allowed; the full name is taken too. The zero (`UNSPECIFIED`) value is
 * not named: leaving the key out means it.
 */
function readEnum(desc: DescEnum, value: unknown, path: string, issues: ConfigIssue[]): number | undefined {
  const prefix = desc.sharedPrefix?.toLowerCase() ?? "";
  const named = desc.values.filter((v) => v.number !== 0).map((v) => ({ name: v.name.toLowerCase().slice(prefix.length), number: v.number }));
  const names = named.map((v) => v.name);
  if (typeof value !== "string") {
    issues.push({ path, message: `must be one of ${names.join(", ")}, got ${JSON.stringify(value)}` });
    return undefined;
  }
  let wanted = value.trim().toLowerCase().replaceAll("-", "_");
  if (prefix !== "" && wanted.startsWith(prefix)) wanted = wanted.slice(prefix.length);
  const found = named.find((v) => v.name === wanted);
  if (found !== undefined) return found.number;
  const guess = closestName(wanted, names);
  issues.push({ path, message: `unknown value ${JSON.stringify(value)}${guess ? ` (did you mean "${guess}"?)` : ""}; known: ${names.join(", ")}` });
  return undefined;
}

function readSingular(schema: DescMessage, value: unknown, path: string, issues: ConfigIssue[]): unknown {
  if (schema.typeName !== DurationSchema.typeName) return readMessage(schema, value, path, issues);
  const match = typeof value === "string" ? DURATION.exec(value.trim()) : null;
  if (match === null) {
    issues.push({ path, message: `must be a duration such as 250ms, 1.5s, 2m or 1h, got ${JSON.stringify(value)}` });
    return undefined;
  }
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
  return create(DurationSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
}

/** The scalar kinds `switchboard.v1.Route` uses: string, uint32, float and bool. */
function readScalar(scalar: ScalarType, value: unknown, path: string, issues: ConfigIssue[]): unknown {
  switch (scalar) {
    case ScalarType.STRING:
      if (typeof value === "string") return value;
      issues.push({ path, message: `must be a string, got ${JSON.stringify(value)}` });
      return undefined;
    case ScalarType.UINT32:
      if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) return value;
      issues.push({ path, message: `must be a whole number ≥ 0, got ${JSON.stringify(value)}` });
      return undefined;
    case ScalarType.FLOAT:
      if (typeof value === "number" && Number.isFinite(value)) return value;
      issues.push({ path, message: `must be a number, got ${JSON.stringify(value)}` });
      return undefined;
    case ScalarType.BOOL:
      if (typeof value === "boolean") return value;
      issues.push({ path, message: `must be true or false, got ${JSON.stringify(value)}` });
      return undefined;
    default:
      issues.push({ path, message: "cannot be set from the config file" });
      return undefined;
  }
}

/** A protovalidate field path as the config spells it: `targets[1].firstTokenTimeout`. */
function pathText(path: Path): string {
  let text = "";
  for (const item of path) {
    if (item.kind === "field") text += `${text === "" ? "" : "."}${item.localName}`;
    else if (item.kind === "list_sub") text += `[${item.index}]`;
    else if (item.kind === "map_sub") text += `[${JSON.stringify(String(item.key))}]`;
  }
  return text;
}

/** `retry.initial_backoff` → `retry.initialBackoff` (RouteService names fields as the proto does). */
function camelPath(path: string): string {
  return path.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
