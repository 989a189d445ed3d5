import { describe, expect, it } from "vitest";
import { createCacheStats } from "../cache/cache-stats.js";
import { createHitRateGuess } from "../cache/hit-rate-guess.js";
import { createResponseCache, type ResponseCache } from "../cache/response-cache.js";
import { createInFlightLimiter } from "../limits/in-flight-limiter.js";
import { createSemanticCache } from "../cache/semantic/semantic-cache.js";
import { withDefaults, type ResolvedRoute, type RouteCachePolicy } from "../dispatch/route-types.js";
import type { ModelChunk } from "../providers/model.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createScriptedPipeline, type Script } from "../verbs/testing/scripted-pipeline.js";
import { laterTurn } from "../runtime/after-this-turn.testing.js";
import { behindAFrontDoor } from "./front-door.testing.js";
import { answeringScopeOf } from "./cache-plan.js";
import { createCacheStage } from "./cache-stage.js";
import { composeStages, type CallMeta, type ModelCall, type ModelPipeline } from "./model-call.js";
import { createOverloadStage } from "./overload-stage.js";
import { testCallMeta } from "./call-meta.testing.js";

const routes = (cache?: Partial<RouteCachePolicy>) => {
  const table: Record<string, ResolvedRoute> = {
    cached: withDefaults({ alias: "cached", targets: [{ provider: "openai", model: "m" }], cache: { ttlMs: 60_000, ...cache } }),
    plain: withDefaults({ alias: "plain", targets: [{ provider: "openai", model: "m" }] }),
  };
  return { resolve: (alias: string) => table[alias] };
};

/**
 * A gateway replica's cache stage over `state`, in front of a scripted provider; `pipeline` answers
 * as a front door does, on a later turn (`behindAFrontDoor`), `stage` as the stage itself does.
 */
function replica(state: StateBackend, script: Script, cache?: Partial<RouteCachePolicy>) {
  const inner = createScriptedPipeline(script);
  const stats = createCacheStats({ state });
  const stage = createCacheStage({
    cache: createResponseCache({ state }),
    semantic: createSemanticCache({ state }),
    stats,
    routes: routes(cache),
  });
  const own = stage(inner) as ModelPipeline;
  return { inner, stats, stage: own, pipeline: behindAFrontDoor(own) };
}

const meta = (over: Partial<CallMeta> = {}): CallMeta => testCallMeta({ route: "cached", requestId: "r1", userContentMessages: [0], ...over });
const call = (text: string, over: Partial<CallMeta> = {}): ModelCall => ({
  meta: meta(over),
  request: { model: "", messages: [{ role: "user", content: [{ type: "text", text }] }] },
});
const answer = (text: string, costMicrosUsd = 120n) => ({ type: "answer" as const, text, costMicrosUsd });

