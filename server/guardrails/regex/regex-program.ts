/**
 * Compiles a policy's regular expression (an RE2-compatible subset) into a program for the
 * Pike VM in `pike-vm.ts`, which matches in time linear in the text for every pattern — so no
 * pattern a tenant writes can stall a request (no catastrophic backtracking, P23).
 *
 * Supported: literals and escapes (`\n \t \r \. \\ \xHH \uHHHH`), `.`, classes `[a-z0-9_]` and
 * `[^…]` with `\d \w \s` inside, `\d \D \w \W \s \S`, anchors `^ $` (of the text) and `\b \B`,
 * groups `(…)` `(?:…)` `(?<name>…)` (no captures are reported), alternation, quantifiers
 * `* + ? {n} {n,} {n,m}` and their lazy forms, and a leading `(?i)` for case-insensitivity.
 * Refused with a `RegexError` naming the problem: backreferences, lookaround, `\p{…}`, counted
 * repetition over 1000, and programs over {@link MAX_INSTRUCTIONS} instructions (or the
 * caller's lower `maxInstructions`).
 *
 * A character class is tested by binary search over its merged ranges, so one test costs
 * O(log size) however the class is written: as a list of its parts, `[^` + 3000 characters + `]`
 * cost 3000 comparisons per test, and a 1800-instruction program of such classes took 3 s on 200
 * characters.
 */

/** A pattern the engine does not accept. */
export class RegexError extends Error {
  override readonly name = "RegexError";
  /**
   * @param kind `too_large`: the program is over the instruction limit (a count `{n,m}` repeats
   *   what it follows m times); `invalid`: anything else (syntax, unsupported features).
   */
  constructor(
    message: string,
    readonly kind: "invalid" | "too_large" = "invalid",
  ) {
    super(message);
  }
}

/** A zero-width assertion: start or end of the text, a word boundary (`\b`) or not one (`\B`). */
export type AssertKind = "bol" | "eol" | "word" | "notword";

/** One VM instruction. */
export type Instruction =
  | { op: "char"; test: (code: number) => boolean }
  | { op: "split"; x: number; y: number }
  | { op: "jmp"; x: number }
  | { op: "assert"; kind: AssertKind }
  | { op: "match" };

/** A compiled pattern. */
export interface RegexProgram {
  instructions: Instruction[];
  caseInsensitive: boolean;
}

/** Largest program accepted (bounds the per-character cost of matching). */
export const MAX_INSTRUCTIONS = 20_000;
const MAX_REPEAT = 1000;

type Node =
  | { t: "char"; test: (code: number) => boolean }
  | { t: "assert"; kind: AssertKind }
  | { t: "cat"; items: Node[] }
  | { t: "alt"; items: Node[] }
  | { t: "repeat"; node: Node; min: number; max: number; greedy: boolean };

/** The ranges of `\d \w \s` (flat `[lo, hi, …]`). */
const DIGIT_RANGES = [48, 57];
const WORD_RANGES = [48, 57, 65, 90, 95, 95, 97, 122];
const SPACE_RANGES = [9, 13, 32, 32, 0xa0, 0xa0, 0x2028, 0x2029, 0xfeff, 0xfeff];
/** Ranges over the UTF-16 code units (what `charCodeAt` returns) outside sorted, disjoint `ranges`. */
function complement(ranges: number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i]! > next) out.push(next, ranges[i]! - 1);
    next = ranges[i + 1]! + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}
const CLASS_RANGES: Record<string, number[]> = {
  d: DIGIT_RANGES,
  D: complement(DIGIT_RANGES),
  w: WORD_RANGES,
  W: complement(WORD_RANGES),
  s: SPACE_RANGES,
  S: complement(SPACE_RANGES),
};

/** The test of a class of `ranges` (flat `[lo, hi, …]`, any order, may overlap): binary search over them merged. */
function classTest(ranges: number[], negate: boolean): (code: number) => boolean {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [lo, hi] of pairs) {
    const top = merged[merged.length - 1];
    if (top !== undefined && lo <= top[1] + 1) top[1] = Math.max(top[1], hi);
    else merged.push([lo, hi]);
  }
  const los = Int32Array.from(merged, (r) => r[0]);
  const his = Int32Array.from(merged, (r) => r[1]);
  return (c) => {
    // The last range starting at or before c.
    let lo = 0;
    let hi = los.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (los[mid]! <= c) lo = mid + 1;
      else hi = mid - 1;
    }
    return (hi >= 0 && c <= his[hi]!) !== negate;
  };
}

