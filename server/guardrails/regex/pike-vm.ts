import { isWordCode, type AssertKind, type RegexProgram } from "./regex-program.js";

/** Whether the zero-width assertion `kind` holds at position `at` of `text` (`^ $` of the text, `\b \B`). */
function assertHolds(kind: AssertKind, text: string, at: number): boolean {
  if (kind === "bol") return at === 0;
  if (kind === "eol") return at === text.length;
  const boundary = (at > 0 && isWordCode(text.charCodeAt(at - 1))) !== (at < text.length && isWordCode(text.charCodeAt(at)));
  return kind === "word" ? boundary : !boundary;
}

/** Steps of the VM the searches given it may still take together (see {@link pikeSearch}). */
export interface MatchBudget {
  steps: number;
}

/** A search stopped because its {@link MatchBudget} ran out: it neither matched nor failed to. */
export class MatchBudgetError extends Error {
  override readonly name = "MatchBudgetError";
}

/** The work arrays of a search of a program of up to `size` instructions. */
function workArrays(size: number) {
  return {
    size,
    curPc: new Int32Array(size),
    curStart: new Int32Array(size),
    nextPc: new Int32Array(size),
    nextStart: new Int32Array(size),
    // Each instruction is expanded once per step and pushes at most two successors.
    stack: new Int32Array(2 * size + 2),
    seen: new Int32Array(size),
  };
}

/**
 * {@link pikeSearch}'s arrays, kept from one search to the next (grown to the largest program):
 * allocating them took longer than a short text's whole search (~8 µs), which many short checks
 * (a schema pattern on each string of an answer) add up. Searches never overlap: nothing a search
 * calls can start another.
 */
let scratch = workArrays(64);

/** What a search costs before its first step, in steps (it takes ~1 µs, a step ~30 ns), plus one per instruction. */
const SEARCH_STEPS = 32;

/**
 * The leftmost-first match of `program` in `text` at or after `from`, as `[start, end)`, or
 * undefined. A Pike VM (Thompson NFA simulation with thread priorities, as in RE2): every
 * position of the text is visited once with at most one thread per instruction, so the cost is
 * O(text × program) whatever the pattern — there is no backtracking to blow up.
 *
 * Linear in the text, but times the threads alive, up to the program's size: a caller bounds the
 * product with `budget`. A step is one instruction reached at one position (each costs O(1),
 * classes O(log size)), and a search's setup costs 32 steps and one per instruction; it takes its
 * steps from `budget` and throws {@link MatchBudgetError} once they exceed it (checked at each
 * position, so by at most two steps per instruction).
 */
export function pikeSearch(program: RegexProgram, text: string, from = 0, budget?: MatchBudget): [number, number] | undefined {
  const code = program.instructions;
  const n = code.length;
  const setup = SEARCH_STEPS + n;
  const limit = budget === undefined ? Infinity : budget.steps - setup;
  let steps = 0;
  const spend = () => {
    if (budget !== undefined) budget.steps -= setup + steps;
  };
  if (limit < 0) {
    spend();
    throw new MatchBudgetError("the match budget ran out");
  }
  // Thread lists as typed arrays (pc and start per slot): at most one thread per instruction per
  // step, so `n` slots each; no allocation per character keeps the constant factor low.
  if (scratch.size < n) scratch = workArrays(Math.max(n, 2 * scratch.size));
  let { curPc, curStart, nextPc, nextStart } = scratch;
  const { stack, seen } = scratch;
  seen.fill(-1, 0, n);
  let curLen = 0;
  let nextLen = 0;
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
      steps++;
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
        case "assert":
          if (assertHolds(ins.kind, text, at)) stack[top++] = p + 1;
          break;
        default:
          nextPc[nextLen] = p;
          nextStart[nextLen++] = start;
      }
    }
  };

  for (let at = from; at <= text.length; at++) {
    if (steps > limit) {
      spend();
      throw new MatchBudgetError("the match budget ran out");
    }
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
  spend();
  return match;
}

/**
 * {@link pikeSearchAll}'s work arrays for a program of up to `size` instructions. Allocating them
 * took as long as a short text's whole search, so a caller that searches with one program many
 * times (a guardrail rule, once per window of a stream) makes them once and passes them to each.
 * Two searches must not use the same arrays at once; none can by itself: a search is synchronous
 * and calls nothing that could start another (class tests are the compiler's pure functions).
 */
export interface SearchAllWork {
  readonly size: number;
  /** Thread lists: state and start per slot, at most one thread per instruction. */
  curPc: Int32Array;
  curStart: Int32Array;
  nextPc: Int32Array;
  nextStart: Int32Array;
  /**
   * The states of a search's new start, before they join a list (the last search's, each step; the
   * next search's, in the middle of the step that gave its predecessor a match).
   */
  herePc: Int32Array;
  stack: Int32Array;
  seen: Int32Array;
  seenHere: Int32Array;
}