async function drain(chunks: AsyncIterable<ModelChunk>): Promise<ModelChunk[]> {
  const out: ModelChunk[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

describe("cache stage (exact)", () => {
  it("serves a repeat from the cache at cost 0 without calling the provider, and counts it", async () => {
    const { inner, stats, pipeline } = replica(createMemoryState(), [answer("Paris")]);
    const first = await pipeline.chat(call("capital of France?"));
    expect(first).toMatchObject({ cacheStatus: "miss", costMicrosUsd: 120n });
    const second = await pipeline.chat(call("capital of France?"));
    expect(second).toMatchObject({ cacheStatus: "hit_exact", costMicrosUsd: 0n, attempts: [], provider: "scripted" });
    expect(second.response.text).toBe("Paris");
    expect(inner.calls).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 5));
    expect(await stats.read("org_a", "cached")).toMatchObject({ exactHits: 1, misses: 1, savedMicrosUsd: 120, entries: 1, hitRatio: 0.5 });
  });

  it("answers without waiting for the cache write, which is queued just after the answer, on its turn", async () => {
    const memory = createMemoryState();
    let release!: () => void;
    const writes: string[] = [];
    // A backend whose writes are applied at once but acknowledged only when the test says so.
    const slowAck: StateBackend = Object.assign(Object.create(memory) as StateBackend, {
      set: async (key: string, value: Uint8Array, ttlMs: number) => {
        writes.push(key);
        await memory.set(key, value, ttlMs);
        await new Promise<void>((r) => (release = r));
      },
    });
    const { inner, stage: pipeline } = replica(slowAck, [answer("Paris"), answer("Madrid")]);
    // Neither the unary answer nor the stream's end waits for the acknowledgement (it never comes),
    // nor even for the write to start; by the end of their turn (before a later turn could read a
    // repeat) it is queued.
    const first = await pipeline.chat(call("capital of France?"));
    expect(first.cacheStatus).toBe("miss");
    expect(writes).toHaveLength(0);
    await laterTurn();
    expect(writes).toHaveLength(1);
    const streamed = await drain(pipeline.chatStream(call("capital of Spain?")).chunks);
    expect(streamed.some((c) => c.type === "text")).toBe(true);
    expect(writes).toHaveLength(1);
    await laterTurn();
    expect(writes).toHaveLength(2);
    expect((await pipeline.chat(call("capital of France?"))).cacheStatus).toBe("hit_exact");
    expect((await pipeline.chat(call("capital of Spain?"))).cacheStatus).toBe("hit_exact");
    expect(inner.calls).toHaveLength(2);
    release();
  });

  it("never gives tenant B the answer cached for tenant A", async () => {
    const { inner, pipeline } = replica(createMemoryState(), [answer("A's answer"), answer("B's answer")]);
    await pipeline.chat(call("same prompt"));
    const b = await pipeline.chat(call("same prompt", { caller: { orgId: "org_b", teamId: "t", keyId: "k" } }));
    expect(b.response.text).toBe("B's answer");
    expect(b.cacheStatus).toBe("miss");
    expect(inner.calls).toHaveLength(2);
  });

  it("passes calls on a route without a TTL, or without a caller, through as bypass", async () => {
    const { inner, pipeline } = replica(createMemoryState(), [answer("x"), answer("y"), answer("z")]);
    expect((await pipeline.chat(call("q", { route: "plain" }))).cacheStatus).toBe("bypass");
    expect((await pipeline.chat(call("q", { route: "plain" }))).cacheStatus).toBe("bypass");
    expect((await pipeline.chat(call("q", { caller: undefined }))).cacheStatus).toBe("bypass");
    expect(inner.calls).toHaveLength(3);
  });

  it("hands a bypassed stream through unwrapped (nothing held per open stream), reporting bypass", async () => {
    const { inner } = replica(createMemoryState(), [answer("x"), answer("y")]);
    const handed: ReturnType<ModelPipeline["chatStream"]>[] = [];
    const spy: ModelPipeline = { ...inner, chatStream: (c) => handed[handed.push(inner.chatStream(c)) - 1]! };
    const state = createMemoryState();
    const stage = createCacheStage({ cache: createResponseCache({ state }), semantic: createSemanticCache({ state }), stats: createCacheStats({ state }), routes: routes() })(spy);
    for (const over of [{ route: "plain" }, { cache: { mode: "bypass" as const } }]) {
      const stream = stage.chatStream(call("q", over));
      expect(stream.chunks).toBe(handed.at(-1)!.chunks);
      expect((await drain(stream.chunks)).some((c) => c.type === "text")).toBe(true);
      expect((await stream.result()).cacheStatus).toBe("bypass");
    }
    expect(inner.calls).toHaveLength(2);
  });

  it("does not store errors, and the next identical call reaches the provider", async () => {
    const { inner, pipeline } = replica(createMemoryState(), [{ type: "fail", error: new Error("429") }, answer("ok"), answer("unused")]);
    await expect(pipeline.chat(call("q"))).rejects.toThrow("429");
    expect((await pipeline.chat(call("q"))).response.text).toBe("ok");
    expect((await pipeline.chat(call("q"))).cacheStatus).toBe("hit_exact");
    expect(inner.calls).toHaveLength(2);
  });

  it("stores only normal finishes: a length-cut or filtered answer is not reused", async () => {
    const { inner, pipeline } = replica(createMemoryState(), [
      { type: "answer", text: "cut", finishReason: "length" },
      { type: "answer", text: "filtered", finishReason: "content_filter" },
      answer("whole"),
    ]);
    await pipeline.chat(call("q"));
    await pipeline.chat(call("q"));
    expect((await pipeline.chat(call("q"))).response.text).toBe("whole");
    expect(inner.calls).toHaveLength(3);
  });

  it("honours bypass, no_store, refresh and max-age per request", async () => {
    const state = createMemoryState();
    const { inner, pipeline } = replica(state, [answer("1"), answer("2"), answer("3"), answer("4"), answer("5")]);
    expect((await pipeline.chat(call("q", { cache: { mode: "no_store" } }))).cacheStatus).toBe("miss");
    expect((await pipeline.chat(call("q", { cache: { mode: "bypass" } }))).cacheStatus).toBe("bypass");
    expect((await pipeline.chat(call("q"))).response.text).toBe("3"); // nothing stored so far
    expect((await pipeline.chat(call("q"))).response.text).toBe("3"); // hit
    expect((await pipeline.chat(call("q", { cache: { mode: "refresh" } }))).response.text).toBe("4");
    expect((await pipeline.chat(call("q"))).response.text).toBe("4"); // the refreshed entry
    await new Promise((r) => setTimeout(r, 20));
    expect((await pipeline.chat(call("q", { cache: { mode: "default", maxAgeMs: 10 } }))).response.text).toBe("5");
    expect(inner.calls).toHaveLength(5);
  });

  it("feeds the hit-rate guess with lookups only: a refresh or a bypass says nothing about the next lookup", async () => {
    const state = createMemoryState();
    // α 0.5: one hit after a miss puts the guess at the threshold; one more miss would take it below.
    const hitRates = createHitRateGuess({ alpha: 0.5 });
    const stage = createCacheStage({ cache: createResponseCache({ state }), semantic: createSemanticCache({ state }), stats: createCacheStats({ state }), routes: routes(), hitRates });
    const pipeline = stage(createScriptedPipeline([answer("a"), answer("b"), answer("c"), answer("d"), answer("e")]));
    const likelyMiss = () => hitRates.likelyMiss("org_a", "cached");
    expect(likelyMiss()).toBe(true); // not seen yet
    await pipeline.chat(call("q")); // miss: 0
    await new Promise((r) => setTimeout(r, 5)); // the entry is stored behind the answer
    expect((await pipeline.chat(call("q"))).cacheStatus).toBe("hit_exact"); // 0.5
    expect(likelyMiss()).toBe(false);
    expect((await pipeline.chat(call("q", { cache: { mode: "refresh" } }))).cacheStatus).toBe("miss"); // no lookup
    expect((await pipeline.chat(call("q", { cache: { mode: "bypass" } }))).cacheStatus).toBe("bypass");
    await drain(pipeline.chatStream(call("q", { cache: { mode: "refresh" } })).chunks);
    expect(likelyMiss()).toBe(false);
    await pipeline.chat(call("another prompt")); // a looked-up miss does count: 0.25
    expect(likelyMiss()).toBe(true);
  });

  it("replays a hit as a stream, and a unary answer serves a streamed call", async () => {
    const { inner, pipeline } = replica(createMemoryState(), [answer("one two three four five six seven eight nine ten eleven twelve thirteen fourteen")]);
    const stored = await pipeline.chat(call("count"));
    const stream = pipeline.chatStream(call("count"));
    const chunks = await drain(stream.chunks);
    expect(chunks[0]).toEqual({ type: "start", model: "scripted-model", provider: stored.provider, cacheStatus: "hit_exact" });
    expect(chunks.filter((c) => c.type === "text").map((c) => (c as { text: string }).text).join("")).toBe(stored.response.text);
    expect(chunks.filter((c) => c.type === "text").length).toBeGreaterThan(1);
    expect(chunks.slice(-2).map((c) => c.type)).toEqual(["finish", "usage"]);
    expect(await stream.result()).toMatchObject({ cacheStatus: "hit_exact", costMicrosUsd: 0n, attempts: [] });
    expect(inner.calls).toHaveLength(1);
  });

  it("stores a streamed miss once it completed, but never a cut or abandoned stream", async () => {
    const start: ModelChunk = { type: "start", model: "m" };
    const { inner, pipeline } = replica(createMemoryState(), [
      { type: "stream", events: [{ chunk: start }, { chunk: { type: "text", text: "half" } }, { throw: new Error("connection reset") }] },
      { type: "stream", events: [{ chunk: start }, { chunk: { type: "text", text: "never finished" } }, { chunk: { type: "finish", reason: "stop" } }] },
      answer("left early"),
      answer("complete"),
    ]);
    await expect(drain(pipeline.chatStream(call("s")).chunks)).rejects.toThrow("connection reset");
    await drain(pipeline.chatStream(call("s")).chunks); // no usage event: not a complete stream
    const abandoned = pipeline.chatStream(call("s")).chunks[Symbol.asyncIterator]();
    await abandoned.next();
    await abandoned.return?.();
    const complete = pipeline.chatStream(call("s"));
    await drain(complete.chunks);
    expect((await complete.result()).cacheStatus).toBe("miss");
    const hit = await pipeline.chat(call("s"));
    expect(hit).toMatchObject({ cacheStatus: "hit_exact" });
    expect(hit.response.text).toBe("complete");
    expect(inner.calls).toHaveLength(4);
  });

  it("caches embeddings exactly", async () => {
    const { inner, pipeline } = replica(createMemoryState(), [{ type: "embed", vectors: [[1, 0]] }]);
    const embedCall = { meta: meta({ verb: "embed" }), request: { model: "", inputs: ["hello"] } };
    expect((await pipeline.embed(embedCall)).cacheStatus).toBe("miss");
    const hit = await pipeline.embed(embedCall);
    expect(hit).toMatchObject({ cacheStatus: "hit_exact", costMicrosUsd: 0n });
    expect(hit.response.vectors).toEqual([[1, 0]]);
    expect(inner.calls).toHaveLength(1);
  });

  it("serves a key limited to the route's model the answers of that target, though the provider named a dated snapshot", async () => {
    // As dispatch reports a unary answer: the provider's own model name (OpenAI answers
    // `gpt-4o-mini` with `gpt-4o-mini-2024-07-18`), while the attempt names the route's target.
    const scripted = createScriptedPipeline([
      { ...answer("Paris"), model: "m" },
      { ...answer("Paris"), model: "m" },
    ]);
    const snapshot = (r: Awaited<ReturnType<ModelPipeline["chat"]>>) => ({ ...r, model: "m-2024-07-18", response: { ...r.response, model: "m-2024-07-18" } });
    const state = createMemoryState();
    const stage = createCacheStage({ cache: createResponseCache({ state }), semantic: createSemanticCache({ state }), stats: createCacheStats({ state }), routes: routes() });
    const pipeline = behindAFrontDoor(stage({ ...scripted, chat: (c) => scripted.chat(c).then(snapshot) }));
    const limited = { allowedModels: ["m"] };
    expect((await pipeline.chat(call("capital of France?", limited))).cacheStatus).toBe("miss");
    const again = await pipeline.chat(call("capital of France?", limited));
    expect(again.cacheStatus).toBe("hit_exact");
    expect(again.model).toBe("m-2024-07-18");
    expect(scripted.calls).toHaveLength(1);
    // A key that may not reach the target still gets no answer it produced.
    expect((await pipeline.chat(call("capital of France?", { allowedModels: ["m-2024-07-18"] }))).cacheStatus).toBe("miss");
    expect(scripted.calls).toHaveLength(2);
  });

  it("fails open when the state backend fails: bypass, and no wait during the cooldown", async () => {
    const broken: StateBackend = {
      ...createMemoryState(),
      get: () => new Promise((_, reject) => setTimeout(() => reject(new Error("redis timeout")), 30)),
      set: () => Promise.reject(new Error("redis down")),
      increment: () => Promise.reject(new Error("redis down")),
    };
    const { inner, pipeline } = replica(broken, [answer("a"), answer("b")]);
    const first = await pipeline.chat(call("q"));
    expect(first.cacheStatus).toBe("bypass");
    const started = performance.now();
    const second = await pipeline.chat(call("q"));
    expect(second.cacheStatus).toBe("bypass");
    expect(performance.now() - started).toBeLessThan(20);
    expect(inner.calls).toHaveLength(2);
  });
});

