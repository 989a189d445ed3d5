/**
 * The money checkers, Jepsen style, over the history, the fakes' truth and the ledger after
 * quiescence: every invoiced upstream attempt is exactly one ledger row with the invoiced tokens
 * (P2/P3/P4); no operation has two calls' rows (P2); the small budget was never overspent (P1);
 * admitted RPM stays within the limit (P5); no immortal Redis key (P6); attempts per call
 * bounded (P9).
 */
import type { UsageRecordRow } from "../../server/store/usage-store.js";
import type { Collected } from "./collect.js";
import type { Op } from "./history.js";
import type { NemesisEvent } from "./nemesis.js";
import { alignAttempts, type AlignJudge } from "./align-attempts.js";
import { groupBy } from "./group-by.js";
import { row, type PropertyRow } from "./property-row.js";
import type { AttemptRecord, TaggedTruth } from "./soak-providers.js";

/** What the money checkers read. */
export interface MoneyInput {
  ops: readonly Op[];
  attempts: readonly AttemptRecord[];
  truth: readonly TaggedTruth[];
  collected: Collected;
  events: readonly NemesisEvent[];
  capMicros: bigint;
  rpmLimit: number;
  /** Attempts per call the route allows (retries × targets), and RELIABILITY's hard cap. */
  maxAttemptsPerCall: number;
}

/** An op in flight on a replica when it was SIGKILLed: its records may be lost with the process (Jepsen `info`). */
export function killedInFlight(op: Op, events: readonly NemesisEvent[]): boolean {
  return events.some((e) => e.name === "kill" && e.replica === op.replica && op.t_start <= e.t_start && op.t_end >= e.t_start);
}

/**
 * A billed row with no upstream request the fake recorded that is nonetheless indeterminate
 * (Jepsen `info`), not a phantom charge: the input-only estimate (no output, `estimated`) of an
 * attempt that got no answer at all — cancelled (the client gave up), a connection error or a
 * timeout. The gateway bills zero when it knows the request never left (the credential could not
 * be read, or it was cancelled before a connection took it: `providers/http/send-progress.ts`),
 * so an estimate means the request was written to a socket. Written is not read: the fake records
 * an attempt only once it has read the whole body, and Node's server drops an unread request whose
 * client hung up (`abortIncoming`), or resets a keep-alive connection it had just closed as idle
 * (the gateway's reused socket then fails with a connection error, and the retry answers). A real
 * provider in the same spot may equally have read it and started generating, and the gateway cannot
 * tell the two apart, so it bills the conservative estimate (README, money) and the checker cannot
 * call that wrong. Output tokens, an answered outcome (a status, a stream error, success) or an
 * unestimated row stay violations; so do more such rows than a race explains (see the bound).
 */
function unseenEstimate(r: UsageRecordRow): boolean {
  return r.estimated && r.outputTokens === 0 && (r.outcome === "cancelled" || r.outcome === "connection_error" || r.outcome === "timeout");
}

/** At most this many indeterminate estimates per invoiced attempt (races are rare; a systematic bug is not). */
const UNSEEN_SHARE = 0.005;

/** What one step of an op's alignment shows: a violation, or what it adds to the figure. */
interface Verdict {
  /** A violation, as evidence. */
  bad?: string;
  tally?: "matched" | "estimated" | "unknown" | "phantomFree" | "unseen" | "missingFailed";
  /** An invoiced attempt's output tokens: the fake's truth and the ledger's. */
  out?: { truth: number; ledger: number };
  /** A row or a request left unpaired. */
  unpaired?: true;
}

/**
 * What an alignment costs, in order: violations (a pairing with none, when one exists, is a
 * history a correct gateway explains); then unread estimates (indeterminate, so an estimate is
 * read as the request it can be paired with before it is excused); then unpaired rows and
 * requests (a zero-cost row is the fake's unbilled 503 when it can be, not a request never sent).
 */
const verdictCost = (v: Verdict): number[] => [v.bad === undefined ? 0 : 1, v.tally === "unseen" ? 1 : 0, v.unpaired ? 1 : 0];

