import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GuardrailStage, ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createCacheStats } from "../cache/cache-stats.js";
import { createResponseCache } from "../cache/response-cache.js";
import { createSemanticCache } from "../cache/semantic/semantic-cache.js";
import { attachAttempts, toProtoAttempt, type AttemptRecord } from "../dispatch/attempt-record.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import { withDefaults, type ResolvedRoute } from "../dispatch/route-types.js";
import { providerErrorToConnect } from "../errors/provider-error-to-connect.js";
import { compilePolicy } from "../guardrails/policy.js";
import { emptyUsage, type ModelChunk } from "../providers/model.js";
import { ProviderError } from "../providers/provider-error.js";
import { createMemoryState } from "../store/state/memory-state.js";
import { createScriptedPipeline, type Script } from "../verbs/testing/scripted-pipeline.js";
import { laterTurn } from "../runtime/after-this-turn.testing.js";
import { createCacheStage } from "./cache-stage.js";
import { testCallMeta } from "./call-meta.testing.js";
import { createDispatchPipeline, failedCallAccounting } from "./dispatch-pipeline.js";
import { createGuardrailOutputStage } from "./guardrail-stage-output.js";
import type { CacheModeName, ModelCall, ModelPipeline, Stage } from "./model-call.js";
import { withLookupBillingOnFailure } from "./semantic-lookup-billing.js";

// README: "Every response carries `usage`: tokens, cost in integer micro-USD, …, every attempt
// (failed ones included)"; RouteCachePolicy.embedding_route: "its cost is billed like any Embed
// call". The embedding call the semantic lookup makes is billed to the caller (the usage stage
// inside the cache stage records it under the same request id), so the call's reported usage
// must include it — a semantic hit must not report cost 0 and no attempts for a request the
// ledger billed.

const table: Record<string, ResolvedRoute> = {
  cached: withDefaults({ alias: "cached", targets: [{ provider: "openai", model: "m" }], cache: { ttlMs: 60_000, semantic: true, embeddingRoute: "embed" } }),
  embed: withDefaults({ alias: "embed", targets: [{ provider: "openai", model: "e" }] }),
};
/** Embeddings cost 50 (all alike: every paraphrase is a semantic candidate), answers 120. */
const script: Script = (c) =>
  "inputs" in c.request ? { type: "embed", vectors: [[0.6, 0.8]], costMicrosUsd: 50n, model: "e" } : { type: "answer", text: "Paris", costMicrosUsd: 120n };

function cacheOver(inner: ModelPipeline, screen?: Stage): ModelPipeline {
  const state = createMemoryState();
  return createCacheStage({
    cache: createResponseCache({ state }),
    semantic: createSemanticCache({ state }),
    stats: createCacheStats({ state }),
    routes: { resolve: (alias) => table[alias] },
    ...(screen === undefined ? {} : { screen }),
  })(inner) as ModelPipeline;
}

const call = (text: string, mode: CacheModeName = "default"): ModelCall => ({
  meta: testCallMeta({ route: "cached", userContentMessages: [0], cache: { mode } }),
  request: { model: "", messages: [{ role: "user", content: [{ type: "text", text }] }] },
});

async function drain(chunks: AsyncIterable<ModelChunk>): Promise<void> {
  for await (const _ of chunks);
}

