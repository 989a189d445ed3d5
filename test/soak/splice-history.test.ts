import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { attemptText } from "./attempt-text.js";
import { createSpliceCheck } from "./checkers-faults.js";
import { createHistory, type Op } from "./history.js";
import type { AttemptRecord } from "./soak-providers.js";

const attempt = (tag: string, attemptNo: number, fault?: string): AttemptRecord => ({ provider: "openai", tag, attemptNo, stream: true, ...(fault === undefined ? {} : { fault }), at: 0 });
const op = (tag: string, type: Op["type"], text: string, extra: Partial<Op> = {}): Op => ({ process: 1, type, request_id: tag, kind: "stream", key: "app", replica: 0, t_start: 0, t_end: 10, text, ...extra });

describe("P14 splice check, as operations end", () => {
  it("passes whole answers and prefixes of one attempt", () => {
    const check = createSpliceCheck();
    check.observe(op("t1", "ok", attemptText({ tag: "t1", attemptNo: 2 })), [attempt("t1", 1, "storm:503"), attempt("t1", 2)]);
    check.observe(op("t2", "fail", attemptText({ tag: "t2", attemptNo: 1 }).slice(0, 12)), [attempt("t2", 1, "cut")]);
    check.observe(op("t3", "fail", ""), []);
    expect([check.row().status, check.row().figure]).toEqual(["pass", "1 successes = one attempt's whole text; 1 failures = a prefix of one attempt; 0 violations"]);
  });

  it("fails a spliced answer, a success from a cut attempt, a truncated one and partial text from no attempt", () => {
    // Attempt 1's first words, then attempt 2's text from the same offset (a "resumed" stream), and
    // attempt 1's prefix followed by attempt 2's whole text (a replayed one).
    const [a1, a2] = [attemptText({ tag: "s", attemptNo: 1 }), attemptText({ tag: "s", attemptNo: 2 })];
    const cases: Array<[Op, AttemptRecord[]]> = [
      // (Both attempts whole here: only the words tell the resumed text from attempt 1's own.)
      [op("s", "ok", `${a1.slice(0, 14)}${a2.slice(14)}`), [attempt("s", 1), attempt("s", 2)]],
      [op("s", "ok", `${a1.slice(0, 14)}${a2}`), [attempt("s", 1, "cut"), attempt("s", 2)]],
      [op("s", "fail", `${a1.slice(0, 14)}${a2.slice(14, 20)}`), [attempt("s", 1, "cut"), attempt("s", 2, "cut")]],
      [op("c", "ok", attemptText({ tag: "c", attemptNo: 1 })), [attempt("c", 1, "midstream")]],
      [op("k", "ok", attemptText({ tag: "k", attemptNo: 1 }), { fault: "cut" }), [attempt("k", 1)]],
      [op("p", "fail", "p a9 w1"), [attempt("p", 1)]],
    ];
    for (const [o, attempts] of cases) {
      // Beside a whole success, so that the violation and not the want of a success fails the row.
      const check = createSpliceCheck();
      check.observe(op("w", "ok", attemptText({ tag: "w", attemptNo: 1 })), [attempt("w", 1)]);
      check.observe(o, attempts);
      expect([check.row().status, check.row().evidence?.length], o.request_id).toEqual(["fail", 1]);
    }
  });
});

describe("P14 splice check, what it may not pass", () => {
  it("fails a truncated success: a clean attempt's text cut short yet reported ok", () => {
    const whole = attemptText({ tag: "t", attemptNo: 1 });
    const check = createSpliceCheck();
    check.observe(op("t", "ok", whole.slice(0, -3), { code: "ok" }), [attempt("t", 1)]);
    expect(check.row()).toMatchObject({ status: "fail", figure: "0 successes = one attempt's whole text; 0 failures = a prefix of one attempt; 1 violations", evidence: [`t stream r0 ok ok 10ms: a success whose text is no attempt's whole answer: "${whole.slice(0, -3)}"`] });
  });

  it("fails a success built on an attempt the fake cut, or a cut stream of either front door reported ok", () => {
    // The cut came after the last delta, before the terminator: all the text, and still no success.
    const cutWhole = createSpliceCheck();
    cutWhole.observe(op("c", "ok", attemptText({ tag: "c", attemptNo: 1 }), { code: "ok" }), [attempt("c", 1, "cut")]);
    expect(cutWhole.row()).toMatchObject({ status: "fail", evidence: ["c stream r0 ok ok 10ms: a success from an attempt that was cut"] });
    for (const kind of ["stream", "openai_stream"] as const) {
      const check = createSpliceCheck();
      check.observe(op("k", "ok", attemptText({ tag: "k", attemptNo: 1 }), { kind, fault: "cut", code: "ok" }), [attempt("k", 1)]);
      expect(check.row(), kind).toMatchObject({ status: "fail", evidence: [`k ${kind} r0 ok ok 10ms: a cut stream reported success`] });
    }
  });

  it("passes a unary op that asked for a cut (the fake cuts streams only) and was answered whole", () => {
    const check = createSpliceCheck();
    check.observe(op("u", "ok", attemptText({ tag: "u", attemptNo: 1 }), { kind: "chat", fault: "cut", code: "ok" }), [attempt("u", 1)]);
    expect(check.row()).toMatchObject({ status: "pass", figure: "1 successes = one attempt's whole text; 0 failures = a prefix of one attempt; 0 violations" });
  });

  it("fails a run with no success to judge (nothing was shown)", () => {
    const check = createSpliceCheck();
    check.observe(op("t", "fail", attemptText({ tag: "t", attemptNo: 1 }).slice(0, 12)), [attempt("t", 1, "cut")]);
    expect(check.row()).toMatchObject({ status: "fail", figure: "0 successes = one attempt's whole text; 1 failures = a prefix of one attempt; 0 violations" });
  });
});

describe("soak history", () => {
  it("writes every event as it happens, shows each completion's text once, and keeps the op without it", () => {
    const file = join(mkdtempSync(join(tmpdir(), "sb-history-")), "history.jsonl");
    const seen: string[] = [];
    const history = createHistory({ file, onComplete: (o) => seen.push(o.text ?? "") });
    const base = { process: 1, request_id: "r1", kind: "chat" as const, key: "app" as const, replica: 0, t_start: 1 };
    history.invoke(base);
    expect(history.open().map((e) => e.request_id)).toEqual(["r1"]);
    history.complete({ ...base, type: "ok", t_end: 2, text: "the answer" });
    history.close();
    expect(seen).toEqual(["the answer"]);
    expect(history.ops()).toEqual([{ ...base, type: "ok", t_end: 2 }]);
    expect(history.open()).toEqual([]);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Op);
    expect(lines.map((l) => [l.type, l.text])).toEqual([["invoke", undefined], ["ok", "the answer"]]);
  });
});