/** Whether UTF-16 code unit `c` is a word character of `\w` and `\b` (ASCII letters, digits, `_`). */
export const isWordCode = classTest(WORD_RANGES, false);
const isSpaceCode = (c: number) => c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x2028 || c === 0x2029 || c === 0xfeff;
/**
 * The tests of `\d \D \w \W \s \S` outside a class: those of their ranges, but for `\s \S`, whose
 * five ranges a binary search tested ~20% slower than these comparisons (`SPACE_RANGES`, the same set).
 */
const CLASS_TESTS: Record<string, (code: number) => boolean> = {
  d: classTest(DIGIT_RANGES, false),
  D: classTest(DIGIT_RANGES, true),
  w: isWordCode,
  W: classTest(WORD_RANGES, true),
  s: isSpaceCode,
  S: (c) => !isSpaceCode(c),
};

/** Parses and compiles `source` into at most `maxInstructions` instructions; throws {@link RegexError}. */
export function compileRegex(source: string, maxInstructions = MAX_INSTRUCTIONS): RegexProgram {
  let caseInsensitive = false;
  let pos = 0;
  if (source.startsWith("(?i)")) {
    caseInsensitive = true;
    pos = 4;
  }
  const fold = (c: number) => (caseInsensitive && c >= 65 && c <= 90 ? c + 32 : c);
  const fail = (message: string): never => {
    throw new RegexError(`${message} at offset ${pos}`);
  };
  const peek = () => source[pos];

  const escapedCode = (ch: string): number => {
    if (/[1-9]/.test(ch)) fail("backreferences are not supported");
    if (ch === "p" || ch === "P") fail("\\p{…} classes are not supported");
    if (ch === "k") fail("named backreferences are not supported");
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11, "0": 0 };
    if (simple[ch] !== undefined) return simple[ch];
    if (ch === "x" || ch === "u") {
      const len = ch === "x" ? 2 : 4;
      const hex = source.slice(pos, pos + len);
      if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) fail(`\\${ch} needs ${len} hex digits`);
      pos += len;
      return parseInt(hex, 16);
    }
    if (/[A-Za-z]/.test(ch)) fail(`unknown escape \\${ch}`);
    return ch.charCodeAt(0);
  };
  const literal = (code: number): Node => {
    const want = fold(code);
    return { t: "char", test: (c) => fold(c) === want };
  };

  const parseClass = (): Node => {
    pos++; // [
    const negate = peek() === "^";
    if (negate) pos++;
    const ranges: number[] = [];
    let first = true;
    while (pos < source.length && (peek() !== "]" || first)) {
      first = false;
      let lo: number;
      let ch = source[pos++]!;
      if (ch === "\\") {
        ch = source[pos++] ?? fail("dangling escape");
        const cls = CLASS_RANGES[ch];
        if (cls !== undefined) {
          ranges.push(...cls);
          continue;
        }
        lo = escapedCode(ch);
      } else {
        lo = ch.charCodeAt(0);
      }
      let hi = lo;
      if (peek() === "-" && source[pos + 1] !== "]" && pos + 1 < source.length) {
        pos++;
        let h = source[pos++]!;
        if (h === "\\") {
          h = source[pos++] ?? fail("dangling escape");
          hi = escapedCode(h);
        } else {
          hi = h.charCodeAt(0);
        }
        if (hi < lo) fail("class range out of order");
      }
      ranges.push(lo, hi);
      if (caseInsensitive) {
        // Also the letters whose other case is in [lo, hi] (ASCII only, as `fold`).
        if (lo <= 122 && hi >= 97) ranges.push(Math.max(lo, 97) - 32, Math.min(hi, 122) - 32);
        if (lo <= 90 && hi >= 65) ranges.push(Math.max(lo, 65) + 32, Math.min(hi, 90) + 32);
      }
    }
    if (peek() !== "]") fail("unterminated character class");
    pos++;
    return { t: "char", test: classTest(ranges, negate) };
  };

  const parseAtom = (): Node => {
    const ch = peek()!;
    if (ch === "(") {
      pos++;
      if (source.startsWith("?:", pos)) pos += 2;
      else if (source.startsWith("?<", pos) && !source.startsWith("?<=", pos) && !source.startsWith("?<!", pos)) {
        const close = source.indexOf(">", pos);
        if (close === -1) fail("unterminated group name");
        pos = close + 1;
      } else if (peek() === "?") fail("lookaround and inline flags inside the pattern are not supported");
      const inner = parseAlt();
      if (peek() !== ")") fail("missing )");
      pos++;
      return inner;
    }
    if (ch === "[") return parseClass();
    pos++;
    if (ch === ".") return { t: "char", test: (c) => c !== 10 && c !== 13 };
    if (ch === "^") return { t: "assert", kind: "bol" };
    if (ch === "$") return { t: "assert", kind: "eol" };
    if (ch === "\\") {
      const e = source[pos++] ?? fail("dangling escape");
      if (e === "b") return { t: "assert", kind: "word" };
      if (e === "B") return { t: "assert", kind: "notword" };
      const cls = CLASS_TESTS[e];
      if (cls !== undefined) return { t: "char", test: cls };
      return literal(escapedCode(e));
    }
    if (ch === ")" || ch === "*" || ch === "+" || ch === "?" || ch === "{") fail(`unexpected "${ch}"`);
    return literal(ch.charCodeAt(0));
  };

  const parseRepeat = (): Node => {
    let node = parseAtom();
    for (;;) {
      const ch = peek();
      let min: number;
      let max: number;
      if (ch === "*") [min, max] = [0, Infinity];
      else if (ch === "+") [min, max] = [1, Infinity];
      else if (ch === "?") [min, max] = [0, 1];
      else if (ch === "{" && /^\{\d+(,\d*)?\}/.test(source.slice(pos))) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(pos))!;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) fail(`repetition over ${MAX_REPEAT}`);
        if (max < min) fail("repetition {n,m} with m < n");
        pos += m[0].length - 1;
      } else return node;
      pos++;
      let greedy = true;
      if (peek() === "?") {
        greedy = false;
        pos++;
      } else if (peek() === "+") fail("possessive quantifiers are not supported");
      node = { t: "repeat", node, min, max, greedy };
    }
  };

  const parseCat = (): Node => {
    const items: Node[] = [];
    while (pos < source.length && peek() !== "|" && peek() !== ")") items.push(parseRepeat());
    return { t: "cat", items };
  };

  function parseAlt(): Node {
    const items = [parseCat()];
    while (peek() === "|") {
      pos++;
      items.push(parseCat());
    }
    return items.length === 1 ? items[0]! : { t: "alt", items };
  }

  const tree = parseAlt();
  if (pos < source.length) fail(`unexpected "${peek()}"`);
  const instructions: Instruction[] = [];
  const emit = (i: Instruction) => {
    if (instructions.length >= maxInstructions) throw new RegexError(`pattern too large (over ${maxInstructions} instructions)`, "too_large");
    instructions.push(i);
    return instructions.length - 1;
  };
  const compile = (node: Node): void => {
    switch (node.t) {
      case "char":
        emit({ op: "char", test: node.test });
        return;
      case "assert":
        emit({ op: "assert", kind: node.kind });
        return;
      case "cat":
        node.items.forEach(compile);
        return;
      case "alt": {
        const jumps: number[] = [];
        node.items.forEach((item, i) => {
          if (i < node.items.length - 1) {
            const split = emit({ op: "split", x: 0, y: 0 });
            (instructions[split] as { x: number }).x = split + 1;
            compile(item);
            jumps.push(emit({ op: "jmp", x: 0 }));
            (instructions[split] as { y: number }).y = instructions.length;
          } else {
            compile(item);
          }
        });
        for (const j of jumps) (instructions[j] as { x: number }).x = instructions.length;
        return;
      }
      case "repeat": {
        for (let i = 0; i < node.min; i++) compile(node.node);
        if (node.max === Infinity) {
          const split = emit({ op: "split", x: 0, y: 0 });
          compile(node.node);
          emit({ op: "jmp", x: split });
          setSplit(split, split + 1, instructions.length, node.greedy);
          return;
        }
        const splits: number[] = [];
        for (let i = node.min; i < node.max; i++) {
          splits.push(emit({ op: "split", x: 0, y: 0 }));
          compile(node.node);
        }
        for (const s of splits) setSplit(s, s + 1, instructions.length, node.greedy);
        return;
      }
    }
  };
  const setSplit = (at: number, body: number, exit: number, greedy: boolean) => {
    instructions[at] = greedy ? { op: "split", x: body, y: exit } : { op: "split", x: exit, y: body };
  };
  compile(tree);
  emit({ op: "match" });
  return { instructions, caseInsensitive };
}
