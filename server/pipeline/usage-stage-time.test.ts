import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import type { ModelChunk, ModelRequest } from "../providers/model.js";
import type { UsageRecordRow } from "../store/usage-store.js";
import { createScriptedPipeline } from "../verbs/testing/scripted-pipeline.js";
import { testCallMeta } from "./call-meta.testing.js";
import { createUsageStage } from "./usage-stage.js";

const ask: ModelRequest = { model: "", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] };

/** A usage stage whose clock reads `now`, recording what it appends and the instants it priced at. */
function stageAt(now: number) {
  const ledger: UsageRecordRow[] = [];
  const pricedAt: Date[] = [];
  const stage = createUsageStage({
    ledger: { append: async (rows) => void ledger.push(...rows), hasCapacity: () => true, retryDelayMs: () => 0 },
    cost: () => 42n,
    priceVersion: (_p, _m, at) => (pricedAt.push(at), at.getTime() < Date.parse("2026-12-01T00:00:00Z") ? "v-november" : "v-december"),
    logger: createLogCapture().logger,
    clock: { now: () => now },
  });
  const pipeline = stage(createScriptedPipeline(() => ({ type: "answer", text: "ok", costMicrosUsd: 42n })));
  return { ledger, pricedAt, pipeline };
}

describe("usage stage: a call admitted before a period's end and finished after it", () => {
  const bookedAt = new Date("2026-11-30T23:59:50Z");
  const finished = Date.parse("2026-12-01T00:00:20Z");

  it("dates its records at the reservation's instant (the budget period it was booked in), unary and streamed", async () => {
    const { ledger, pipeline } = stageAt(finished);
    await pipeline.chat({ meta: testCallMeta(), request: ask, bookedAt });
    const stream = pipeline.chatStream({ meta: testCallMeta(), request: ask, bookedAt });
    for await (const _ of stream.chunks as AsyncIterable<ModelChunk>);
    expect(ledger.map((r) => r.occurredAt.toISOString())).toEqual([bookedAt.toISOString(), bookedAt.toISOString()]);
    // Without a reservation: when the call reached the stage.
    await pipeline.chat({ meta: testCallMeta(), request: ask });
    expect(ledger[2]!.occurredAt.getTime()).toBe(finished);
  });

  it("names the price version in force when the cost was computed (now), not the booking instant", async () => {
    const { ledger, pricedAt, pipeline } = stageAt(finished);
    await pipeline.chat({ meta: testCallMeta(), request: ask, bookedAt });
    expect(pricedAt.map((d) => d.getTime())).toEqual([finished]);
    expect(ledger[0]).toMatchObject({ costMicros: 42n, priceVersion: "v-december" });
  });
});
