import { describe, expect, it } from "vitest";
import type { UsageRecordRow } from "../../server/store/usage-store.js";
import { checkAttempts, checkCap, checkLedger, checkReservations, checkRpm, checkTtls, type MoneyInput } from "./checkers-money.js";
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

  it("pairs a retry with the fake's request when the attempt before it, to the same provider, never left (billed 0)", () => {
    // Attempt 1 timed out before a connection took it (nothing billed) and was retried on the same
    // target: the fake's one request is attempt 2's, not attempt 1's.
    const unsent = row(1, "timeout", 0, 0, 0n, false);
    const [p234] = checkLedger(input([unsent, row(2, "success", 6, 17, 12n, false)], [attempt(1)], [truth(1, 6, 17)]));
    expect([p234?.status, p234?.figure]).toEqual(["pass", expect.stringContaining("1/1 invoiced attempts matched (1 exactly") as unknown]);
    expect(p234?.figure).toContain("1 zero-cost rows without a request");
    // As many rows as requests: the unsent attempt, a 503 the fake did read (billed 0, no truth),
    // and the answer. Counting rows against requests cannot tell which zero-cost row was sent.
    const storm = row(2, "unavailable", 0, 0, 0n, false);
    const [three] = checkLedger(input([unsent, storm, row(3, "success", 6, 17, 12n, false)], [{ ...attempt(1), fault: "storm:503" }, attempt(2)], [truth(2, 6, 17)]));
    expect([three?.status, three?.figure]).toEqual(["pass", expect.stringContaining("1/1 invoiced attempts matched (1 exactly") as unknown]);
    // Behind an unsent attempt and a written-unanswered estimate alike.
    const [both] = checkLedger(input([unsent, row(2, "connection_error", 19, 0, 3n, true), row(3, "success", 6, 17, 12n, false)], [attempt(1)], [truth(1, 6, 17)]));
    expect([both?.status, both?.figure]).toEqual(["pass", expect.stringContaining("1 written-unanswered estimates the fake never read (info)") as unknown]);
  });

  it("still fails a phantom charge, a lost attempt and wrong tokens behind a zero-cost row", () => {
    const unsent = row(1, "timeout", 0, 0, 0n, false);
    const phantom = checkLedger(input([unsent, row(2, "success", 6, 17, 12n, false), row(3, "success", 6, 17, 12n, false)], [attempt(1)], [truth(1, 6, 17)]))[0];
    expect(phantom).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 3: 12 µ$ billed, no upstream request (success)`] });
    // Two invoiced requests, one priced row: one of them has no row, whichever the zero-cost row was.
    const lost = checkLedger(input([unsent, row(2, "success", 6, 17, 12n, false)], [attempt(1), attempt(2)], [truth(1, 6, 17), truth(2, 6, 17)]))[0];
    expect(lost).toMatchObject({ status: "fail", evidence: [expect.stringMatching(/attempt 1: ledger 0\/0 vs truth 6\/17|attempt 2 \(openai, complete, 17 out\): invoiced, no ledger row/) as unknown] });
    const over = checkLedger(input([unsent, row(2, "success", 6, 18, 13n, false)], [attempt(1)], [truth(1, 6, 17)]))[0];
    expect(over).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 1: ledger 6/18 vs truth 6/17 (complete)`] });
    // A zero-cost row cannot stand in for an answered request's row either.
    const alone = checkLedger(input([unsent], [attempt(1)], [truth(1, 6, 17)]))[0];
    expect(alone?.status).toBe("fail");
  });

  it("never pairs a row with a request the fake read after more requests than the gateway had attempts", () => {
    // The gateway's attempt 1 cannot be the fake's second request: the fake's first (a 503) would
    // need an attempt before it. Attempt 1 billed the answer the 503 never gave, and the answer has no row.
    const early = checkLedger(input([row(1, "success", 6, 17, 12n, false)], [{ ...attempt(1), fault: "storm:503" }, attempt(2)], [truth(2, 6, 17)]))[0];
    expect(early).toMatchObject({
      status: "fail",
      evidence: [`${TAG} attempt 1: 17 output tokens billed for an attempt the provider never answered (storm:503)`, `${TAG} attempt 2 (openai, complete, 17 out): invoiced, no ledger row`],
    });
    // A gap in the ledger's attempts is an attempt an open breaker skipped (no row, never sent):
    // the fake's second request is attempt 3's.
    const gap = checkLedger(input([row(1, "unavailable", 0, 0, 0n, false), row(3, "success", 6, 17, 12n, false)], [{ ...attempt(1), fault: "storm:503" }, attempt(2)], [truth(2, 6, 17)]))[0];
    expect(gap?.status).toBe("pass");
  });
});