/** New work arrays for {@link pikeSearchAll} with `program`. */
export function searchAllWork(program: RegexProgram): SearchAllWork {
  const size = program.instructions.length;
  return {
    size,
    curPc: new Int32Array(size),
    curStart: new Int32Array(size),
    nextPc: new Int32Array(size),
    nextStart: new Int32Array(size),
    herePc: new Int32Array(size),
    stack: new Int32Array(2 * size + 2),
    seen: new Int32Array(size),
    seenHere: new Int32Array(size),
  };
}

/** One search in {@link pikeSearchAll}: the leftmost-first match at or after `from`. */
interface Tier {
  from: number;
  /** The match so far, `[start, end)`, once one is seen; `end` is -1 before. */
  start: number;
  end: number;
  /** It has a match no thread can extend any more. */
  done: boolean;
  /** Dropped: a search above it extended its match (it restarts below), or it ended empty. */
  gone: boolean;
  /** The last step whose next thread list holds one of its threads. */
  step: number;
  prev: Tier | undefined;
  next: Tier | undefined;
}

/**
 * The matches that searching with {@link pikeSearch} from 0, then from each match's end (one past
 * an empty match), would find — non-empty ones only, at most `max` — in one pass over `text`.
 *
 * Searching afresh after each match costs O(matches × text × program): a match is final only
 * once every higher-priority thread has died, which may be at the text's end (`a(.*b)?` on
 * "aaa…"), and the next search rescanned that tail. Here the next search (a lower "tier") starts
 * the moment its predecessor has a match, and runs in the same thread list after it: at most one
 * thread per instruction per character for all of them together, O(text × program) in all. A
 * thread of a search dropped for a state a higher tier's thread holds loses nothing — the same
 * state has the same future: it dies (and would have), or it reaches a match, which extends that
 * tier's match and restarts every tier below it from the new end. Tiers live in a list: at most
 * one per thread, plus `max` finished ones waiting for those above them.
 *
 * `options.from`: where the first search starts (default 0); from the start of the first match,
 * it finds what searching from 0 does, without the work before it. `options.work`: made for
 * `program` by {@link searchAllWork} (by default, for this search alone).
 */
