import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { UsageRecordRow } from "../../server/store/usage-store.js";
import { checkLedger, type MoneyInput } from "./checkers-money.js";
import type { Collected } from "./collect.js";
import type { Op } from "./history.js";
import type { AttemptRecord, TaggedTruth } from "./soak-providers.js";

/**
 * P2/P3/P4's pairing of ledger rows with the fake's requests, over histories a correct gateway
 * produces: any mix of attempts with no request behind them before the answer, to either provider,
 * must pass; the same history with one row lost, one charge added or one count wrong must fail.
 */

const TAG = "op-1";
const op: Op = { process: 1, request_id: TAG, kind: "openai_stream", key: "app", replica: 0, type: "ok", code: "ok", t_start: 0, t_end: 100 };

/**
 * One attempt as a correct gateway and the fake record it: skipped by an open breaker (no row, not
 * sent), never sent (billed 0), written and never read (an input estimate), answered 503 (billed 0).
 */
type Failure = "skipped" | "unsent" | "unread" | "status";
type Provider = "openai" | "anthropic";

interface History {
  rows: UsageRecordRow[];
  attempts: AttemptRecord[];
  truth: TaggedTruth[];
}

/** The records of `failures` (at most 3, the unread-estimate bound) and then an answer of 6 in / 17 out. */
function history(failures: ReadonlyArray<[Failure, Provider]>, answeredBy: Provider): History {
  const out: History = { rows: [], attempts: [], truth: [] };
  const rowOf = (attempt: number, provider: Provider, outcome: string, inputTokens: number, outputTokens: number, costMicros: bigint, estimated: boolean): UsageRecordRow => ({
    callId: "call-1", attempt, requestId: TAG, orgId: "org", teamId: "team", keyId: "key", route: "soak", provider, model: "m", verb: "chat",
    outcome, inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, costMicros, priceVersion: "v", estimated, cacheStatus: "miss", tags: {}, occurredAt: new Date(0),
  });
  const read = (provider: Provider, fault?: string): number => {
    const attemptNo = out.attempts.length + 1;
    out.attempts.push({ provider, tag: TAG, attemptNo, stream: true, ...(fault === undefined ? {} : { fault }), at: 0 });
    return attemptNo;
  };
  failures.forEach(([failure, provider], i) => {
    const n = i + 1;
    if (failure === "unsent") out.rows.push(rowOf(n, provider, "timeout", 0, 0, 0n, false));
    else if (failure === "unread") out.rows.push(rowOf(n, provider, "connection_error", 19, 0, 3n, true));
    else if (failure === "status") {
      read(provider, "storm:503");
      out.rows.push(rowOf(n, provider, "unavailable", 0, 0, 0n, false));
    }
  });
  const attemptNo = read(answeredBy);
  out.rows.push(rowOf(failures.length + 1, answeredBy, "success", 6, 17, 12n, false));
  out.truth.push({
    path: "/v1/chat/completions", model: "m", stream: true, inputTokens: 6, outputTokens: 17, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, delivered: "complete", provider: answeredBy, tag: TAG, attemptNo,
  });
  return out;
}

const check = (h: History) => {
  const input: MoneyInput = {
    ops: [op],
    attempts: h.attempts,
    truth: h.truth,
    collected: { ledger: h.rows, deadLetters: 0n } as unknown as Collected,
    events: [],
    capMicros: 0n,
    rpmLimit: 1,
    maxAttemptsPerCall: 4,
  };
  return checkLedger(input)[0]!;
};

const provider = fc.constantFrom<Provider>("openai", "anthropic");
const failures = fc.array(fc.tuple(fc.constantFrom<Failure>("skipped", "unsent", "unread", "status"), provider), { maxLength: 3 });

describe("P2/P3/P4 pairing over a correct gateway's histories", () => {
  it("passes any mix of unsent, unread, skipped and refused attempts before the answer, to either provider", () => {
    fc.assert(
      fc.property(failures, provider, (fs, by) => {
        const result = check(history(fs, by));
        expect([result.status, result.evidence]).toEqual(["pass", undefined]);
      }),
    );
  });

  it("fails the same history with the answer's row lost, a charge added, or its tokens wrong", () => {
    fc.assert(
      fc.property(failures, provider, fc.constantFrom("lost", "phantom", "over", "under"), (fs, by, corruption) => {
        // An input estimate of the answering provider can be the answer's own row (written, read,
        // answered, but the gateway saw no usage: a flagged estimate), so it may cover a lost one.
        fc.pre(corruption !== "lost" || !fs.some(([f, p]) => f === "unread" && p === by));
        const h = history(fs, by);
        const answer = h.rows.at(-1)!;
        if (corruption === "lost") h.rows.pop();
        else if (corruption === "phantom") h.rows.push({ ...answer, attempt: answer.attempt + 1 });
        else h.rows[h.rows.length - 1] = { ...answer, outputTokens: answer.outputTokens + (corruption === "over" ? 1 : -1) };
        expect(check(h).status).toBe("fail");
      }),
    );
  });
});