/** A ledger row of any op: `row`'s defaults with overrides. */
const rowOf = (over: Partial<UsageRecordRow>): UsageRecordRow => ({ ...row(1, "success", 6, 17, 12n, false), ...over });
const opOf = (over: Partial<Op>): Op => ({ ...op, ...over });
const collected = (over: Partial<Collected>): Collected =>
  ({ ledger: [], deadLetters: 0n, redisTtls: new Map(), budgets: { app: { limit: 0n, spent: 0n, reserved: 0n }, capped: { limit: 3000n, spent: 0n, reserved: 0n } }, requestLogBytes: 0, drainMs: 0, ...over }) as Collected;
const inputOf = (over: Partial<MoneyInput>): MoneyInput => ({ ...input([], [], []), ...over });

describe("P2/P3/P4 ledger == truth: histories that violate it fail, with the offending attempt named", () => {
  // Op TAG, one clean attempt of 6 in / 17 out that the fake answered whole.
  const honest = () => input([row(1, "success", 6, 17, 12n, false)], [attempt(1)], [truth(1, 6, 17)]);

  it("passes the honest history; a cache hit's row (attempt 0) is no upstream attempt", () => {
    const [p234, p2] = checkLedger(honest());
    expect([p234?.status, p2?.status]).toEqual(["pass", "pass"]);
    expect(p234?.figure).toContain("1/1 invoiced attempts matched (1 exactly, 0 flagged estimated: no usage reached the gateway); output tokens ledger 17 / truth 17");
    const hit = { ...row(0, "success", 0, 0, 0n, false), requestId: "hit", callId: "call-hit" };
    const withHit = checkLedger({ ...honest(), ops: [op, opOf({ request_id: "hit" })], collected: collected({ ledger: [...honest().collected.ledger, hit] }) })[0];
    expect([withHit?.status, withHit?.figure]).toEqual(["pass", expect.stringContaining("; 0 zero-cost rows without a request;") as unknown]);
  });

  it("fails a lost record: an invoiced attempt without a ledger row", () => {
    const [p234] = checkLedger(input([], [attempt(1)], [truth(1, 6, 17)]));
    expect(p234).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 1 (openai, complete, 17 out): invoiced, no ledger row`] });
  });

  it("excuses a lost record only on the replica killed while the op was in flight", () => {
    const kill = (replica: number): MoneyInput["events"] => [{ name: "kill", replica, t_start: 100, t_end: 2000 }];
    const onMine = checkLedger({ ...input([], [attempt(1)], [truth(1, 6, 17)]), events: kill(0) })[0];
    expect([onMine?.status, onMine?.figure]).toEqual(["fail", expect.stringContaining("1 in-flight-at-kill (info)") as unknown]);
    expect(onMine?.evidence).toBeUndefined();
    // (Still a fail: nothing was invoiced and matched. The same loss beside a matched op passes.)
    const withMatched = (events: MoneyInput["events"]) =>
      checkLedger({
        ...input([row(1, "success", 6, 17, 12n, false)], [attempt(1), { ...attempt(1), tag: "other" }], [truth(1, 6, 17), { ...truth(1, 6, 17), tag: "other" }]),
        ops: [op, opOf({ request_id: "other" })],
        events,
      })[0]!;
    expect(withMatched(kill(0)).status).toBe("pass");
    // A kill of another replica, or one after the op ended, excuses nothing.
    expect(withMatched(kill(1))).toMatchObject({ status: "fail", evidence: [expect.stringContaining("other attempt 1") as unknown] });
    expect(withMatched([{ name: "kill", replica: 0, t_start: 206, t_end: 2000 }]).status).toBe("fail");
  });

  it("pairs rows with the fake's requests in attempt order, whichever fake logged them first", () => {
    // openai's 503 (a storm: no truth), anthropic's stream cut after 5 tokens (billed), openai's
    // answer; the two fakes' logs are joined openai first.
    const ledger = [row(1, "unavailable", 0, 0, 0n, false), { ...row(2, "stream_error", 6, 5, 4n, false), provider: "anthropic" }, row(3, "success", 6, 17, 12n, false)];
    const attempts = [{ ...attempt(1), fault: "storm:503" }, attempt(3), { ...attempt(2), provider: "anthropic", fault: "cut" }];
    const truths = [{ ...truth(2, 6, 5), provider: "anthropic", delivered: "partial" as const }, truth(3, 6, 17)];
    expect(checkLedger(input(ledger, attempts, truths))[0]).toMatchObject({ status: "pass", figure: expect.stringContaining("2/2 invoiced attempts matched (2 exactly") as unknown });
  });

  it("fails a double-billed attempt: two rows for the fake's one request", () => {
    const ledger = [row(1, "success", 6, 17, 12n, false), row(2, "success", 6, 17, 12n, false)];
    const [p234] = checkLedger(input(ledger, [attempt(1)], [truth(1, 6, 17)]));
    expect(p234).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 2: 12 µ$ billed, no upstream request (success)`] });
  });

  it("fails one op's rows under two call ids (a duplicated call)", () => {
    const ledger = [row(1, "success", 6, 17, 12n, false), { ...row(1, "success", 6, 17, 12n, false), callId: "call-2", attempt: 2 }];
    const [, p2] = checkLedger(input(ledger, [attempt(1), attempt(2)], [truth(1, 6, 17), truth(2, 6, 17)]));
    expect(p2).toMatchObject({ status: "fail", evidence: [`${TAG}: 2 call ids`] });
  });

  it("fails an over-billed partial answer, and an under-billed complete one unless the client aborted it", () => {
    const partial = { ...truth(1, 6, 17), delivered: "partial" as const };
    expect(checkLedger(input([row(1, "cut", 6, 17, 12n, false)], [attempt(1)], [partial]))[0]?.status).toBe("pass");
    expect(checkLedger(input([row(1, "cut", 6, 10, 8n, false)], [attempt(1)], [partial]))[0]?.status).toBe("pass");
    expect(checkLedger(input([row(1, "cut", 6, 18, 13n, false)], [attempt(1)], [partial]))[0]).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 1: ledger 6/18 vs truth 6/17 (partial)`] });
    // The fake sent all 17 tokens and the gateway billed 10 (not estimated): lost revenue, unless the client hung up.
    const under = input([row(1, "success", 6, 10, 8n, false)], [attempt(1)], [truth(1, 6, 17)]);
    expect(checkLedger(under)[0]).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 1: ledger 6/10 vs truth 6/17 (complete)`] });
    expect(checkLedger({ ...under, ops: [opOf({ aborted: true })] })[0]?.status).toBe("pass");
    // One output token over on a complete answer is a fail whoever hung up.
    expect(checkLedger({ ...input([row(1, "success", 6, 18, 13n, false)], [attempt(1)], [truth(1, 6, 17)]), ops: [opOf({ aborted: true })] })[0]?.status).toBe("fail");
  });

  it("fails output tokens billed for an attempt the provider never answered, and a priced row with no request", () => {
    // The fake recorded the attempt but logged no truth (it failed it with a status).
    const unanswered = checkLedger(input([row(1, "unavailable", 6, 5, 4n, false)], [{ ...attempt(1), fault: "storm:503" }], []))[0];
    expect(unanswered).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 1: 5 output tokens billed for an attempt the provider never answered (storm:503)`] });
    // An estimate with output tokens is no written-unanswered request's estimate: it takes the
    // fake's one request, and the success after it is a charge with no request behind it.
    const phantom = checkLedger(input([row(1, "cancelled", 19, 4, 5n, true), row(2, "success", 6, 17, 12n, false)], [attempt(1)], [truth(1, 6, 17)]))[0];
    expect(phantom).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 2: 12 µ$ billed, no upstream request (success)`] });
    // A zero-cost row without a request is fine (a target whose credential could not be read, then the other).
    const free = checkLedger(input([{ ...row(1, "unavailable", 0, 0, 0n, false), provider: "anthropic" }, row(2, "success", 6, 17, 12n, false)], [attempt(1)], [truth(1, 6, 17)]))[0];
    expect([free?.status, free?.figure]).toEqual(["pass", expect.stringContaining("1 zero-cost rows without a request") as unknown]);
  });

  it("fails more written-unanswered estimates than a race explains", () => {
    // n ops, each an unseen connection-error estimate followed by its answered retry.
    const ops = (n: number): MoneyInput => {
      const tags = Array.from({ length: n }, (_, i) => `op-${i}`);
      return {
        ...input([], [], []),
        ops: tags.map((t) => opOf({ request_id: t })),
        collected: collected({ ledger: tags.flatMap((t) => [{ ...row(1, "connection_error", 19, 0, 3n, true), requestId: t, callId: t }, { ...row(2, "success", 6, 17, 12n, false), requestId: t, callId: t }]) }),
        attempts: tags.map((t) => ({ ...attempt(1), tag: t })),
        truth: tags.map((t) => ({ ...truth(1, 6, 17), tag: t })),
      };
    };
    expect(checkLedger(ops(3))[0]?.status).toBe("pass");
    expect(checkLedger(ops(4))[0]).toMatchObject({ status: "fail", evidence: ["4 estimates for attempts the fake never read (bound 3): more than a race explains"] });
  });

  it("fails with dead letters, and with nothing invoiced at all", () => {
    const dead = honest();
    const withDead = checkLedger({ ...dead, collected: collected({ ledger: [...dead.collected.ledger], deadLetters: 1n }) })[0];
    expect([withDead?.status, withDead?.figure]).toEqual(["fail", expect.stringContaining("dead letters 1") as unknown]);
    expect(checkLedger(input([], [], []))[0]?.status).toBe("fail");
  });
});