describe("semantic cache with an embedding route: the embedding call's cost in the reported usage", () => {
  it("reports the billed embedding call on a semantic hit and on a miss", async () => {
    const inner = createScriptedPipeline(script);
    const pipeline = cacheOver(inner);

    const miss = await pipeline.chat(call("What is the capital of France?"));
    await laterTurn();
    const hit = await pipeline.chat(call("what's the capital of france"));
    expect(hit.cacheStatus).toBe("hit_semantic");
    // Two embedding calls were made and billed (50 each), one chat call (120).
    expect(inner.calls.filter((c) => c.op === "embed")).toHaveLength(2);
    expect({ miss: miss.costMicrosUsd, hit: hit.costMicrosUsd }).toEqual({ miss: 170n, hit: 50n });
  });

  it("lists the lookup's attempts first, marked as the lookup's and numbered with the call's in start order", async () => {
    const pipeline = cacheOver(createScriptedPipeline(script));
    const miss = await pipeline.chat(call("What is the capital of France?"));
    await laterTurn();
    const hit = await pipeline.chat(call("what's the capital of france"));
    const shape = (a: AttemptRecord) => [a.index, a.model, a.semanticLookup === true];
    expect(miss.attempts.map(shape)).toEqual([
      [1, "e", true],
      [2, "scripted-model", false],
    ]);
    expect(hit.attempts.map(shape)).toEqual([[1, "e", true]]);
    // The answer's tokens are the answer's, and the provider that answered is the chat target's.
    expect(miss.response.usage).toMatchObject({ inputTokens: 10, outputTokens: 5 });
    expect(miss.model).toBe("scripted-model");
  });

  it("does the same for streams (the result a stream's final usage is made from)", async () => {
    const pipeline = cacheOver(createScriptedPipeline(script));
    const miss = pipeline.chatStream(call("What is the capital of France?"));
    await drain(miss.chunks);
    await laterTurn();
    const hit = pipeline.chatStream(call("what's the capital of france"));
    await drain(hit.chunks);
    expect(await miss.result()).toMatchObject({ cacheStatus: "miss", costMicrosUsd: 170n });
    expect(await hit.result()).toMatchObject({ cacheStatus: "hit_semantic", costMicrosUsd: 50n });
    expect((await hit.result()).attempts).toHaveLength(1);
  });

  it("keeps an exact hit at cost 0 (no embedding is made for it), and the entry at the answer's own cost", async () => {
    const inner = createScriptedPipeline(script);
    const pipeline = cacheOver(inner);
    await pipeline.chat(call("What is the capital of France?"));
    await laterTurn();
    const exact = await pipeline.chat(call("What is the capital of France?"));
    expect(exact).toMatchObject({ cacheStatus: "hit_exact", costMicrosUsd: 0n, attempts: [] });
    expect(inner.calls.filter((c) => c.op === "embed")).toHaveLength(1);
  });

  it("reports the embedding a refresh makes (to index the answer it stores)", async () => {
    const pipeline = cacheOver(createScriptedPipeline(script));
    const refreshed = await pipeline.chat(call("What is the capital of France?", "refresh"));
    expect(refreshed).toMatchObject({ cacheStatus: "miss", costMicrosUsd: 170n });
  });

  it("reports what a failed embedding still billed when the call goes on uncached", async () => {
    const scripted = createScriptedPipeline(script);
    // The embed call through dispatch, timing out after its input was sent: billed at its estimate.
    const timedOut: AttemptRecord = { index: 1, targetIndex: 0, provider: "openai", model: "e", outcome: "timeout", latencyMs: 5, usage: { ...emptyUsage(), inputTokens: 7, estimated: true }, hedged: false };
    const dispatcher = {
      embed: () => Promise.reject(attachAttempts(new ConnectError("timed out", Code.DeadlineExceeded), [timedOut])),
    } as unknown as Dispatcher;
    const embedding = createDispatchPipeline({ dispatcher, routes: { resolve: (alias) => table[alias] }, cost: (_p, _m, u) => BigInt(u.inputTokens) });
    const pipeline = cacheOver({ chat: (c) => scripted.chat(c), chatStream: (c) => scripted.chatStream(c), embed: (c) => embedding.embed(c) });
    const result = await pipeline.chat(call("What is the capital of France?"));
    expect(result).toMatchObject({ cacheStatus: "miss", costMicrosUsd: 127n });
    expect(result.attempts.map((a) => [a.outcome, a.semanticLookup === true])).toEqual([
      ["timeout", true],
      ["success", false],
    ]);
  });
});

