import { describe, expect, it } from "vitest";
import type { UsageRecordRow } from "../../server/store/usage-store.js";
import { checkLedger, type MoneyInput } from "./checkers-money.js";
import type { Collected } from "./collect.js";
import type { Op } from "./history.js";
import type { AttemptRecord, TaggedTruth } from "./soak-providers.js";

const TAG = "rmx3hig1b-14-435409";
const row = (attempt: number, outcome: string, inputTokens: number, outputTokens: number, costMicros: bigint, estimated: boolean): UsageRecordRow => ({
  callId: "call-1", attempt, requestId: TAG, orgId: "org", teamId: "team", keyId: "key", route: "soak", provider: "openai", model: "gpt-4o-mini", verb: "chat",
  outcome, inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, costMicros, priceVersion: "v", estimated, cacheStatus: "miss", tags: {}, occurredAt: new Date(0),
});
const truth = (attemptNo: number, inputTokens: number, outputTokens: number): TaggedTruth => ({
  path: "/v1/chat/completions", model: "gpt-4o-mini", stream: true, inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, delivered: "complete", provider: "openai", tag: TAG, attemptNo,
});
const attempt = (attemptNo: number): AttemptRecord => ({ provider: "openai", tag: TAG, attemptNo, stream: true, at: 0 });
const op: Op = { process: 14, request_id: TAG, kind: "openai_stream", key: "app", replica: 0, type: "ok", code: "ok", t_start: 0, t_end: 205 };

const input = (ledger: UsageRecordRow[], attempts: AttemptRecord[], truths: TaggedTruth[]): MoneyInput => ({
  ops: [op],
  attempts,
  truth: truths,
  collected: { ledger, deadLetters: 0n } as unknown as Collected,
  events: [],
  capMicros: 3000n,
  rpmLimit: 30,
  maxAttemptsPerCall: 4,
});

describe("P2/P3/P4 ledger == truth", () => {
  it("pairs a retry with the request the fake read when the attempt before it never reached the fake (2-hour run, session 10)", () => {
    // The gateway's attempt 1 went out on a keep-alive socket the fake had just closed (connection
    // error, billed its input estimate); its retry, attempt 2, is the fake's first and only request.
    const ledger = [row(1, "connection_error", 19, 0, 3n, true), row(2, "success", 6, 17, 12n, false)];
    const [p234] = checkLedger(input(ledger, [attempt(1)], [truth(1, 6, 17)]));
    expect([p234?.status, p234?.figure]).toEqual(["pass", expect.stringContaining("1/1 invoiced attempts matched (1 exactly, 0 flagged estimated") as unknown]);
    expect(p234?.figure).toContain("1 written-unanswered estimates the fake never read (info)");
  });

  it("still fails a billed answer the fake never gave, and an estimate that takes the place of a real request", () => {
    // Two rows, one request: the success bills 40 output tokens the fake never produced.
    const [wrong] = checkLedger(input([row(1, "connection_error", 19, 0, 3n, true), row(2, "success", 6, 40, 20n, false)], [attempt(1)], [truth(1, 6, 17)]));
    expect(wrong?.status).toBe("fail");
    // As many rows as requests: the estimate is paired with the fake's first request (flagged
    // estimated), and the success with its second.
    const [paired] = checkLedger(input([row(1, "connection_error", 19, 0, 3n, true), row(2, "success", 6, 17, 12n, false)], [attempt(1), attempt(2)], [truth(1, 19, 0), truth(2, 6, 17)]));
    expect([paired?.status, paired?.figure]).toEqual(["pass", expect.stringContaining("2/2 invoiced attempts matched") as unknown]);
  });
});