describe("P1 spend ≤ cap", () => {
  // Two capped ops (one refused) and a warm-up call of the same key that is no op of the history.
  const capped = (spent: bigint[], status: bigint, refusal: Partial<Op> = { type: "fail", code: "resource_exhausted", details: ["BudgetExceeded"] }): MoneyInput => {
    const ops = [opOf({ request_id: "c1", key: "capped" }), opOf({ request_id: "c2", key: "capped", ...refusal }), opOf({ request_id: "a1", key: "app" })];
    const ledger = [
      rowOf({ requestId: "warm-0-capped-0", keyId: "k-capped", costMicros: spent[0]! }),
      rowOf({ requestId: "c1", keyId: "k-capped", costMicros: spent[1]! }),
      rowOf({ requestId: "a1", keyId: "k-app", costMicros: 100_000n }),
    ];
    return inputOf({ ops, capMicros: 3000n, collected: collected({ ledger, budgets: { app: { limit: 0n, spent: 0n, reserved: 0n }, capped: { limit: 3000n, spent: status, reserved: 0n } } }) });
  };

  it("passes spend at the cap, counting every row of the capped key (warm-up included) and no other key's", () => {
    expect(checkCap(capped([1000n, 2000n], 3000n))).toMatchObject({ status: "pass", figure: "ledger 3000 µ$ ≤ cap 3000 µ$ (status says 3000); 1 refusals" });
    expect(checkCap(capped([1000n, 2000n], 3000n, { type: "fail", code: "budget_exceeded" })).status).toBe("pass");
  });

  it("fails an overspend of 1 µ$ — in the warm-up's rows too", () => {
    expect(checkCap(capped([1000n, 2001n], 3001n))).toMatchObject({ status: "fail", evidence: ["ledger 3001, status 3001, cap 3000, refusals 1"] });
    expect(checkCap(capped([1001n, 2000n], 3001n)).status).toBe("fail");
  });

  it("fails a status that disagrees with the ledger, and a run in which the cap never refused", () => {
    expect(checkCap(capped([1000n, 1500n], 2400n))).toMatchObject({ status: "fail", evidence: ["ledger 2500, status 2400, cap 3000, refusals 1"] });
    expect(checkCap(capped([1000n, 1500n], 2500n, { type: "ok" }))).toMatchObject({ status: "fail", evidence: ["ledger 2500, status 2500, cap 3000, refusals 0"] });
  });
});