/** How one op's rows and the fake's requests are judged, step by step (`align-attempts.ts`). */
function ledgerJudge(op: Op, truth: ReadonlyMap<string, TaggedTruth>, killed: boolean): AlignJudge<UsageRecordRow, AttemptRecord, Verdict> {
  return {
    pair(r, a) {
      if (r.provider !== a.provider) return undefined;
      const t = truth.get(`${a.tag}#${a.attemptNo}`);
      if (t === undefined) {
        return r.outputTokens === 0 ? {} : { bad: `${op.request_id} attempt ${a.attemptNo}: ${r.outputTokens} output tokens billed for an attempt the provider never answered (${a.fault ?? "?"})` };
      }
      const out = { truth: t.outputTokens, ledger: r.outputTokens };
      const exact = r.inputTokens === t.inputTokens && r.outputTokens === t.outputTokens;
      // No usage reached the gateway (a stream cut or errored before it): counted deltas, flagged.
      if (r.estimated && !exact) return { out, tally: "estimated" };
      if (t.delivered === "complete" ? exact || (op.aborted === true && r.outputTokens <= t.outputTokens) : r.outputTokens <= t.outputTokens) return { out, tally: "matched" };
      return { out, bad: `${op.request_id} attempt ${a.attemptNo}: ledger ${r.inputTokens}/${r.outputTokens} vs truth ${t.inputTokens}/${t.outputTokens} (${t.delivered})` };
    },
    // A row with no upstream request behind it: fine if it billed nothing, indeterminate if it is
    // a written-unanswered attempt's input estimate, else a phantom charge.
    row(r) {
      if (r.costMicros === 0n) return { tally: "phantomFree", unpaired: true };
      if (unseenEstimate(r)) return { tally: "unseen", unpaired: true };
      return { bad: `${op.request_id} attempt ${r.attempt}: ${r.costMicros} µ$ billed, no upstream request (${r.outcome})`, unpaired: true };
    },
    request(a) {
      const t = truth.get(`${a.tag}#${a.attemptNo}`);
      if (t === undefined) return { tally: "missingFailed", unpaired: true };
      if (killed) return { tally: "unknown", unpaired: true };
      return { bad: `${op.request_id} attempt ${a.attemptNo} (${a.provider}, ${t.delivered}, ${t.outputTokens} out): invoiced, no ledger row`, unpaired: true };
    },
    cost: verdictCost,
  };
}

/** P2/P3/P4 (ledger == truth, per attempt) and P2 (no duplicated call or attempt). */
export function checkLedger(input: MoneyInput): PropertyRow[] {
  const rows = groupBy(input.collected.ledger.filter((r) => r.attempt >= 1), (r) => r.requestId);
  const attempts = groupBy(input.attempts, (a) => a.tag);
  const truth = new Map(input.truth.map((t) => [`${t.tag}#${t.attemptNo}`, t]));
  const bad: string[] = [];
  const dups: string[] = [];
  const tallies = { matched: 0, estimated: 0, unknown: 0, phantomFree: 0, unseen: 0, missingFailed: 0 };
  let invoiced = 0;
  let truthOut = 0n;
  let ledgerOut = 0n;
  for (const op of input.ops) {
    const mine = (rows.get(op.request_id) ?? []).sort((a, b) => a.attempt - b.attempt);
    const sent = (attempts.get(op.request_id) ?? []).sort((a, b) => a.attemptNo - b.attemptNo);
    if (new Set(mine.map((r) => r.callId)).size > 1) dups.push(`${op.request_id}: ${new Set(mine.map((r) => r.callId)).size} call ids`);
    for (const v of alignAttempts(mine, sent, (r) => r.attempt, ledgerJudge(op, truth, killedInFlight(op, input.events)))) {
      if (v.bad !== undefined) bad.push(v.bad);
      if (v.tally !== undefined) tallies[v.tally]++;
      if (v.out !== undefined) {
        invoiced++;
        truthOut += BigInt(v.out.truth);
        ledgerOut += BigInt(v.out.ledger);
      }
    }
  }
  const { unknown, phantomFree, unseen, estimated, missingFailed } = tallies;
  // An estimated match is a match, flagged.
  const matched = tallies.matched + estimated;
  const deadLetters = input.collected.deadLetters;
  const unseenBound = Math.max(3, Math.floor(invoiced * UNSEEN_SHARE));
  if (unseen > unseenBound) bad.push(`${unseen} estimates for attempts the fake never read (bound ${unseenBound}): more than a race explains`);
  return [
    row(
      "P2/P3/P4",
      "ledger == truth log, per attempt",
      `${matched}/${invoiced} invoiced attempts matched (${matched - estimated} exactly, ${estimated} flagged estimated: no usage reached the gateway); output tokens ledger ${ledgerOut} / truth ${truthOut}; ${unknown} in-flight-at-kill (info); ${missingFailed} unanswered attempts without a row; ${phantomFree} zero-cost rows without a request; ${unseen} written-unanswered estimates the fake never read (info); dead letters ${deadLetters}`,
      bad.length === 0 && matched === invoiced && invoiced > 0 && deadLetters === 0n,
      bad,
    ),
    row("P2", "no duplicated call or attempt", `${dups.length} ops with > 1 call id; ${input.collected.ledger.length} rows, unique (call, attempt)`, dups.length === 0, dups),
  ];
}

