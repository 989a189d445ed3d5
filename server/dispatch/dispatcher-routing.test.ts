import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CapabilityMissingSchema, ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { AttemptOutcome } from "../../gen/ts/switchboard/v1/common_pb.js";
import { chatRequest, dispatcherOver, drain, route, seededRandom, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail, type ScriptStep } from "./testing/scripted-provider.js";

describe("capability filtering", () => {
  const toolsRequest = chatRequest("x", { tools: [{ name: "lookup", parameters: { type: "object" } }] });

  it("refuses tools on a target without tools: FailedPrecondition + CapabilityMissing", async () => {
    const a = createScriptedProvider({ kind: "a", capabilities: { tools: false }, script: [answer("x")] });
    const d = dispatcherOver([a]);
    const err = await d.chat(route([{ provider: "a", model: "m" }]), toolsRequest, within(5_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
    const [detail] = (err as ConnectError).findDetails(CapabilityMissingSchema);
    expect(detail?.capabilities).toEqual(["tools"]);
    expect(detail?.targets).toEqual(["a/m"]);
    expect(a.calls).toHaveLength(0);
  });

  it("skips targets that cannot serve the request without recording them", async () => {
    const a = createScriptedProvider({ kind: "a", capabilities: { tools: false }, script: [answer("a")] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const d = dispatcherOver([a, b]);
    const res = await d.chat(route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }]), toolsRequest, within(5_000));
    expect(res.response.text).toBe("b");
    expect(res.attempts.map((x) => [x.index, x.targetIndex])).toEqual([[1, 1]]);
    expect(a.calls).toHaveLength(0);
  });
});

describe("provider bounds on request options", () => {
  const fiveStops = chatRequest("x", { stop: ["a", "b", "c", "d", "e"] });

  it("skips a target whose provider takes fewer stop sequences, without recording it, and answers from the next", async () => {
    const a = createScriptedProvider({ kind: "a", limits: { maxStopSequences: 4 }, script: [answer("a")] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const d = dispatcherOver([a, b]);
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }]);
    const res = await d.chat(r, fiveStops, within(5_000));
    expect(res.response.text).toBe("b");
    expect(res.attempts.map((x) => [x.index, x.targetIndex])).toEqual([[1, 1]]);
    const streamed = await drain(d.chatStream(r, fiveStops, within(5_000)).chunks);
    expect(streamed.error).toBeUndefined();
    expect(a.calls).toHaveLength(0);
    expect(b.calls.map((c) => c.op)).toEqual(["chat", "chatStream"]);
  });

  it("refuses with INVALID_ARGUMENT on stop, before any call, when no target takes that many", async () => {
    const a = createScriptedProvider({ kind: "a", limits: { maxStopSequences: 4 }, script: [answer("a")] });
    const d = dispatcherOver([a]);
    const err = await d.chat(route([{ provider: "a", model: "m" }]), fiveStops, within(5_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toMatch(/^stop: /);
    expect(() => d.chatStream(route([{ provider: "a", model: "m" }]), fiveStops, within(5_000))).toThrow(expect.objectContaining({ code: Code.InvalidArgument }));
    expect(a.calls).toHaveLength(0);
  });

  it("sends embeddings only to targets whose model can give the requested dimensions", async () => {
    const a = createScriptedProvider({ kind: "a", limits: { embeddingModels: { small: { dimensions: 4 } } }, script: [answer("a")] });
    const b = createScriptedProvider({ kind: "b", limits: { embeddingModels: { large: { dimensions: 8, minDimensions: 1 } } }, script: [answer("b")] });
    const d = dispatcherOver([a, b]);
    const r = route([{ provider: "a", model: "small" }, { provider: "b", model: "large", priority: 1 }]);
    const res = await d.embed(r, { model: "", inputs: ["x"], dimensions: 2 }, within(5_000));
    expect(res.attempts.map((x) => x.targetIndex)).toEqual([1]);
    const err = await d.embed(r, { model: "", inputs: ["x"], dimensions: 9 }, within(5_000)).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toMatch(/^dimensions: /);
    expect(a.calls).toHaveLength(0);
    expect(b.calls).toHaveLength(1);
  });
});

describe("fallback order", () => {
  it("tries targets as a permutation that respects priority groups", async () => {
    const target = fc.record({ priority: fc.integer({ min: 0, max: 2 }), weight: fc.integer({ min: 0, max: 5 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(target, { minLength: 1, maxLength: 6 }), fc.integer(), async (targets, seed) => {
        const providers = targets.map((_, i) => createScriptedProvider({ kind: `p${i}`, script: [fail("server_error", { httpStatus: 503 })] }));
        const d = dispatcherOver(providers, { random: seededRandom(seed) });
        const r = route(
          targets.map((t, i) => ({ provider: `p${i}`, model: "m", ...t })),
          { retry: { maxAttempts: 1, minRetryConcurrency: 100 } },
        );
        const err = (await d.chat(r, chatRequest(), within(5_000)).catch((e: unknown) => e)) as ConnectError;
        const tried = (err.findDetails(ProviderAttemptsSchema)[0]?.attempts ?? []).map((x) => x.targetIndex);
        expect([...tried].sort((x, y) => x - y)).toEqual(targets.map((_, i) => i));
        const priorities = tried.map((i) => targets[i]?.priority ?? -1);
        expect(priorities).toEqual([...priorities].sort((x, y) => x - y));
      }),
      { numRuns: 60 },
    );
  });

  it("splits first attempts by weight within a priority", async () => {
    const a = createScriptedProvider({ kind: "a", script: [answer("a")] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const c = createScriptedProvider({ kind: "c", script: [answer("c")] });
    const d = dispatcherOver([a, b, c], { random: seededRandom(3) });
    const r = route([
      { provider: "a", model: "m", weight: 3 },
      { provider: "b", model: "m", weight: 1 },
      { provider: "c", model: "m", priority: 1, weight: 100 },
    ]);
    for (let i = 0; i < 400; i++) await d.chat(r, chatRequest(), within(5_000));
    expect(c.calls).toHaveLength(0);
    expect(a.calls.length / 400).toBeGreaterThan(0.68);
    expect(a.calls.length / 400).toBeLessThan(0.82);
  });
});

describe("every attempt is recorded exactly once", () => {
  const outcomes: ScriptStep[] = [
    answer("ok"),
    fail("rate_limited", { httpStatus: 429, retryAfterMs: 5 }),
    fail("server_error", { httpStatus: 503 }),
    fail("connection"),
    fail("bad_request", { httpStatus: 400 }),
    fail("auth", { httpStatus: 401 }),
    fail("timeout"),
  ];

  it("for random scripts: attempts ≤ Σ maxAttempts, unique indexes, one record per call", async () => {
    const script = fc.array(fc.integer({ min: 0, max: outcomes.length - 1 }), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(script, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        async (scripts, maxAttempts, hedge) => {
          const providers = scripts.map((s, i) => createScriptedProvider({ kind: `p${i}`, script: s.map((k) => outcomes[k] as ScriptStep) }));
          const d = dispatcherOver(providers);
          const r = route(
            providers.map((p, i) => ({ provider: p.kind, model: "m", priority: i })),
            { retry: { maxAttempts }, ...(hedge ? { hedge: { delayMs: 0 } } : {}) },
          );
          let attempts: Array<{ index: number; targetIndex: number; success: boolean }>;
          let ok = false;
          try {
            const res = await d.chat(r, chatRequest(), within(5_000));
            attempts = res.attempts.map((x) => ({ index: x.index, targetIndex: x.targetIndex, success: x.outcome === "success" }));
            ok = true;
          } catch (e) {
            expect(e).toBeInstanceOf(ConnectError);
            const detail = (e as ConnectError).findDetails(ProviderAttemptsSchema)[0];
            attempts = (detail?.attempts ?? []).map((x) => ({ index: x.index, targetIndex: x.targetIndex, success: x.outcome === AttemptOutcome.SUCCESS }));
          }
          const calls = providers.reduce((n, p) => n + p.calls.length, 0);
          expect(calls).toBeLessThanOrEqual(maxAttempts * providers.length);
          expect(attempts.map((x) => x.index)).toEqual(attempts.map((_, i) => i + 1));
          expect(attempts).toHaveLength(calls);
          providers.forEach((p, i) => expect(attempts.filter((x) => x.targetIndex === i)).toHaveLength(p.calls.length));
          expect(attempts.filter((x) => x.success)).toHaveLength(ok ? 1 : 0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