describe("P5 RPM across replicas", () => {
  // Limit 2: at most 4 admitted in any 60 s.
  const at = (t: number, over: Partial<Op> = {}) => opOf({ request_id: `r${t}`, key: "rpm", t_start: t, t_end: t + 100, ...over });
  const refused = at(1, { type: "fail", code: "resource_exhausted", details: ["RateLimitExceeded"] });
  const rpm = (ops: Op[]) => checkRpm(inputOf({ ops, rpmLimit: 2 }));

  it("passes twice the limit in a window and fails one more", () => {
    expect(rpm([refused, ...[0, 10_000, 20_000, 30_000].map((t) => at(t))])).toMatchObject({ status: "pass", figure: "max 4 admitted in any 60 s (limit 2, bound 2×); 5 offered, 1 refused" });
    expect(rpm([refused, ...[0, 10_000, 20_000, 30_000, 59_999].map((t) => at(t))])).toMatchObject({ status: "fail", figure: expect.stringContaining("max 5 admitted") as unknown });
    // 60 s apart is the next window.
    expect(rpm([refused, ...[0, 10_000, 20_000, 30_000, 60_000].map((t) => at(t))]).status).toBe("pass");
  });

  it("counts as admitted whatever the limiter did not refuse: failed after admission, and indeterminate", () => {
    const later = [at(40_000, { type: "fail", code: "unavailable" }), at(50_000, { type: "info", code: "transport" })];
    expect(rpm([refused, at(0), at(10_000), at(20_000), ...later]).status).toBe("fail");
    // A limiter failing closed (Redis hung) refused it: not admitted, whatever the op's type.
    const closed = at(50_000, { type: "info", code: "transport", message: "unavailable: the rate-limit check is unavailable" });
    expect(rpm([refused, at(0), at(10_000), at(20_000), at(30_000), closed])).toMatchObject({ status: "pass", figure: expect.stringContaining("6 offered, 2 refused") as unknown });
  });

  it("reads the history in completion order: a slow op that started first is still in its start's window", () => {
    // Five admitted in [0, 60 s); the one begun at 0 (a long stream) ends after one begun at 85 s.
    const slow = at(0, { t_end: 90_000 });
    expect(rpm([refused, at(10_000), at(20_000), at(30_000), at(59_000), at(85_000), slow])).toMatchObject({ status: "fail", figure: expect.stringContaining("max 5 admitted") as unknown });
  });

  it("fails a run in which the limiter never refused (the limit was never exercised)", () => {
    expect(rpm([at(0), at(10_000)]).status).toBe("fail");
  });
});

