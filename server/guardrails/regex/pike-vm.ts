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
  let current: Array<{ pc: number; start: number }> = [];
  let next: Array<{ pc: number; start: number }> = [];
  const seen = new Int32Array(n).fill(-1);
  let generation = 0;
  let match: [number, number] | undefined;

  /** Follows jumps, splits and assertions from `pc` at `at`, adding the char/match threads it reaches. */
  const add = (list: Array<{ pc: number; start: number }>, pc: number, start: number, at: number): void => {
    const stack: number[] = [pc];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (seen[p] === generation) continue;
      seen[p] = generation;
      const ins = code[p]!;
      switch (ins.op) {
        case "jmp":
          stack.push(ins.x);
          break;
        case "split":
          // Push the lower-priority branch first so the preferred one is explored first.
          stack.push(ins.y, ins.x);
          break;
        case "assert": {
          const before = at > 0 ? text.charCodeAt(at - 1) : -1;
          const after = at < text.length ? text.charCodeAt(at) : -1;
          const boundary = (before !== -1 && isWord(before)) !== (after !== -1 && isWord(after));
          const ok = ins.kind === "bol" ? at === 0 : ins.kind === "eol" ? at === text.length : ins.kind === "word" ? boundary : !boundary;
          if (ok) stack.push(p + 1);
          break;
        }
        default:
          list.push({ pc: p, start });
      }
    }
  };

  for (let at = from; at <= text.length; at++) {
    if (match === undefined) {
      generation++;
      // A new thread starting here has the lowest priority: add it after the running ones.
      for (const t of current) seen[t.pc] = generation;
      const fresh: Array<{ pc: number; start: number }> = [];
      add(fresh, 0, at, at);
      for (const t of fresh) current.push(t);
    }
    if (current.length === 0) {
      if (match !== undefined) break;
      continue;
    }
    generation++;
    next = [];
    const c = at < text.length ? text.charCodeAt(at) : -1;
    for (const thread of current) {
      const ins = code[thread.pc]!;
      if (ins.op === "match") {
        match = [thread.start, at];
        break; // lower-priority threads are cut
      }
      if (ins.op === "char" && c !== -1 && ins.test(c)) add(next, thread.pc + 1, thread.start, at + 1);
    }
    current = next;
  }
  return match;
}
