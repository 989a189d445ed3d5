/**
 * Pairs one operation's ledger rows with the upstream requests a fake read for it, when nothing
 * names which request a row is for: no attempt number, request id or per-attempt timestamp
 * travels from the gateway to the fake (the upstream request carries none, and a row's
 * `occurredAt` is its call's). What does pair them is the numbering. The gateway numbers a
 * call's attempts 1, 2, … in start order, one after another (the row's `attempt`; an attempt an
 * open breaker skipped keeps its number and writes no row); the fake numbers the requests it read
 * 1, 2, … (`attemptNo`). So every request the fake read is one attempt number, the numbers rising
 * with the requests': either a row's (the pair, same provider) or a number without a row (its row
 * is missing). A row may have no request (the attempt never left, or the fake never read it).
 *
 * A greedy walk (pair the first row with the first request) gets this wrong: a row with no request
 * behind it takes the next request of its provider, and every later row pairs with the wrong one.
 * This finds, over every placement the numbering allows, the one with the least cost (a dynamic
 * programme over attempt numbers and requests; an op has at most a handful of attempts), and at
 * equal cost pairs the earliest rows first, as the greedy walk did, so evidence names the same
 * attempts. A history some placement explains without a violation is one a correct gateway
 * could have produced (Jepsen: a history is valid if some order of it is); no other passes.
 */

/** How a checker judges each step of an alignment; costs compare lexicographically, lower wins. */
export interface AlignJudge<R, A, V> {
  /** The verdict on `r` being the row of request `a`, or undefined when it cannot be (another provider). */
  pair(r: R, a: A): V | undefined;
  /** The verdict on a row with no request behind it. */
  row(r: R): V;
  /** The verdict on a request with no row. */
  request(a: A): V;
  /** What a verdict costs. */
  cost(v: V): readonly number[];
}

type Cost = readonly number[];

/** Costs add and compare entry by entry, a missing entry counting 0. */
const add = (a: Cost, b: Cost): Cost => Array.from({ length: Math.max(a.length, b.length) }, (_, i) => (a[i] ?? 0) + (b[i] ?? 0));

const less = (a: Cost, b: Cost): boolean => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
};

const NONE: Cost = [];
/** Requests left over with no attempt number to take them. */
const NEVER: Cost = [Number.POSITIVE_INFINITY];

/** An attempt number: a row's, or one without a row (`undefined`). */
type Slot<R> = R | undefined;

/**
 * The verdicts of the least-cost placement of `requests` (in the fake's order) on the attempt
 * numbers of `rows` (`attempt(r)`, 1-based, in order), in order.
 */
export function alignAttempts<R, A, V>(rows: readonly R[], requests: readonly A[], attempt: (r: R) => number, judge: AlignJudge<R, A, V>): V[] {
  // Every attempt number up to the last row's, then one more per request (rows lost after the last
  // written one). Two rows of one number (a duplicated call, failed by P2) take a number each.
  const slots: Array<Slot<R>> = [];
  let last = 0;
  for (const r of rows) {
    for (let k = last + 1; k < attempt(r); k++) slots.push(undefined);
    slots.push(r);
    last = Math.max(last, attempt(r));
  }
  slots.push(...requests.map(() => undefined));
  const m = slots.length;
  const n = requests.length;
  const rowV = slots.map((r) => (r === undefined ? undefined : judge.row(r)));
  const reqV = requests.map((a) => judge.request(a));
  const pairV = slots.map((r) => requests.map((a) => (r === undefined ? undefined : judge.pair(r, a))));
  // The moves from (slot i, request j): [verdict or none, next i, next j], preferred first at equal cost.
  const moves = (i: number, j: number): Array<[V | undefined, number, number]> => {
    if (i === m) return [];
    const out: Array<[V | undefined, number, number]> = [];
    const p = j < n ? pairV[i]![j] : undefined;
    if (p !== undefined) out.push([p, i + 1, j + 1]);
    const r = rowV[i];
    if (r !== undefined) out.push([r, i + 1, j]);
    else {
      if (j < n) out.push([reqV[j], i + 1, j + 1]);
      out.push([undefined, i + 1, j]);
    }
    return out;
  };
  const costOf = (v: V | undefined): Cost => (v === undefined ? NONE : judge.cost(v));
  // best[i][j]: the least cost of placing requests[j..] on slots[i..] (NEVER: they do not fit).
  const best: Cost[][] = Array.from({ length: m + 1 }, () => new Array<Cost>(n + 1).fill(NEVER));
  best[m]![n] = NONE;
  for (let i = m - 1; i >= 0; i--) {
    for (let j = n; j >= 0; j--) {
      for (const [v, ni, nj] of moves(i, j)) {
        const c = add(costOf(v), best[ni]![nj]!);
        if (less(c, best[i]![j]!)) best[i]![j] = c;
      }
    }
  }
  // Walk the optimum from the start, taking the first preferred move that keeps it.
  const out: V[] = [];
  for (let i = 0, j = 0; i < m; ) {
    const [v, ni, nj] = moves(i, j).find(([mv, mi, mj]) => !less(best[i]![j]!, add(costOf(mv), best[mi]![mj]!)))!;
    if (v !== undefined) out.push(v);
    i = ni;
    j = nj;
  }
  return out;
}