describe("P6 no immortal Redis key", () => {
  const ttls = (entries: Array<[string, number]>) => checkTtls(inputOf({ collected: collected({ redisTtls: new Map(entries) }) }));

  it("fails a key without a TTL and names it; a key gone between SCAN and PTTL (-2) is not immortal", () => {
    expect(ttls([["sb:ratelimit:{o}:k", 60_000], ["sb:budget:{o}:spent", -2]]).status).toBe("pass");
    expect(ttls([["sb:ratelimit:{o}:k", 60_000], ["sb:budget:{o}:spent", -1]])).toMatchObject({ status: "fail", figure: "1 of 2 keys immortal", evidence: ["sb:budget:{o}:spent"] });
  });

  it("fails when no key was read at all", () => {
    expect(ttls([]).status).toBe("fail");
  });
});

describe("P9 attempts per call", () => {
  const attempts = (top: number, maxAttemptsPerCall: number) =>
    checkAttempts(inputOf({ maxAttemptsPerCall, collected: collected({ ledger: Array.from({ length: top }, (_, i) => rowOf({ attempt: i + 1 })) }) }));

  it("allows the route's allowance and fails one attempt more", () => {
    expect(attempts(4, 4)).toMatchObject({ status: "pass", figure: "max attempt index 4 (allowed 4)" });
    expect(attempts(5, 4)).toMatchObject({ status: "fail", evidence: [`${TAG} (call-1): attempt 5`] });
  });

  it("holds any route to RELIABILITY's hard cap of 5", () => {
    expect(attempts(5, 8).status).toBe("pass");
    expect(attempts(6, 8)).toMatchObject({ status: "fail", figure: "max attempt index 6 (allowed 5)" });
  });
});