describe("cache stage (a stream's result always settles)", () => {
  const within = <T>(p: Promise<T>, ms = 1_000): Promise<T | "timed out"> => Promise.race([p, new Promise<"timed out">((r) => setTimeout(() => r("timed out"), ms))]);
  /** The cache stage behind the overload stage (which holds a slot until the stream's result settles), over `inner`. */
  const behindOverload = (inner: ModelPipeline, cache: ResponseCache) => {
    const state = createMemoryState();
    const errors: string[] = [];
    const stage = createCacheStage({ cache, semantic: createSemanticCache({ state }), stats: createCacheStats({ state }), routes: routes(), onError: (op) => errors.push(op) });
    const limiter = createInFlightLimiter({ maxInFlight: 10, maxInFlightPerKey: 10 });
    return { errors, limiter, pipeline: composeStages([createOverloadStage({ limiter }), stage], inner) };
  };
  const read = (chunks: AsyncIterable<ModelChunk>) => drain(chunks).then((c) => c.map((x) => x.type).join(" "), (err: unknown) => `threw: ${String(err)}`);

  it.each(["throws", "rejects"] as const)("a lookup that %s is a bypass (fail open), reported; the result settles and the slot is released", async (how) => {
    const cache = createResponseCache({ state: createMemoryState() });
    const failing: ResponseCache = {
      ...cache,
      lookup: () => {
        if (how === "throws") throw new Error("lookup bug");
        return Promise.reject(new Error("lookup bug"));
      },
    };
    const { errors, limiter, pipeline } = behindOverload(createScriptedPipeline([answer("Paris"), answer("Paris")]), failing);
    const stream = pipeline.chatStream(call("capital of France?"));
    const chunks = await within(read(stream.chunks));
    expect(await within(stream.result())).toMatchObject({ cacheStatus: "bypass", costMicrosUsd: 120n });
    expect(limiter.inFlight()).toBe(0);
    expect(chunks).toBe("start text finish usage");
    expect(await pipeline.chat(call("capital of France?"))).toMatchObject({ cacheStatus: "bypass" });
    expect(errors).toEqual(["cache lookup", "cache lookup"]);
  });

  it("a stage inside that throws before its stream starts: the error is the stream's, the result settles unsent and the slot is released", async () => {
    const inner = createScriptedPipeline([]);
    const refusing: ModelPipeline = {
      ...inner,
      chatStream: () => {
        throw new Error("refused before the stream");
      },
    };
    const { limiter, pipeline } = behindOverload(refusing, createResponseCache({ state: createMemoryState() }));
    const stream = pipeline.chatStream(call("capital of France?"));
    const chunks = await within(read(stream.chunks));
    expect(await within(stream.result())).toMatchObject({ attempts: [], costMicrosUsd: 0n });
    expect(limiter.inFlight()).toBe(0);
    expect(chunks).toBe("threw: Error: refused before the stream");
  });
});

