import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { AttemptRecord } from "../dispatch/attempt-record.js";
import { failedCallAccounting, reportFailedCall } from "../pipeline/dispatch-pipeline.js";
import { emptyUsage } from "../providers/model.js";
import { builtinTemplate } from "./templates/builtin-templates.js";
import { createUsageMeter, sumUsage, type CallUsage } from "./verb-usage.js";

const attempt = (targetIndex: number, outcome: AttemptRecord["outcome"], hedged = false): AttemptRecord => ({
  index: 1,
  targetIndex,
  provider: "p",
  model: "m",
  outcome,
  latencyMs: 1,
  usage: emptyUsage(),
  hedged,
});

const call = (n: number, over: Partial<CallUsage> = {}): CallUsage => ({
  usage: { inputTokens: n, outputTokens: 2 * n, cachedInputTokens: n % 3, cacheWriteInputTokens: 1, reasoningTokens: n % 2, estimated: false },
  provider: `p${n}`,
  model: `m${n}`,
  attempts: [attempt(0, "success")],
  costMicrosUsd: BigInt(n) * 1_000_001n,
  cacheStatus: "miss",
  ...over,
});

describe("sumUsage", () => {
  it("sums every token count and the cost exactly, and counts the calls", () => {
    const u = sumUsage([call(1), call(2), call(7)]);
    expect(u.tokens).toEqual({ inputTokens: 10, outputTokens: 20, cachedInputTokens: 1 + 2 + 1, cacheWriteInputTokens: 3, reasoningTokens: 2, estimated: false });
    expect(u.costMicrosUsd).toBe(10_000_010n);
    expect(u.modelCalls).toBe(3);
    expect([u.provider, u.model]).toEqual(["p7", "m7"]);
  });

  it("concatenates attempts renumbered across calls and counts fallbacks (not hedges)", () => {
    const u = sumUsage([
      call(1, { attempts: [attempt(0, "unavailable"), attempt(1, "success")] }),
      call(2, { attempts: [attempt(0, "timeout"), attempt(0, "success", true), attempt(1, "success")] }),
    ]);
    expect(u.attempts.map((a) => [a.index, a.targetIndex, a.outcome])).toEqual([
      [1, 0, "unavailable"],
      [2, 1, "success"],
      [3, 0, "timeout"],
      [4, 0, "success"],
      [5, 1, "success"],
    ]);
    expect(u.fallbacks).toBe(2);
  });

  it("a hedge on another target is not a fallback; a move back to an earlier target is", () => {
    const hedgedElsewhere = sumUsage([call(1, { attempts: [attempt(0, "cancelled"), attempt(1, "success", true)] })]);
    expect(hedgedElsewhere.fallbacks).toBe(0);
    const back = sumUsage([call(1, { attempts: [attempt(1, "unavailable"), attempt(0, "success")] })]);
    expect(back.fallbacks).toBe(1);
    // Fallbacks are counted within a call: a new call starting on target 0 is not a move.
    expect(sumUsage([call(1, { attempts: [attempt(1, "success")] }), call(2, { attempts: [attempt(0, "success")] })]).fallbacks).toBe(0);
    // Nor is the first attempt of a call after its semantic lookup's embedding attempts (reported with it, first).
    expect(sumUsage([call(1, { attempts: [{ ...attempt(1, "success"), semanticLookup: true }, attempt(0, "success")] })]).fallbacks).toBe(0);
  });

  it("is estimated if any call was, and reports mixed cache statuses as a miss", () => {
    const u = sumUsage([call(1, { cacheStatus: "hit_exact" }), call(2, { usage: { ...emptyUsage(true) } })]);
    expect(u.tokens.estimated).toBe(true);
    expect(u.cacheStatus).toBe("miss");
    expect(sumUsage([call(1, { cacheStatus: "hit_exact" }), call(2, { cacheStatus: "hit_exact" })]).cacheStatus).toBe("hit_exact");
  });

  it("records the template version", () => {
    expect(sumUsage([call(1)], builtinTemplate("summarize")).template).toEqual({ name: "builtin/summarize", version: 1, builtin: true });
    expect(sumUsage([]).template).toBeUndefined();
  });
});

describe("createUsageMeter: a verb's failure", () => {
  const answer = (n: number) => ({
    response: { text: "", toolCalls: [], finishReason: "stop" as const, usage: call(n).usage, model: `m${n}` },
    provider: `p${n}`,
    model: `m${n}`,
    attempts: [{ ...attempt(0, "success"), model: `m${n}` }],
    costMicrosUsd: BigInt(n),
    cacheStatus: "miss" as const,
  });
  const failedWith = (cost: bigint, ...models: string[]) => {
    const err = new ConnectError("unavailable", Code.Unavailable);
    reportFailedCall(err, { attempts: models.map((model) => ({ ...attempt(0, "unavailable"), model })), costMicrosUsd: cost });
    return err;
  };
  const listed = (err: ConnectError) => err.findDetails(ProviderAttemptsSchema)[0]?.attempts.map((a) => [a.index, a.model]);

  it("reports every call metered, answered and failed, in order and renumbered, its cost summed", async () => {
    const meter = createUsageMeter();
    await meter.chat(Promise.resolve(answer(3)));
    const err = failedWith(4n, "x", "y");
    await expect(meter.chat(Promise.reject(err))).rejects.toBe(err);
    expect(meter.failure(err, "r")).toBe(err);
    expect(listed(err)).toEqual([
      [1, "m3"],
      [2, "x"],
      [3, "y"],
    ]);
    expect(failedCallAccounting(err)).toMatchObject({ costMicrosUsd: 7n });
    // The verb's own refusal after the calls (a contract still broken) reports them too.
    const refused = new ConnectError("does not validate", Code.FailedPrecondition);
    meter.failure(refused, "r");
    expect(listed(refused)).toEqual(listed(err));
    expect(failedCallAccounting(refused)?.costMicrosUsd).toBe(7n);
  });

  it("meters an error once, however many calls rejected with it; nothing sent leaves the error as it is", async () => {
    const meter = createUsageMeter();
    const err = failedWith(2n, "x");
    await Promise.allSettled([meter.chat(Promise.reject(err)), meter.chat(Promise.reject(err))]);
    meter.failure(err, "r");
    expect(failedCallAccounting(err)).toMatchObject({ costMicrosUsd: 2n, attempts: [{ index: 1, model: "x" }] });

    const empty = createUsageMeter();
    const refused = new ConnectError("over budget", Code.ResourceExhausted);
    await expect(empty.chat(Promise.reject(refused))).rejects.toBe(refused);
    expect(empty.failure(refused, "r")).toBe(refused);
    expect(refused.details).toEqual([]);
    expect(failedCallAccounting(refused)).toBeUndefined();
  });
});
