import { fieldViolation } from "../errors/field-violation.js";
import type { ModelPipeline } from "../pipeline/model-call.js";
import type { JsonObject, JsonValue, ModelMessage } from "../providers/model.js";
import { pointer } from "./json-pointer.js";
import { isJsonObject, parseJsonReply } from "./json-reply.js";
import { withRepairTurn } from "./repair-turn.js";
import { createSchemaCompiler, formatViolations, SchemaCompileError, type SchemaCompiler, type SchemaValidator, type SchemaViolation } from "./schema-compiler.js";
import { callMetaFor, verbRequest, type VerbContext } from "./verb-context.js";
import { failedPrecondition } from "./verb-errors.js";
import { VERB_VARIABLES } from "./templates/verb-template-rules.js";
import { checkTemplate, renderVerbPrompt, templateFor } from "./verb-prompt.js";
import { createUsageMeter, type VerbUsage } from "./verb-usage.js";

/** An Extract request. */
export interface ExtractInput {
  text: string;
  /** JSON Schema (draft 2020-12) the result must validate against; its root describes an object. */
  jsonSchema: JsonObject;
  /** Extra instructions for the extractor. */
  instructions?: string;
}

/** An Extract result: always valid against the request's schema. */
export interface ExtractOutput {
  data: JsonObject;
  /** The same data as the JSON text the model produced (integers stay exact). */
  json: string;
  /** True when the first answer did not validate and the repair call fixed it. */
  repaired: boolean;
  usage: VerbUsage;
}

/** Dependencies of the Extract verb. */
export interface ExtractDeps {
  pipeline: ModelPipeline;
  /** Shared validator cache (default: one of 256 entries per verb instance). */
  compiler?: SchemaCompiler;
}

/** The Extract verb. */
export type ExtractVerb = (input: ExtractInput, ctx: VerbContext) => Promise<ExtractOutput>;

type Checked = { ok: true; data: JsonObject; json: string } | { ok: false; problems: string[] };

function compile(compiler: SchemaCompiler, schema: JsonObject): SchemaValidator {
  const type = schema["type"];
  if ((typeof type === "string" && type !== "object") || (Array.isArray(type) && !type.includes("object"))) {
    throw fieldViolation("json_schema", `the root must describe an object (type "object"), not ${JSON.stringify(type)}`, "extract.json_schema.object_root");
  }
  try {
    return compiler.compile(schema);
  } catch (err) {
    if (err instanceof SchemaCompileError) throw fieldViolation("json_schema", err.message, "extract.json_schema.compiles");
    throw err;
  }
}

function validate(validator: SchemaValidator, value: JsonValue): SchemaViolation[] {
  try {
    return validator.validate(value);
  } catch (err) {
    if (err instanceof SchemaCompileError) throw fieldViolation("json_schema", err.message, "extract.json_schema.compiles");
    throw err;
  }
}

/**
 * Numbers JSON text can write but a double cannot hold (`1e400` parses to Infinity): a schema
 * check passes them, yet `data` (a Struct) cannot carry them to a JSON caller, so they are
 * violations like any other. Pointers as Ajv writes them.
 */
function unrepresentableNumbers(value: JsonValue, path = ""): SchemaViolation[] {
  if (typeof value === "number") return Number.isFinite(value) ? [] : [{ instancePath: path, message: "must be a number a 64-bit float can hold" }];
  if (value === null || typeof value !== "object") return [];
  const entries: [string, JsonValue][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => unrepresentableNumbers(v, `${path}${pointer(k)}`));
}

function check(validator: SchemaValidator, reply: string): Checked {
  const parsed = parseJsonReply(reply);
  if (!parsed.ok) return { ok: false, problems: [parsed.error] };
  const violations: SchemaViolation[] = isJsonObject(parsed.value) ? [] : [{ instancePath: "", message: "must be a JSON object" }];
  violations.push(...unrepresentableNumbers(parsed.value));
  violations.push(...validate(validator, parsed.value));
  if (violations.length === 0 && isJsonObject(parsed.value)) return { ok: true, data: parsed.value, json: parsed.json };
  return { ok: false, problems: [formatViolations(violations)] };
}

/** Whether a reply validates (for the cache: a rejected reply is never stored); never throws. */
function usable(checkReply: (reply: string) => Checked, reply: string): boolean {
  try {
    return checkReply(reply).ok;
  } catch {
    return false;
  }
}

/**
 * Creates Extract. The caller's schema is compiled first (a bad schema is INVALID_ARGUMENT
 * naming the problem, before any model call). Targets with native structured output get it as
 * `responseFormat` json_schema (non-strict: caller schemas rarely meet strict mode's rules);
 * otherwise the schema is written into the prompt. The answer is parsed (code fences and prose
 * around the JSON tolerated) and validated; if it fails, one repair call shows the model its
 * reply and the validation errors; if that fails too, FAILED_PRECONDITION listing the errors.
 * Invalid data is never returned.
 */
export function createExtractVerb(deps: ExtractDeps): ExtractVerb {
  const compiler = deps.compiler ?? createSchemaCompiler();
  return async (input, ctx) => {
    const validator = compile(compiler, input.jsonSchema);
    const template = templateFor(ctx, "extract");
    checkTemplate(template, VERB_VARIABLES.extract.required);
    const native = ctx.capabilities.jsonSchema;
    const schemaText = JSON.stringify(input.jsonSchema, null, 2);
    const format = native
      ? "Reply with one JSON object that conforms to the response schema of this request, and nothing else."
      : `Reply with one JSON object that validates against this JSON Schema (draft 2020-12), and nothing else: no code fences, no explanations.\n${schemaText}`;
    const prompt = renderVerbPrompt(
      template,
      { text: input.text, instructions: input.instructions?.trim() || "None.", output_format: format, schema: schemaText },
      ["text"],
    );
    const meter = createUsageMeter();
    // The cache's acceptsAnswer and the verb check the same reply: validated once, so an answer's
    // pattern checks take their budget once (two answers at most a call).
    let last: { reply: string; checked: Checked } | undefined;
    const checkOnce = (reply: string): Checked => {
      if (last?.reply !== reply) last = { reply, checked: check(validator, reply) };
      return last.checked;
    };
    const call = async (messages: ModelMessage[]): Promise<string> => {
      const result = await meter.chat(
        deps.pipeline.chat({
          meta: { ...callMetaFor(ctx, "extract", template, prompt.userContentMessages), acceptsAnswer: (r) => usable(checkOnce, r.text) },
          request: verbRequest(ctx, messages, native ? { responseFormat: { type: "json_schema", name: "extraction", schema: input.jsonSchema, strict: false } } : {}),
        }),
      );
      return result.response.text;
    };

    // A failure after a call was sent (the repair's, or the contract's) reports every call billed.
    try {
      const first = await call(prompt.messages);
      const checked = checkOnce(first);
      if (checked.ok) return { data: checked.data, json: checked.json, repaired: false, usage: meter.total(template) };
      const feedback = `Your reply did not validate against the JSON Schema: ${checked.problems.join("; ")}.\nReply again with only the corrected JSON object: no code fences, no explanations. Keep the values that were right, fix exactly what these errors name, and take every value from the text.`;
      const repaired = checkOnce(await call(withRepairTurn(prompt.messages, first, feedback)));
      if (repaired.ok) return { data: repaired.data, json: repaired.json, repaired: true, usage: meter.total(template) };
      throw failedPrecondition(`the model's output does not validate against json_schema, also after one repair: ${repaired.problems.join("; ")}`);
    } catch (err) {
      throw meter.failure(err, ctx.route);
    }
  };
}