export function pikeSearchAll(
  program: RegexProgram,
  text: string,
  max: number,
  options: { from?: number; work?: SearchAllWork } = {},
): Array<{ start: number; end: number }> {
  const code = program.instructions;
  const n = code.length;
  const from = options.from ?? 0;
  const work = options.work ?? searchAllWork(program);
  if (work.size < n) throw new RangeError(`work arrays for ${work.size} instructions, not ${n}`);
  let { curPc, curStart, nextPc, nextStart } = work;
  // Made per search, unlike the numbers: they hold its tiers, which must not outlive it.
  let curTier: Tier[] = new Array<Tier>(n);
  let nextTier: Tier[] = new Array<Tier>(n);
  const { herePc, stack, seen, seenHere } = work;
  seen.fill(-1, 0, n);
  seenHere.fill(-1, 0, n);
  let curLen = 0;
  let nextLen = 0;
  let hereLen = 0;
  let generation = 0;
  const out: Array<{ start: number; end: number }> = [];

  const tier = (from: number): Tier => ({ from, start: -1, end: -1, done: false, gone: false, step: -1, prev: undefined, next: undefined });
  let head = tier(from);
  let last = head;
  /** Tiers in the list with a non-empty match: with `out`, what may still be reported. */
  let pending = 0;
  /** Tiers with a thread in the current list, and in the next one (made at `step`): at most one per thread. */
  let owners: Tier[] = [];
  let ownersLen = 0;
  let nextOwners: Tier[] = [];
  let nextOwnersLen = 0;
  let step = 0;
  /** The tier the next list's last thread is of (most threads follow one of the same tier). */
  let lastOwner: Tier | undefined;

  const unlink = (t: Tier): void => {
    t.gone = true;
    if (t.end > t.start) pending--;
    if (t.prev === undefined) head = t.next!;
    else t.prev.next = t.next;
    if (t.next === undefined) last = t.prev!;
    else t.next.prev = t.prev;
  };
  /** Records `t`'s match `[start, at)`, drops every tier below it and starts the next at its end. */
  const matched = (t: Tier, start: number, at: number): Tier => {
    for (let below = t.next; below !== undefined; below = below.next) {
      below.gone = true;
      if (below.end > below.start) pending--;
    }
    if (t.end > t.start) pending--;
    t.start = start;
    t.end = at;
    if (at > start) pending++;
    const started = tier(at > start ? at : at + 1);
    t.next = started;
    started.prev = t;
    last = started;
    // Looked at after the step: its threads may all be gone.
    owners[ownersLen++] = t;
    return started;
  };

  /** Adds the char and match states of the closure of `pc` at `at`, unseen in `marks` at `gen`, to the next list (or, `here`, to `herePc`). */
  const closure = (pc: number, at: number, marks: Int32Array, gen: number, start: number, owner: Tier, here: boolean): void => {
    let top = 0;
    stack[top++] = pc;
    while (top > 0) {
      const p = stack[--top]!;
      if (marks[p] === gen) continue;
      marks[p] = gen;
      const ins = code[p]!;
      switch (ins.op) {
        case "jmp":
          stack[top++] = ins.x;
          break;
        case "split":
          stack[top++] = ins.y;
          stack[top++] = ins.x;
          break;
        case "assert":
          if (assertHolds(ins.kind, text, at)) stack[top++] = p + 1;
          break;
        default:
          if (here) herePc[hereLen++] = p;
          else {
            nextPc[nextLen] = p;
            nextStart[nextLen] = start;
            nextTier[nextLen++] = owner;
            if (owner !== lastOwner && owner.step !== step) {
              lastOwner = owner;
              owner.step = step;
              nextOwners[nextOwnersLen++] = owner;
            }
          }
      }
    }
  };

  for (let at = from; at <= text.length && out.length < max; at++) {
    if (last.end === -1 && at >= last.from && out.length + pending < max) {
      // A new thread of the last search starting here has the lowest priority: after the running ones.
      generation++;
      for (let i = 0; i < curLen; i++) seen[curPc[i]!] = generation;
      hereLen = 0;
      closure(0, at, seen, generation, at, last, true);
      for (let i = 0; i < hereLen; i++) {
        curPc[curLen] = herePc[i]!;
        curStart[curLen] = at;
        curTier[curLen++] = last;
      }
      if (hereLen > 0) owners[ownersLen++] = last;
    }
    step++;
    nextOwnersLen = 0;
    lastOwner = undefined;
    generation++;
    nextLen = 0;
    const c = at < text.length ? text.charCodeAt(at) : -1;
    for (let i = 0; i < curLen; i++) {
      const owner = curTier[i]!;
      const ins = code[curPc[i]!]!;
      if (ins.op === "match") {
        // Its search's lower-priority threads are cut and every tier below restarts: all that
        // follows in the list. After a non-empty match the next search starts here, now.
        const started = matched(owner, curStart[i]!, at);
        if (started.from === at && out.length + pending < max) {
          // Its states here, less those the threads that went on from here hold (same future).
          const stepGen = generation;
          const gen = ++generation;
          for (let j = 0; j < i; j++) seenHere[curPc[j]!] = gen;
          hereLen = 0;
          closure(0, at, seenHere, gen, at, started, true);
          for (let k = 0; k < hereLen; k++) {
            const p = herePc[k]!;
            const here = code[p]!;
            if (here.op === "match") {
              // An empty match here: the search after it starts at the next character.
              matched(started, at, at);
              break;
            }
            if (here.op === "char" && c !== -1 && here.test(c)) closure(p + 1, at + 1, seen, stepGen, at, started, false);
          }
        }
        break;
      }
      if (ins.op === "char" && c !== -1 && ins.test(c)) closure(curPc[i]! + 1, at + 1, seen, generation, curStart[i]!, owner, false);
    }
    const pcs = curPc;
    curPc = nextPc;
    nextPc = pcs;
    const starts = curStart;
    curStart = nextStart;
    nextStart = starts;
    const tiers = curTier;
    curTier = nextTier;
    nextTier = tiers;
    curLen = nextLen;
    // A tier with a match and no thread left is done: reported once every tier above it is, or
    // dropped at once when its match is empty (it reports nothing and changes nothing).
    for (let i = 0; i < ownersLen; i++) {
      const t = owners[i]!;
      if (t.gone || t.done || t.end === -1 || t.step === step) continue;
      if (t.end > t.start) t.done = true;
      else unlink(t);
    }
    const checked = owners;
    owners = nextOwners;
    ownersLen = nextOwnersLen;
    nextOwners = checked;
    while (head.done) {
      out.push({ start: head.start, end: head.end });
      unlink(head);
    }
  }
  for (let t: Tier | undefined = head; t !== undefined && t.end !== -1 && out.length < max; t = t.next) {
    if (t.end > t.start) out.push({ start: t.start, end: t.end });
  }
  return out;
}
