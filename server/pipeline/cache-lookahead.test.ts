import { describe, expect, it } from "vitest";
import { createCacheStats } from "../cache/cache-stats.js";
import { createResponseCache, type ResponseCache } from "../cache/response-cache.js";
import { createSemanticCache } from "../cache/semantic/semantic-cache.js";
import { withDefaults, type ResolvedRoute } from "../dispatch/route-types.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createScriptedPipeline, promptText, type Script } from "../verbs/testing/scripted-pipeline.js";
import { testCallMeta } from "./call-meta.testing.js";
import { createCacheLookahead } from "./cache-lookahead.js";
import { createCacheStage } from "./cache-stage.js";
import { composeStages, type CallMeta, type ModelCall, type Stage } from "./model-call.js";

const table: Record<string, ResolvedRoute> = {
  cached: withDefaults({ alias: "cached", targets: [{ provider: "openai", model: "m" }], cache: { ttlMs: 60_000 } }),
};
const routes = { resolve: (alias: string) => table[alias] };

/** A memory state that counts its reads. */
function countingState(): StateBackend & { gets: () => number } {
  const memory = createMemoryState();
  let gets = 0;
  return Object.assign(Object.create(memory) as StateBackend, {
    get: (key: string) => {
      gets++;
      return memory.get(key);
    },
    gets: () => gets,
  });
}

/**
 * lookahead → `between` (what server.ts puts there: rate limit, input guardrails) → cache stage →
 * a scripted provider; `cache` replaces the response cache the lookahead and the stage share.
 */
function chain(state: StateBackend, script: Script, between: Stage, cache: ResponseCache = createResponseCache({ state })) {
  const lookahead = createCacheLookahead({ cache, routes });
  const inner = createScriptedPipeline(script);
  const cacheStage = createCacheStage({ cache, semantic: createSemanticCache({ state }), stats: createCacheStats({ state }), routes, lookahead });
  return { inner, pipeline: composeStages([lookahead.stage, between, cacheStage], inner) };
}

/** A stage in between that runs `before` on each call first (and may replace the call). */
const betweenStage =
  (before: (call: ModelCall) => ModelCall | Promise<ModelCall>): Stage =>
  (next) => ({
    chat: async (call) => next.chat(await before(call)),
    chatStream: (call) => next.chatStream(call),
    embed: (call) => next.embed(call),
  });

const meta = (over: Partial<CallMeta> = {}): CallMeta => testCallMeta({ route: "cached", requestId: "r1", userContentMessages: [0], ...over });
const call = (text: string, over: Partial<CallMeta> = {}): ModelCall => ({ meta: meta(over), request: { model: "", messages: [{ role: "user", content: [{ type: "text", text }] }] } });
const answer = (text: string) => ({ type: "answer" as const, text, costMicrosUsd: 100n });


describe("cache lookahead", () => {
  it("starts the exact lookup before the stages in between run, and the cache stage uses it: one read per call", async () => {
    const state = countingState();
    const seenAtEntry: number[] = [];
    const { inner, pipeline } = chain(state, [answer("Paris")], betweenStage((c) => (seenAtEntry.push(state.gets()), c)));
    expect((await pipeline.chat(call("capital of France?"))).cacheStatus).toBe("miss");
    expect(seenAtEntry).toEqual([1]);
    expect(state.gets()).toBe(1);
    await new Promise((r) => setTimeout(r, 5)); // the store is written behind the answer
    const second = await pipeline.chat(call("capital of France?"));
    expect(second).toMatchObject({ cacheStatus: "hit_exact", costMicrosUsd: 0n });
    expect(second.response.text).toBe("Paris");
    expect(state.gets()).toBe(2);
    expect(inner.calls).toHaveLength(1);
  });

  it("uses the started lookup when a stage in between passes an equal request (same key), and streams use it too", async () => {
    const state = countingState();
    const copy = betweenStage((c) => ({ ...c, request: structuredClone(c.request) }));
    const { pipeline } = chain(state, [answer("Paris"), answer("Rome")], copy);
    await pipeline.chat(call("capital of France?"));
    expect(state.gets()).toBe(1);
    for await (const _ of pipeline.chatStream(call("capital of Italy?")).chunks);
    expect(state.gets()).toBe(2);
  });

  it("looks the new key up itself when a stage in between changed the request (a redaction): never the answer of the old key", async () => {
    const state = countingState();
    const cache = createResponseCache({ state });
    // Seed both keys: the original prompt's entry must not answer the redacted call.
    const seed = chain(state, [answer("for the original"), answer("for the redacted")], betweenStage((c) => c), cache);
    await seed.pipeline.chat(call("I am jane@example.com"));
    await seed.pipeline.chat(call("I am [EMAIL_1]"));
    await new Promise((r) => setTimeout(r, 5));
    const redact = betweenStage((c) => ({ ...c, request: { ...c.request, messages: [{ role: "user", content: [{ type: "text", text: "I am [EMAIL_1]" }] }] } }));
    const { inner, pipeline } = chain(state, [], redact, cache);
    const before = state.gets();
    const res = await pipeline.chat(call("I am jane@example.com"));
    expect(res).toMatchObject({ cacheStatus: "hit_exact" });
    expect(res.response.text).toBe("for the redacted");
    expect(state.gets() - before).toBe(2); // the lookahead's read, then the redacted key's
    expect(inner.calls).toHaveLength(0);
  });

  it("serves embeddings the same way: one read per call, and a repeat is a hit", async () => {
    const state = countingState();
    const { inner, pipeline } = chain(state, [{ type: "embed", vectors: [[0.1, 0.2]], costMicrosUsd: 5n }], betweenStage((c) => c));
    const embed = () => pipeline.embed({ meta: meta({ verb: "embed" }), request: { model: "", inputs: ["alpha"] } });
    expect((await embed()).cacheStatus).toBe("miss");
    expect(state.gets()).toBe(1);
    await new Promise((r) => setTimeout(r, 5));
    expect((await embed()).cacheStatus).toBe("hit_exact");
    expect(state.gets()).toBe(2);
    expect(inner.calls).toHaveLength(1);
  });

  it("starts nothing for bypass and refresh calls, or on a route without a cache", async () => {
    const state = countingState();
    const { inner, pipeline } = chain(state, [answer("a"), answer("b"), answer("c")], betweenStage((c) => c));
    await pipeline.chat(call("x", { cache: { mode: "bypass" } }));
    expect(state.gets()).toBe(0);
    await pipeline.chat(call("x", { cache: { mode: "refresh" } }));
    expect(state.gets()).toBe(0);
    await pipeline.chat(call("x", { route: "uncached" }));
    expect(state.gets()).toBe(0);
    expect(inner.calls).toHaveLength(3);
    expect(promptText(inner.chatCalls()[0]!)).toContain("x");
  });

  it("a call refused in between leaves its started lookup behind without an unhandled rejection, even if the lookup rejected", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const state = countingState();
      const failing: ResponseCache = { ...createResponseCache({ state }), lookup: () => Promise.reject(new Error("backend gone")) };
      const refuse = betweenStage(() => {
        throw new Error("rate limited");
      });
      const { inner, pipeline } = chain(state, [], refuse, failing);
      await expect(pipeline.chat(call("capital of France?"))).rejects.toThrow("rate limited");
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      expect(inner.calls).toHaveLength(0);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
