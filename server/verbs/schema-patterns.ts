import type { RegExpEngine } from "ajv/dist/types/index.js";
import { MatchBudgetError, pikeSearch, type MatchBudget } from "../guardrails/regex/pike-vm.js";
import { compileRegex, RegexError, type RegexProgram } from "../guardrails/regex/regex-program.js";
import type { JsonObject, JsonValue } from "../providers/model.js";
import { pointer } from "./json-pointer.js";

/**
 * Largest program a caller's `pattern` may compile to. Matching is linear in the text but times
 * the threads alive, up to the program's size, and a 20-character pattern such as
 * `(?:.{0,1000}){9}x` compiles to 18 000 instructions (the guardrails' cap, for the operator's
 * regexes): 6–9 s on a 20 000-character string. Real schema patterns are far smaller — a date 13,
 * a UUID 39, an e-mail address 18 (the WHATWG one 261), a semver 76, `^.{1,400}$` 802.
 */
export const MAX_PATTERN_INSTRUCTIONS = 1_000;

/**
 * Steps of the matcher (see `pikeSearch`) one validation's pattern checks may take together: a
 * worst-case pattern spends them in 5–12 ms warm (20–50 ns a step), 16–46 ms in the process's
 * first validations, before the JIT has compiled the matcher (measured on an idle core of a 2-core
 * machine; a loaded one takes several times that), and Extract checks at most two answers a call.
 * Real patterns take 2–7 steps a character, so ~50 000 checked characters an answer. Without it, patterns of the allowed
 * size over many or long strings still add up to seconds.
 */
export const PATTERN_STEPS_PER_VALIDATION = 250_000;

/** A validation's pattern checks went past {@link PATTERN_STEPS_PER_VALIDATION}: the value is not known to match. */
export class PatternCostError extends Error {
  override readonly name = "PatternCostError";
  constructor(pattern: string, length: number) {
    const shown = pattern.length > 60 ? `${pattern.slice(0, 59)}…` : pattern;
    super(
      `too costly to check against the schema's patterns: pattern "${shown}" on a string of ${length} characters went past the ${PATTERN_STEPS_PER_VALIDATION} steps of the matcher one answer's checks may take (shorter strings or simpler patterns pass)`,
    );
  }
}

function compilePattern(source: string): RegexProgram {
  try {
    return compileRegex(source, MAX_PATTERN_INSTRUCTIONS);
  } catch (err) {
    if (err instanceof RegexError && err.kind === "too_large") {
      throw new RegexError(`${err.message}: a count {n,m} repeats what it follows m times (lengths are minLength and maxLength)`, err.kind);
    }
    throw err;
  }
}

/** A schema compiler's pattern matching: Ajv's `code.regExp`, and the budget its checks share. */
export interface SchemaPatterns {
  /**
   * Ajv's `code.regExp`: `pattern`, `patternProperties` and `propertyNames` patterns are the
   * caller's, run on the model's output: matched by the guardrails' linear-time engine (the
   * RE2-compatible subset it names), so a pattern such as `^(a+)+$` cannot stall the event loop of
   * every tenant (P23), within {@link MAX_PATTERN_INSTRUCTIONS} and the budget of
   * {@link SchemaPatterns.withBudget}. One outside the subset (lookaround, backreferences, `\p{…}`)
   * or over the size is a schema that cannot be compiled ({@link schemaPatternProblem} names where
   * first).
   */
  readonly regExp: RegExpEngine;
  /** Runs one validation with a fresh pattern budget; a pattern check past it throws {@link PatternCostError}. */
  withBudget<T>(validate: () => T): T;
}

/**
 * Creates the pattern matching of one schema compiler (its Ajv instances take its `regExp`). The
 * budget is the validation running's: validation is synchronous, so one runs at a time.
 */
export function createSchemaPatterns(): SchemaPatterns {
  let budget: MatchBudget = { steps: PATTERN_STEPS_PER_VALIDATION };
  const regExp = Object.assign(
    (pattern: string) => {
      let program: RegexProgram;
      try {
        program = compilePattern(pattern);
      } catch (err) {
        throw err instanceof RegexError ? new RegexError(`pattern "${pattern}": ${err.message}`, err.kind) : err;
      }
      return {
        test: (text: string) => {
          try {
            return pikeSearch(program, text, 0, budget) !== undefined;
          } catch (err) {
            // Thrown through Ajv's validator: "does not match" would pass a `not` or skip a
            // `patternProperties` subschema, so the whole value is refused instead.
            if (err instanceof MatchBudgetError) throw new PatternCostError(pattern, text.length);
            throw err;
          }
        },
        toString: () => `/${pattern}/`,
      };
    },
    { code: "linearRegExp" },
  );
  return {
    regExp,
    withBudget(validate) {
      budget = { steps: PATTERN_STEPS_PER_VALIDATION };
      return validate();
    },
  };
}

/** Keywords whose value is a schema, an array of schemas, or an object of schemas (draft 2020-12 and the older ones Ajv reads). */
const ONE = ["additionalProperties", "additionalItems", "contains", "not", "if", "then", "else", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "items"];
const LIST = ["allOf", "anyOf", "oneOf", "prefixItems", "items"];
const MAP = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"];

const isObject = (v: JsonValue | undefined): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * The first pattern of `schema` the engine refuses, as `/path/in/schema: problem`, or undefined.
 * Found by walking the schema's subschemas before Ajv compiles it (Ajv hands its `code.regExp`
 * the pattern alone), so the refusal names where the pattern is, as the meta-schema's do.
 */
export function schemaPatternProblem(schema: JsonValue | undefined, path = ""): string | undefined {
  if (!isObject(schema)) return undefined;
  const check = (source: string, at: string): string | undefined => {
    try {
      compilePattern(source);
      return undefined;
    } catch (err) {
      if (err instanceof RegexError) return `${at}: ${err.message}`;
      // The parser recurses once per group: thousands of nested `(` overflow the stack.
      if (err instanceof RangeError) return `${at}: groups nested too deeply`;
      throw err;
    }
  };
  const pattern = schema["pattern"];
  if (typeof pattern === "string") {
    const problem = check(pattern, `${path}/pattern`);
    if (problem !== undefined) return problem;
  }
  const patternProperties = schema["patternProperties"];
  if (isObject(patternProperties)) {
    for (const key of Object.keys(patternProperties)) {
      const problem = check(key, `${path}/patternProperties${pointer(key)}`);
      if (problem !== undefined) return problem;
    }
  }
  for (const keyword of ONE) {
    const problem = schemaPatternProblem(schema[keyword], `${path}${pointer(keyword)}`);
    if (problem !== undefined) return problem;
  }
  for (const keyword of LIST) {
    const list = schema[keyword];
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i++) {
      const problem = schemaPatternProblem(list[i], `${path}${pointer(keyword)}/${i}`);
      if (problem !== undefined) return problem;
    }
  }
  for (const keyword of MAP) {
    const map = schema[keyword];
    if (!isObject(map)) continue;
    for (const key of Object.keys(map)) {
      const problem = schemaPatternProblem(map[key], `${path}${pointer(keyword)}${pointer(key)}`);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}