describe("P16 reservations settle", () => {
  const held = (app: bigint, capped: bigint, zeroMs?: number) =>
    checkReservations(inputOf({ collected: collected({ budgets: { app: { limit: 0n, spent: 0n, reserved: app }, capped: { limit: 3000n, spent: 0n, reserved: capped } }, ...(zeroMs === undefined ? {} : { reservationsZeroMs: zeroMs }) }) }));

  it("passes when both budgets hold nothing, and fails a leaked hold on either", () => {
    expect(held(0n, 0n, 700)).toMatchObject({ status: "pass", figure: "held: app 0 µ$, capped 0 µ$ (after 700 ms)" });
    expect(held(0n, 1n)).toMatchObject({ status: "fail", figure: "held: app 0 µ$, capped 1 µ$ (never within the wait)", evidence: ["app 0, capped 1"] });
    expect(held(25n, 0n).status).toBe("fail");
  });
});

describe("money checkers: what a lenient reading would let through", () => {
  it("holds input tokens to the truth as well as output tokens", () => {
    const [p234] = checkLedger(input([row(1, "success", 7, 17, 12n, false)], [attempt(1)], [truth(1, 6, 17)]));
    expect(p234).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 1: ledger 7/17 vs truth 6/17 (complete)`] });
  });

  it("excuses an unread input estimate only when it is an estimate, of an unanswered outcome", () => {
    // The 2-hour run's excused row, estimated: passes (see above). Not estimated, or an answered
    // outcome (a success, a 503), it is a charge with no request behind it.
    const retry = row(2, "success", 6, 17, 12n, false);
    for (const unread of [row(1, "connection_error", 19, 0, 3n, false), row(1, "success", 19, 0, 3n, true), row(1, "unavailable", 19, 0, 3n, true)]) {
      const [p234] = checkLedger(input([unread, retry], [attempt(1)], [truth(1, 6, 17)]));
      expect(p234?.status, `${unread.outcome} estimated=${unread.estimated}`).toBe("fail");
    }
  });

  it("fails a charge of 1 µ$ with no request behind it", () => {
    const [p234] = checkLedger(input([row(1, "success", 6, 17, 12n, false), row(2, "unavailable", 0, 0, 1n, false)], [attempt(1)], [truth(1, 6, 17)]));
    expect(p234).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 2: 1 µ$ billed, no upstream request (unavailable)`] });
  });

  it("reads the ledger's rows in attempt order, whatever order the store returned them in", () => {
    const ledger = [row(3, "success", 6, 17, 12n, false), { ...row(2, "stream_error", 6, 5, 4n, false), provider: "anthropic" }, row(1, "unavailable", 0, 0, 0n, false)];
    const attempts = [{ ...attempt(1), fault: "storm:503" }, { ...attempt(2), provider: "anthropic", fault: "cut" }, attempt(3)];
    const truths = [{ ...truth(2, 6, 5), provider: "anthropic", delivered: "partial" as const }, truth(3, 6, 17)];
    expect(checkLedger(input(ledger, attempts, truths))[0]).toMatchObject({ status: "pass", figure: expect.stringContaining("2/2 invoiced attempts matched (2 exactly") as unknown });
  });

  it("names every invoiced attempt after the last written row that has no row", () => {
    // Nothing written; the fake read a 503 and then the answer: the answer's row is lost.
    const [p234] = checkLedger(input([], [{ ...attempt(1), fault: "storm:503" }, attempt(2)], [truth(2, 6, 17)]));
    expect(p234).toMatchObject({ status: "fail", evidence: [`${TAG} attempt 2 (openai, complete, 17 out): invoiced, no ledger row`] });
  });

  it("counts an op begun or ended at the kill's very instant as in flight", () => {
    // Op TAG runs 0..205 on replica 0; the matched op beside it makes the run pass when the loss is excused.
    const check = (killAt: number) =>
      checkLedger({
        ...input([{ ...row(1, "success", 6, 17, 12n, false), requestId: "other", callId: "c-other" }], [attempt(1), { ...attempt(1), tag: "other" }], [truth(1, 6, 17), { ...truth(1, 6, 17), tag: "other" }]),
        ops: [op, opOf({ request_id: "other" })],
        events: [{ name: "kill", replica: 0, t_start: killAt, t_end: killAt + 1000 }],
      })[0]!;
    expect([check(0).status, check(205).status]).toEqual(["pass", "pass"]);
    expect(check(205).figure).toContain("1 in-flight-at-kill (info)");
  });

  it("places a request the fake read at an attempt number without a row, not on the next row", () => {
    // Attempt 2 was a 503 the fake read whose (unbilled) row is missing: attempt 3's row is the
    // fake's third request, the answer, not its second.
    const ledger = [row(1, "unavailable", 0, 0, 0n, false), row(3, "success", 6, 17, 12n, false)];
    const attempts = [{ ...attempt(1), fault: "storm:503" }, { ...attempt(2), fault: "storm:503" }, attempt(3)];
    expect(checkLedger(input(ledger, attempts, [truth(3, 6, 17)]))[0]).toMatchObject({ status: "pass", figure: expect.stringContaining("1/1 invoiced attempts matched (1 exactly") as unknown });
  });

  it("P1 counts only the capped key's refusals: a budget refusal of another key does not show the cap was reached", () => {
    const ops = [opOf({ request_id: "c1", key: "capped" }), opOf({ request_id: "a1", key: "app", type: "fail", code: "resource_exhausted", details: ["BudgetExceeded"] })];
    const ledger = [rowOf({ requestId: "c1", keyId: "k-capped", costMicros: 2500n })];
    const status = { app: { limit: 0n, spent: 0n, reserved: 0n }, capped: { limit: 3000n, spent: 2500n, reserved: 0n } };
    expect(checkCap(inputOf({ ops, capMicros: 3000n, collected: collected({ ledger, budgets: status }) }))).toMatchObject({ status: "fail", evidence: ["ledger 2500, status 2500, cap 3000, refusals 0"] });
  });

  it("P5 counts an op the OpenAI door refused with code rate_limit_exceeded (no detail) as refused", () => {
    const ops = [0, 10_000, 20_000, 30_000].map((t) => opOf({ request_id: `r${t}`, key: "rpm", t_start: t, t_end: t + 100 }));
    const refused = opOf({ request_id: "x", key: "rpm", type: "fail", code: "rate_limit_exceeded", t_start: 40_000, t_end: 40_100 });
    expect(checkRpm(inputOf({ ops: [...ops, refused], rpmLimit: 2 }))).toMatchObject({ status: "pass", figure: "max 4 admitted in any 60 s (limit 2, bound 2×); 5 offered, 1 refused" });
  });

  it("P9 reads a call's highest attempt, whatever order its rows come in", () => {
    const ledger = [rowOf({ attempt: 5 }), rowOf({ attempt: 1 })];
    expect(checkAttempts(inputOf({ maxAttemptsPerCall: 4, collected: collected({ ledger }) }))).toMatchObject({ status: "fail", figure: "max attempt index 5 (allowed 4)" });
  });

  it("P16 fails a reservation released twice (held below zero)", () => {
    const budgets = { app: { limit: 0n, spent: 0n, reserved: -12n }, capped: { limit: 3000n, spent: 0n, reserved: 0n } };
    expect(checkReservations(inputOf({ collected: collected({ budgets }) })).status).toBe("fail");
  });
});