describe("cache stage (semantic)", () => {
  const semanticRoute = { semantic: true };

  it("serves a paraphrase from another replica's entry at the threshold, and misses below it", async () => {
    const state = createMemoryState();
    const a = replica(state, [answer("Paris")], semanticRoute);
    const b = replica(state, [answer("fresh")], semanticRoute);
    await a.pipeline.chat(call("What is the capital of France?"));
    const hit = await b.pipeline.chat(call("what's the capital of france"));
    expect(hit).toMatchObject({ cacheStatus: "hit_semantic", costMicrosUsd: 0n });
    expect(hit.response.text).toBe("Paris");
    const miss = await b.pipeline.chat(call("What is the capital of Germany?"));
    expect(miss.cacheStatus).toBe("miss");
    expect(b.inner.calls).toHaveLength(1);
  });

  it("draws the line at the route's threshold (this pair has cosine ≈ 0.965)", async () => {
    const [first, second] = ["Explain the difference between TCP and UDP.", "Explain the difference between UDP and TCP."];
    const loose = replica(createMemoryState(), [answer("x"), answer("y")], { semantic: true, semanticThreshold: 0.95 });
    await loose.pipeline.chat(call(first));
    expect((await loose.pipeline.chat(call(second))).cacheStatus).toBe("hit_semantic");
    const strict = replica(createMemoryState(), [answer("x"), answer("y")], { semantic: true, semanticThreshold: 0.97 });
    await strict.pipeline.chat(call(first));
    expect((await strict.pipeline.chat(call(second))).cacheStatus).toBe("miss");
  });

  it("counts a similarity at the threshold as a hit, float32 rounding aside: at threshold 1 a prompt that differs only in case hits", async () => {
    // Its vector is the stored one; their cosine, summed over float32 components, is 0.99999998.
    const r = replica(createMemoryState(), [answer("Paris"), answer("fresh")], { semantic: true, semanticThreshold: 1 });
    await r.pipeline.chat(call("What is the capital of France?"));
    const hit = await r.pipeline.chat(call("WHAT IS THE CAPITAL OF FRANCE?"));
    expect(hit.cacheStatus).toBe("hit_semantic");
    expect(hit.response.text).toBe("Paris");
  });

  it("never matches across tenants or across different non-user context", async () => {
    const state = createMemoryState();
    const r = replica(state, [answer("A"), answer("B"), answer("C")], semanticRoute);
    await r.pipeline.chat(call("What is the capital of France?"));
    const otherOrg = await r.pipeline.chat(call("what's the capital of france", { caller: { orgId: "org_b", teamId: "t", keyId: "k" } }));
    expect(otherOrg.cacheStatus).toBe("miss");
    const withSystem: ModelCall = call("what's the capital of france");
    withSystem.request.messages.unshift({ role: "system", content: [{ type: "text", text: "Answer in German." }] });
    withSystem.meta = { ...withSystem.meta, userContentMessages: [1] };
    expect((await r.pipeline.chat(withSystem)).cacheStatus).toBe("miss");
  });

  it("treats a semantic entry whose exact entry was purged as a miss on every replica", async () => {
    const state = createMemoryState();
    const a = replica(state, [answer("Paris")], semanticRoute);
    const b = replica(state, [answer("again")], semanticRoute);
    await a.pipeline.chat(call("What is the capital of France?"));
    await createResponseCache({ state }).purge({ orgId: "org_a" });
    expect((await b.pipeline.chat(call("what's the capital of france"))).cacheStatus).toBe("miss");
  });

  it("embeds with the route's embedding route when it names one", async () => {
    const state = createMemoryState();
    const script: Script = (c) => ("inputs" in c.request ? { type: "embed", vectors: [[0.6, 0.8]] } : answer("via route"));
    const r = replica(state, script, { semantic: true, embeddingRoute: "embed" });
    await r.pipeline.chat(call("first wording"));
    const hit = await r.pipeline.chat(call("entirely different wording"));
    expect(hit.cacheStatus).toBe("hit_semantic"); // the scripted model embeds everything alike
    const embeds = r.inner.calls.filter((c) => c.op === "embed");
    expect(embeds).toHaveLength(2);
    expect(embeds[0]!.call.meta).toMatchObject({ route: "embed", verb: "embed", cache: { mode: "bypass" } });
  });

  it("gives a hanging embedding route at most half the call's time: the call then goes on uncached and answers", async () => {
    // As dispatch does: an embedding that never answers fails at the deadline it is handed, and a
    // chat call whose deadline has passed fails without an answer.
    let embedCalledAt = 0;
    const script: Script = async (c) => {
      if ("inputs" in c.request) {
        embedCalledAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, c.meta.deadline - Date.now())));
        return { type: "fail", error: new Error("the request deadline passed before a target answered") };
      }
      return Date.now() < c.meta.deadline ? answer("answered") : { type: "fail", error: new Error("deadline passed") };
    };
    const errors: string[] = [];
    const stage = createCacheStage({
      cache: createResponseCache({ state: createMemoryState() }),
      semantic: createSemanticCache({ state: createMemoryState() }),
      stats: createCacheStats({ state: createMemoryState() }),
      routes: routes({ semantic: true, embeddingRoute: "embed" }),
      onError: (operation) => errors.push(operation),
    });
    const inner = createScriptedPipeline(script);
    const started = Date.now();
    const deadline = started + 1_000; // half of it is left for the call once the embedding fails
    const result = await stage(inner).chat(call("what is the capital of france", { deadline }));
    expect(result).toMatchObject({ cacheStatus: "miss", response: { text: "answered" } });
    expect(errors).toEqual(["semantic embedding"]);
    // Half the time left when the lookup started — at or after `started`, at or before the embedding was asked.
    const embedDeadline = inner.calls.find((c) => c.op === "embed")!.call.meta.deadline;
    expect(embedDeadline).toBeGreaterThanOrEqual(Math.floor((started + deadline) / 2));
    expect(embedDeadline).toBeLessThanOrEqual((embedCalledAt + deadline) / 2);
  });
});

