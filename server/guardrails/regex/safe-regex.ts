import { pikeSearch } from "./pike-vm.js";
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
 * pathological pattern such as `(a+)+$` costs O(text × pattern) like any other.
 */
export function compileSafeRegex(source: string): SafeRegex {
  const program: RegexProgram = compileRegex(source);
  return {
    source,
    findAll(text) {
      const out: Array<{ start: number; end: number }> = [];
      let from = 0;
      while (from <= text.length && out.length < MAX_MATCHES) {
        const m = pikeSearch(program, text, from);
        if (m === undefined) break;
        if (m[1] > m[0]) out.push({ start: m[0], end: m[1] });
        from = m[1] > m[0] ? m[1] : m[1] + 1;
      }
      return out;
    },
  };
}
