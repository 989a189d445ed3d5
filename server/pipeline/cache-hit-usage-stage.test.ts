import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { emptyUsage, type ModelChunk, type ModelRequest } from "../providers/model.js";
import type { UsageRecordRow } from "../store/usage-store.js";
import { createCacheHitUsageStage } from "./cache-hit-usage-stage.js";
import type { CacheStatusName, CallMeta, ModelCallResult, ModelPipeline } from "./model-call.js";
import { testCallMeta } from "./call-meta.testing.js";

const meta = (over: Partial<CallMeta> = {}): CallMeta => testCallMeta({ tags: { feature: "search" }, ...over });
const request: ModelRequest = { model: "", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] };

/** An inner pipeline that answers every call with `status` (a hit: no attempts, cost 0). */
function inner(status: CacheStatusName): ModelPipeline {
  const result: ModelCallResult = {
    response: { text: "cached", toolCalls: [], finishReason: "stop", usage: emptyUsage(), model: "gpt-test" },
    provider: "openai",
    model: "gpt-test",
    attempts: [],
    costMicrosUsd: 0n,
    cacheStatus: status,
  };
  return {
    chat: async () => result,
    embed: async () => ({ ...result, response: { vectors: [[1]], usage: emptyUsage(), model: "e" } }),
    chatStream: () => ({
      chunks: (async function* (): AsyncGenerator<ModelChunk> {
        yield { type: "text", text: "cac" };
        yield { type: "text", text: "hed" };
      })(),
      result: async () => result,
    }),
  };
}

function stage(status: CacheStatusName) {
  const rows: UsageRecordRow[] = [];
  let n = 0;
  const pipeline = createCacheHitUsageStage({
    ledger: { append: async (r) => void rows.push(...r) },
    logger: createLogCapture().logger,
    clock: { now: () => Date.parse("2026-11-29T12:00:00Z") },
    newCallId: () => `hit-${++n}`,
  })(inner(status));
  return { rows, pipeline };
}

describe("cache-hit usage stage", () => {
  it("writes one zero-cost attempt-0 row per hit, with the call's tenancy and tags", async () => {
    const { rows, pipeline } = stage("hit_exact");
    await pipeline.chat({ meta: meta(), request });
    await pipeline.embed({ meta: meta({ verb: "embed" }), request: { model: "", inputs: ["x"] } });
    expect(rows).toEqual([
      expect.objectContaining({ callId: "hit-1", attempt: 0, costMicros: 0n, inputTokens: 0, outputTokens: 0, cacheStatus: "hit_exact", priceVersion: "cache", orgId: "org_a", keyId: "key_a", tags: { feature: "search" }, verb: "chat", outcome: "success", estimated: false }),
      expect.objectContaining({ callId: "hit-2", attempt: 0, verb: "embed" }),
    ]);
    expect(rows[0]!.occurredAt.toISOString()).toBe("2026-11-29T12:00:00.000Z");
  });

  it("records a streamed hit once, even when the caller stops reading after the first chunk", async () => {
    const { rows, pipeline } = stage("hit_semantic");
    const stream = pipeline.chatStream({ meta: meta(), request });
    for await (const _ of stream.chunks) break;
    expect(rows).toEqual([expect.objectContaining({ attempt: 0, cacheStatus: "hit_semantic" })]);
    expect(await stream.result()).toMatchObject({ cacheStatus: "hit_semantic" });
  });

  it("writes nothing for misses, bypasses and calls without a caller", async () => {
    for (const status of ["miss", "bypass"] as const) {
      const { rows, pipeline } = stage(status);
      await pipeline.chat({ meta: meta(), request });
      for await (const _ of pipeline.chatStream({ meta: meta(), request }).chunks);
      expect(rows, status).toEqual([]);
    }
    const { rows, pipeline } = stage("hit_exact");
    const { caller: _, ...anonymous } = meta();
    await pipeline.chat({ meta: anonymous, request });
    expect(rows).toEqual([]);
  });
});
