import { describe, expect, it } from "vitest";
import { createCacheStats } from "../cache/cache-stats.js";
import { createResponseCache } from "../cache/response-cache.js";
import { createSemanticCache } from "../cache/semantic/semantic-cache.js";
import { withDefaults, type ResolvedRoute } from "../dispatch/route-types.js";
import { createMemoryState } from "../store/state/memory-state.js";
import { createScriptedPipeline } from "../verbs/testing/scripted-pipeline.js";
import { laterTurn } from "../runtime/after-this-turn.testing.js";
import { createCacheStage } from "./cache-stage.js";
import { testCallMeta } from "./call-meta.testing.js";
import type { ModelCall, ModelPipeline } from "./model-call.js";

// RouteCachePolicy.ttl: "Time to live of cached answers"; CachePolicy.max_age: "Unset: the
// route's TTL decides". An operator who shortens a route's TTL (answers go stale sooner) must not
// keep getting answers older than the new TTL for as long as the old one would have allowed.
describe("cache stage: a route's TTL lowered after an answer was stored", () => {
  it("does not serve an entry older than the route's current TTL", async () => {
    let clock = 1_000_000;
    const now = () => clock;
    const state = createMemoryState({ now });
    let route: ResolvedRoute = withDefaults({ alias: "cached", targets: [{ provider: "openai", model: "m" }], cache: { ttlMs: 24 * 3_600_000 } });
    const inner = createScriptedPipeline([
      { type: "answer", text: "yesterday's answer", costMicrosUsd: 100n },
      { type: "answer", text: "fresh answer", costMicrosUsd: 100n },
    ]);
    const pipeline = createCacheStage({
      cache: createResponseCache({ state, now }),
      semantic: createSemanticCache({ state }),
      stats: createCacheStats({ state }),
      routes: { resolve: (alias) => (alias === "cached" ? route : undefined) },
      now,
    })(inner) as ModelPipeline;
    const call = (): ModelCall => ({
      meta: testCallMeta({ route: "cached" }),
      request: { model: "", messages: [{ role: "user", content: [{ type: "text", text: "news?" }] }] },
    });

    expect((await pipeline.chat(call())).cacheStatus).toBe("miss");
    await laterTurn();
    // The operator shortens the TTL to one minute (same targets); two hours pass.
    route = { ...route, cache: { ...route.cache!, ttlMs: 60_000 } };
    clock += 2 * 3_600_000;

    const again = await pipeline.chat(call());
    expect(again.response.text).toBe("fresh answer");
    expect(again.cacheStatus).toBe("miss");
  });
});
