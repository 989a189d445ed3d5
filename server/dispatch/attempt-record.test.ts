import { describe, expect, it } from "vitest";
import { AttemptOutcome } from "../../gen/ts/switchboard/v1/common_pb.js";
import { emptyUsage } from "../providers/model.js";
import { createAttemptLog, toProtoAttempt } from "./attempt-record.js";

describe("attempt log", () => {
  it("indexes attempts by start, lists them by index, and records each once", () => {
    const log = createAttemptLog();
    const first = log.begin({ targetIndex: 0, provider: "a", model: "m", hedged: false });
    const twin = log.begin({ targetIndex: 1, provider: "b", model: "m", hedged: true });
    expect(twin.finish({ outcome: "success", latencyMs: 5, usage: emptyUsage() })).toBe(true);
    expect(first.finish({ outcome: "cancelled", latencyMs: 9, usage: emptyUsage(true) })).toBe(true);
    expect(first.finish({ outcome: "success", latencyMs: 1, usage: emptyUsage() })).toBe(false);
    expect(log.records().map((r) => [r.index, r.outcome])).toEqual([
      [1, "cancelled"],
      [2, "success"],
    ]);
  });
  it("converts to the proto Attempt", () => {
    const a = toProtoAttempt({
      index: 2,
      targetIndex: 1,
      provider: "anthropic",
      model: "claude",
      outcome: "stream_error",
      latencyMs: 1_234.4,
      timeToFirstTokenMs: 56,
      usage: { ...emptyUsage(true), inputTokens: 10, outputTokens: 3 },
      httpStatus: 200,
      error: "cut",
      hedged: true,
    });
    expect(a).toMatchObject({ index: 2, targetIndex: 1, provider: "anthropic", model: "claude", outcome: AttemptOutcome.STREAM_ERROR, inputTokens: 10n, outputTokens: 3n, httpStatus: 200, error: "cut", hedged: true });
    expect(a.latency).toMatchObject({ seconds: 1n, nanos: 234_000_000 });
    expect(a.timeToFirstToken).toMatchObject({ seconds: 0n, nanos: 56_000_000 });
  });
});
