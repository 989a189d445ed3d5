import { createHash } from "node:crypto";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import type { JsonObject, JsonValue } from "../providers/model.js";
import { createSchemaPatterns, PatternCostError, schemaPatternProblem } from "./schema-patterns.js";

/** One reason a value does not validate. */
export interface SchemaViolation {
  /** JSON Pointer to the offending value (`""` is the root). */
  instancePath: string;
  message: string;
}

/** A compiled caller schema. */
export interface SchemaValidator {
  /**
   * The violations of `value`; empty when it validates. Throws `SchemaCompileError` when the
   * schema recurses without end on it. Pattern checks past their budget (`schema-patterns.ts`)
   * are one violation at the root saying so: the value is not known to match.
   */
  validate(value: JsonValue): SchemaViolation[];
}

/** A caller's schema that cannot be compiled; its message names the problem. */
export class SchemaCompileError extends Error {
  override readonly name = "SchemaCompileError";
}

/** Compiles caller JSON Schemas (draft 2020-12), caching validators by schema content. */
export interface SchemaCompiler {
  /** The validator of `schema`; throws `SchemaCompileError` when it is not a usable schema. */
  compile(schema: JsonObject): SchemaValidator;
}

/** Options of {@link createSchemaCompiler}. */
export interface SchemaCompilerOptions {
  /** Validators kept, least recently used evicted first (default 256). */
  maxEntries?: number;
}

/** JSON with object keys sorted, so equal schemas hash equally whatever their key order. */
function canonicalJson(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k] as JsonValue)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

function violationOf(e: ErrorObject): SchemaViolation {
  const extra = e.keyword === "additionalProperties" ? ` ("${String((e.params as { additionalProperty?: unknown }).additionalProperty)}")` : "";
  const allowed = e.keyword === "enum" ? `: ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}` : "";
  return { instancePath: e.instancePath, message: `${e.message ?? "is invalid"}${extra}${allowed}` };
}

const ENDLESS = "the schema never finishes validating (a $ref cycle that consumes no input)";

// `ownProperties`: a model's JSON is parsed into plain objects, whose inherited `constructor`,
// `toString`, … must count as absent (else a required one is "present" and an optional one fails).
// `code.regExp` (per compiler): patterns are the caller's, matched in bounded time (`schema-patterns.ts`, P23).
const AJV_OPTIONS = { strict: false, allErrors: true, validateFormats: false, logger: false, ownProperties: true } as const;

/**
 * Creates a compiler. Ajv runs with strict mode off (unknown keywords such as vendor annotations
 * are ignored, as 2020-12 allows) and all errors on (the repair prompt and the final error list
 * name every problem). `format` is an annotation only: no format validators are installed.
 * `$async` schemas are refused. Isolation: a schema without `$id` compiles on the compiler's
 * shared Ajv instance and is removed from it right after (compiling costs ~2 ms); a schema that
 * declares an `$id` anywhere gets an instance of its own (~50 ms, then cached), because Ajv
 * registers ids globally and one caller's ids must never resolve in another caller's schema.
 */
export function createSchemaCompiler(options: SchemaCompilerOptions = {}): SchemaCompiler {
  const maxEntries = options.maxEntries ?? 256;
  const cache = new Map<string, SchemaValidator>();
  const patterns = createSchemaPatterns();
  const ajvOptions = { ...AJV_OPTIONS, code: { regExp: patterns.regExp } };
  const shared = new Ajv2020(ajvOptions);
  return {
    compile(schema) {
      const canonical = canonicalJson(schema);
      const key = createHash("sha256").update(canonical).digest("hex");
      const hit = cache.get(key);
      if (hit !== undefined) {
        cache.delete(key);
        cache.set(key, hit);
        return hit;
      }
      if (schema["$async"] === true) throw new SchemaCompileError("$async schemas are not supported");
      const patternProblem = schemaPatternProblem(schema);
      if (patternProblem !== undefined) throw new SchemaCompileError(patternProblem);
      const ajv = canonical.includes('"$id":') ? new Ajv2020(ajvOptions) : shared;
      let fn: ReturnType<typeof ajv.compile>;
      try {
        if (ajv.validateSchema(schema) !== true) throw new SchemaCompileError(schemaProblems(ajv.errors ?? []));
        fn = ajv.compile(schema);
        // A `$ref` cycle that consumes no input (`{"allOf": [{"$ref": "#"}]}`) compiles but never
        // ends validating: found here on an empty object, before any model call.
        patterns.withBudget(() => fn({}));
      } catch (err) {
        if (err instanceof RangeError) throw new SchemaCompileError(ENDLESS);
        if (err instanceof SchemaCompileError) throw err;
        throw new SchemaCompileError(err instanceof Error ? err.message : String(err));
      } finally {
        if (ajv === shared) shared.removeSchema(schema);
      }
      const validator: SchemaValidator = {
        validate(value) {
          try {
            return patterns.withBudget(() => fn(value)) ? [] : (fn.errors ?? []).map(violationOf);
          } catch (err) {
            // The same cycle reached only through a property the empty object lacks.
            if (err instanceof RangeError) throw new SchemaCompileError(ENDLESS);
            if (err instanceof PatternCostError) return [{ instancePath: "", message: err.message }];
            throw err;
          }
        },
      };
      cache.set(key, validator);
      if (cache.size > maxEntries) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      return validator;
    },
  };
}

/** Meta-schema errors as `/path/in/schema: problem`, deduplicated and bounded. */
function schemaProblems(errors: readonly ErrorObject[]): string {
  const lines = [...new Set(errors.map((e) => `${e.instancePath === "" ? "(root)" : e.instancePath}: ${e.message ?? "is invalid"}`))];
  const more = lines.length > 10 ? `; … and ${lines.length - 10} more` : "";
  return `${lines.slice(0, 10).join("; ")}${more}`;
}

/** Lists violations for a message: `/path: message`, at most `max` of them. */
export function formatViolations(violations: readonly SchemaViolation[], max = 20): string {
  const shown = violations.slice(0, max).map((v) => `${v.instancePath === "" ? "(root)" : v.instancePath}: ${truncate(v.message, 300)}`);
  const more = violations.length > max ? [`… and ${violations.length - max} more`] : [];
  return [...shown, ...more].join("; ");
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