describe("answeringScopeOf", () => {
  it("names a scope for every call the cache stage answers from an entry (each mode, route with and without a cache, with and without a caller)", async () => {
    const modes = ["default", "no_store", "bypass", "refresh"] as const;
    const { pipeline } = replica(createMemoryState(), Array.from({ length: 40 }, () => answer("Paris")));
    const deps = { routes: routes() };
    const mayAnswer = (meta: CallMeta) => answeringScopeOf(deps, meta) !== undefined;
    // An entry for the question on the cached route, for the caller.
    expect((await pipeline.chat(call("capital of France?"))).cacheStatus).toBe("miss");
    let hits = 0;
    for (const route of ["cached", "plain"]) {
      for (const mode of modes) {
        for (const caller of [testCallMeta().caller, undefined]) {
          const c = call("capital of France?", { route, cache: { mode }, caller });
          const status = (await pipeline.chat(c)).cacheStatus;
          if (status === "hit_exact") hits++;
          expect(mayAnswer(c.meta) || status !== "hit_exact").toBe(true);
          expect(mayAnswer(c.meta)).toBe(route === "cached" && caller !== undefined && (mode === "default" || mode === "no_store"));
        }
      }
    }
    expect(hits).toBe(2); // default and no_store on the cached route, with the caller
  });
});
