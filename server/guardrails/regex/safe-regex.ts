import { pikeSearchAll } from "./pike-vm.js";
import { compileRegex, type RegexProgram } from "./regex-program.js";

export { RegexError } from "./regex-program.js";

/** Most matches one text reports (bounds the work of a pattern that matches everywhere). */
const MAX_MATCHES = 1000;

/** A tenant's regular expression, compiled for linear-time matching. */
export interface SafeRegex {
  /** Non-overlapping leftmost-first matches, at most 1000. */
  findAll(text: string): Array<{ start: number; end: number }>;
  readonly source: string;
}

/**
 * Compiles a guardrail regex rule for the linear-time engine (`regex-program.ts` lists the
 * syntax). Throws `RegexError` for a pattern outside the supported subset, so a bad rule is
 * refused when the policy is saved, never at request time. Matching never backtracks: a
 * pathological pattern such as `(a+)+$` costs O(text × pattern) like any other, and so do all
 * of a text's matches together (`pikeSearchAll`).
 */
export function compileSafeRegex(source: string): SafeRegex {
  const program: RegexProgram = compileRegex(source);
  return {
    source,
    findAll(text) {
      return pikeSearchAll(program, text, MAX_MATCHES);
    },
  };
}