describe("semantic cache with an embedding route: a call that fails after the lookup reports the embedding too", () => {
  // The chat target answers 500 (input estimated at 3 tokens: billed 3); the embedding costs 50.
  const fiveHundred: AttemptRecord = { index: 1, targetIndex: 0, provider: "openai", model: "m", outcome: "unavailable", latencyMs: 5, usage: { ...emptyUsage(), inputTokens: 3, estimated: true }, httpStatus: 500, hedged: false };
  const providerFailure = () => attachAttempts(providerErrorToConnect(new ProviderError("server_error", "the provider failed"), { route: "cached", attempts: [toProtoAttempt(fiveHundred)] }), [fiveHundred]);
  /** The cache stage over a scripted embedding and a dispatch whose chat target fails (after `text`, when given, on streams). */
  function failingChat(text?: string): ModelPipeline {
    const scripted = createScriptedPipeline(script);
    const dispatcher = {
      chat: () => Promise.reject(providerFailure()),
      chatStream: () => ({
        chunks: (async function* () {
          if (text !== undefined) yield* [{ type: "start", model: "m" }, { type: "text", text }] satisfies ModelChunk[];
          throw providerFailure();
        })(),
        attempts: () => [fiveHundred],
      }),
    } as unknown as Dispatcher;
    const chat = createDispatchPipeline({ dispatcher, routes: { resolve: (alias) => table[alias] }, cost: (_p, _m, u) => BigInt(u.inputTokens) });
    return cacheOver({ chat: (c) => chat.chat(c), chatStream: (c) => chat.chatStream(c), embed: (c) => scripted.embed(c) });
  }
  const shape = (a: AttemptRecord) => [a.index, a.model, a.semanticLookup === true];
  /** What the error reports: its accounting (the access line, the observe stage) and its ProviderAttempts detail. */
  const reported = (err: unknown) => {
    const spent = failedCallAccounting(err);
    const detail = err instanceof ConnectError ? err.findDetails(ProviderAttemptsSchema) : [];
    return { cost: spent?.costMicrosUsd, attempts: spent?.attempts.map(shape), detail: detail.map((d) => [d.route, d.attempts.map((a) => [a.index, a.model])]) };
  };
  const failure = (p: Promise<unknown>) => p.then(() => expect.unreachable("the call succeeded"), (err: unknown) => err);
  const REPORTED = {
    cost: 53n,
    attempts: [
      [1, "e", true],
      [2, "m", false],
    ],
    detail: [
      [
        "cached",
        [
          [1, "e"],
          [2, "m"],
        ],
      ],
    ],
  };

  it("Chat: the error lists the lookup's attempts first and its cost added to the chat's", async () => {
    const err = await failure(failingChat().chat(call("What is the capital of France?")));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect(reported(err)).toEqual(REPORTED);
  });

  it("ChatStream: the same before any content, and mid-stream as the stream's result reports it", async () => {
    const before = failingChat().chatStream(call("What is the capital of France?"));
    expect(reported(await failure(drain(before.chunks)))).toEqual(REPORTED);
    expect(await before.result()).toMatchObject({ costMicrosUsd: 53n });

    const midway = failingChat("Par").chatStream(call("What is the capital of France?"));
    const err = await failure(drain(midway.chunks));
    expect(reported(err)).toEqual(REPORTED);
    const result = await midway.result();
    expect({ cost: result.costMicrosUsd, attempts: result.attempts.map(shape) }).toEqual({ cost: REPORTED.cost, attempts: REPORTED.attempts });
  });

  it("a refusal after the lookup (no attempt of its own) reports the lookup's, in a ProviderAttempts detail added for the route", async () => {
    const refusal = new ConnectError("over budget", Code.ResourceExhausted);
    const scripted = createScriptedPipeline((c) => ("inputs" in c.request ? { type: "embed", vectors: [[0.6, 0.8]], costMicrosUsd: 50n, model: "e" } : { type: "fail", error: refusal }));
    const err = await failure(cacheOver(scripted).chat(call("What is the capital of France?")));
    expect(err).toBe(refusal);
    expect(reported(err)).toEqual({ cost: 50n, attempts: [[1, "e", true]], detail: [["cached", [[1, "e"]]]] });
  });

  it("a semantic hit the output guardrails block reports its lookup once, unary and streamed", async () => {
    const policy = compilePolicy(
      create(GuardrailPolicySchema, {
        name: "orgs/acme/guardrail-policies/p",
        rules: [{ id: "deny", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases: ["paris"] } } }],
      }),
    );
    // Only the hit passes this screen: the miss stores "Paris" unchecked.
    const screen = createGuardrailOutputStage({ policies: { forCall: async () => [policy] }, external: { check: async () => ({ decision: "allow" }) }, logger: createLogCapture().logger });
    const pipeline = cacheOver(createScriptedPipeline(script), screen);
    await pipeline.chat(call("What is the capital of France?"));
    await laterTurn();
    const once = { cost: 50n, attempts: [[1, "e", true]], detail: [["cached", [[1, "e"]]]] };
    const blocked = await failure(pipeline.chat(call("what's the capital of france")));
    expect((blocked as ConnectError).code).toBe(Code.PermissionDenied);
    expect(reported(blocked)).toEqual(once);
    expect(reported(await failure(drain(pipeline.chatStream(call("capital of france?")).chunks)))).toEqual(once);
  });

  it("reports the lookup once, however often the error passes a cache stage", async () => {
    const err = await failure(failingChat().chat(call("What is the capital of France?")));
    const lookup = { attempts: [{ ...fiveHundred, model: "e", outcome: "success" as const }], costMicrosUsd: 50n };
    expect(withLookupBillingOnFailure(err, lookup, "cached")).toBe(err);
    expect(reported(err)).toEqual(REPORTED);
  });
});
