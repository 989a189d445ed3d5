import type { RegexProgram } from "./regex-program.js";

const isWord = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/**
 * The leftmost-first match of `program` in `text` at or after `from`, as `[start, end)`, or
 * undefined. A Pike VM (Thompson NFA simulation with thread priorities, as in RE2): every
 * position of the text is visited once with at most one thread per instruction, so the cost is
 * O(text × program) whatever the pattern — there is no backtracking to blow up.
 */
export function pikeSearch(program: RegexProgram, text: string, from = 0): [number, number] | undefined {
  const code = program.instructions;
  const n = code.length;
  // Thread lists as typed arrays (pc and start per slot): at most one thread per instruction per
  // step, so `n` slots each; no allocation per character keeps the constant factor low.
  let curPc = new Int32Array(n);
  let curStart = new Int32Array(n);
  let curLen = 0;
  let nextPc = new Int32Array(n);
  let nextStart = new Int32Array(n);
  let nextLen = 0;
  // Each instruction is expanded once per step and pushes at most two successors.
  const stack = new Int32Array(2 * n + 2);
  const seen = new Int32Array(n).fill(-1);
  let generation = 0;
  let match: [number, number] | undefined;

  /** Follows jumps, splits and assertions from `pc` at `at`, adding the char/match threads it reaches to the next list. */
  const add = (pc: number, start: number, at: number): void => {
    let top = 0;
    stack[top++] = pc;
    while (top > 0) {
      const p = stack[--top]!;
      if (seen[p] === generation) continue;
      seen[p] = generation;
      const ins = code[p]!;
      switch (ins.op) {
        case "jmp":
          stack[top++] = ins.x;
          break;
        case "split":
          // Push the lower-priority branch first so the preferred one is explored first.
          stack[top++] = ins.y;
          stack[top++] = ins.x;
          break;
        case "assert": {
          const before = at > 0 ? text.charCodeAt(at - 1) : -1;
          const after = at < text.length ? text.charCodeAt(at) : -1;
          const boundary = (before !== -1 && isWord(before)) !== (after !== -1 && isWord(after));
          const ok = ins.kind === "bol" ? at === 0 : ins.kind === "eol" ? at === text.length : ins.kind === "word" ? boundary : !boundary;
          if (ok) stack[top++] = p + 1;
          break;
        }
        default:
          nextPc[nextLen] = p;
          nextStart[nextLen++] = start;
      }
    }
  };

  for (let at = from; at <= text.length; at++) {
    if (match === undefined) {
      generation++;
      // A new thread starting here has the lowest priority: add it after the running ones.
      for (let i = 0; i < curLen; i++) seen[curPc[i]!] = generation;
      nextLen = 0;
      add(0, at, at);
      for (let i = 0; i < nextLen; i++) {
        curPc[curLen] = nextPc[i]!;
        curStart[curLen++] = nextStart[i]!;
      }
    }
    if (curLen === 0) {
      if (match !== undefined) break;
      continue;
    }
    generation++;
    nextLen = 0;
    const c = at < text.length ? text.charCodeAt(at) : -1;
    for (let i = 0; i < curLen; i++) {
      const ins = code[curPc[i]!]!;
      if (ins.op === "match") {
        match = [curStart[i]!, at];
        break; // lower-priority threads are cut
      }
      if (ins.op === "char" && c !== -1 && ins.test(c)) add(curPc[i]! + 1, curStart[i]!, at + 1);
    }
    [curPc, nextPc] = [nextPc, curPc];
    [curStart, nextStart] = [nextStart, curStart];
    curLen = nextLen;
  }
  return match;
}