/** P1: the small budget's ledger spend never exceeds its cap, and the cap was reached. */
export function checkCap(input: MoneyInput): PropertyRow {
  const capped = new Set(input.ops.filter((o) => o.key === "capped").map((o) => o.request_id));
  // Every row of the capped key (warm-up calls included), found through its operations' rows.
  const keyIds = new Set(input.collected.ledger.filter((r) => capped.has(r.requestId)).map((r) => r.keyId));
  const spent = input.collected.ledger.filter((r) => keyIds.has(r.keyId)).reduce((s, r) => s + r.costMicros, 0n);
  const refused = input.ops.filter((o) => o.key === "capped" && (o.details?.includes("BudgetExceeded") === true || o.code === "budget_exceeded")).length;
  const status = input.collected.budgets.capped;
  const ok = spent <= input.capMicros && status.spent === spent && refused > 0;
  return row(
    "P1",
    "spend ≤ cap (small budget, 3 replicas)",
    `ledger ${spent} µ$ ≤ cap ${input.capMicros} µ$ (status says ${status.spent}); ${refused} refusals`,
    ok,
    ok ? [] : [`ledger ${spent}, status ${status.spent}, cap ${input.capMicros}, refusals ${refused}`],
  );
}

/**
 * The rate limiter refused the op: over the limit (`RateLimitExceeded`), or its shared state could
 * not answer and it failed closed (P7; while Redis hangs or its breaker is open, `Unavailable` with
 * the rate-limit stage's message — which a stream may report as a transport error, so it is matched
 * on the message whatever the op's type). Such an op was never admitted. A budget-check refusal is
 * not matched: it comes after the limiter admitted the call.
 */
export function refusedByLimiter(o: Op): boolean {
  return o.details?.includes("RateLimitExceeded") === true || o.code === "rate_limit_exceeded" || o.message?.includes("the rate-limit check is unavailable") === true;
}

/** P5: requests admitted for the RPM-limited key in any 60 s window. */
export function checkRpm(input: MoneyInput): PropertyRow {
  const ops = input.ops.filter((o) => o.key === "rpm");
  // Everything the limiter did not refuse counts as admitted: ok, failed after admission, and
  // indeterminate (`info`) ops alike, so the bound errs towards failing.
  const admitted = ops.filter((o) => !refusedByLimiter(o)).map((o) => o.t_start).sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < admitted.length; i++) {
    while (admitted[i]! - admitted[j]! >= 60_000) j++;
    max = Math.max(max, i - j + 1);
  }
  const refused = ops.length - admitted.length;
  // README: at most the limit per window, never more than twice it in any 60 s at a window's edge.
  const ok = max <= 2 * input.rpmLimit && refused > 0;
  return row("P5", "RPM global across replicas", `max ${max} admitted in any 60 s (limit ${input.rpmLimit}, bound 2×); ${ops.length} offered, ${refused} refused`, ok);
}

/** P6: every gateway key in Redis has a TTL. */
export function checkTtls(input: MoneyInput): PropertyRow {
  const immortal = [...input.collected.redisTtls].filter(([, ttl]) => ttl === -1).map(([k]) => k);
  return row("P6", "no Redis key without a TTL", `${immortal.length} of ${input.collected.redisTtls.size} keys immortal`, immortal.length === 0 && input.collected.redisTtls.size > 0, immortal);
}

/** P9: attempts per model call stay within the route's allowance (and the hard cap of 5). */
export function checkAttempts(input: MoneyInput): PropertyRow {
  const perCall = groupBy(input.collected.ledger, (r) => r.callId);
  let max = 0;
  const over: string[] = [];
  for (const [call, rs] of perCall) {
    const top = Math.max(...rs.map((r) => r.attempt));
    max = Math.max(max, top);
    if (top > Math.min(5, input.maxAttemptsPerCall)) over.push(`${rs[0]!.requestId} (${call}): attempt ${top}`);
  }
  return row("P9", "attempts per call bounded", `max attempt index ${max} (allowed ${Math.min(5, input.maxAttemptsPerCall)})`, over.length === 0, over);
}

/** P16 (settlement): open reservations of both budgets return to 0 at quiescence. */
export function checkReservations(input: MoneyInput): PropertyRow {
  const { app, capped } = input.collected.budgets;
  const zero = app.reserved === 0n && capped.reserved === 0n;
  const when = input.collected.reservationsZeroMs === undefined ? "never within the wait" : `after ${input.collected.reservationsZeroMs} ms`;
  return row("P16", "open reservations return to 0", `held: app ${app.reserved} µ$, capped ${capped.reserved} µ$ (${when})`, zero, zero ? [] : [`app ${app.reserved}, capped ${capped.reserved}`]);
}
