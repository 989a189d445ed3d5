import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { retryInfoMs } from "../errors/retry-info.js";
import { startMoneyHarness, words, type MoneyHarness } from "../limits/money-harness.testing.js";
import { emptyUsage, type ModelRequest } from "../providers/model.js";
import type { UsageRecordRow } from "../store/usage-store.js";

let h: MoneyHarness;
beforeEach(async () => {
  h = await startMoneyHarness();
});
afterEach(async () => {
  await h.close();
});

const ask = (text: string, maxOutputTokens = 50): ModelRequest => ({ model: "", messages: [{ role: "user", content: [{ type: "text", text }] }], maxOutputTokens });

describe("usage stage", () => {
  it("writes one record per attempt, failed ones included, with the call's tenancy, tags and price version", async () => {
    h.fake.script({ fault: { kind: "status", status: 429, retryAfterMs: 1 } }, { reply: { text: "ok", usage: { input: 3, output: 2, cachedInput: 1 } } });
    const meta = h.meta({ route: "two", tags: { feature: "search" }, template: { name: "prompts/x", version: 2 } });
    await h.pipeline.chat({ meta, request: ask("hi") });
    expect(h.ledger).toHaveLength(2);
    const [failed, ok] = h.ledger as [UsageRecordRow, UsageRecordRow];
    expect(failed.callId).toBe(ok.callId);
    expect(failed).toMatchObject({ attempt: 1, outcome: "rate_limited", costMicros: 0n, requestId: meta.requestId });
    expect(ok).toMatchObject({
      attempt: 2,
      outcome: "success",
      orgId: "org_a",
      teamId: "team_a",
      keyId: "key_a",
      route: "two",
      model: "gpt-test-b",
      verb: "chat",
      inputTokens: 3,
      cachedInputTokens: 1,
      outputTokens: 2,
      priceVersion: "test-prices-1",
      tags: { feature: "search" },
      template: { name: "prompts/x", version: 2 },
      cacheStatus: "miss",
    });
    expect(ok.costMicros).toBe(h.cost("openai", "gpt-test-b", { ...emptyUsage(), inputTokens: 3, cachedInputTokens: 1, outputTokens: 2 }));
  });

  it("gives every model call of one request its own call id", async () => {
    const meta = h.meta();
    await h.pipeline.chat({ meta, request: ask("a") });
    await h.pipeline.chat({ meta, request: ask("b") });
    expect(new Set(h.ledger.map((r) => r.callId)).size).toBe(2);
    expect(new Set(h.ledger.map((r) => r.requestId))).toEqual(new Set([meta.requestId]));
  });

  it("records a cut stream and a stream that failed before content, once each", async () => {
    h.fake.script({ reply: { text: words(40) }, fault: { kind: "cut" } });
    const cut = h.pipeline.chatStream({ meta: h.meta(), request: ask("go", 100) });
    await expect((async () => {
      for await (const _ of cut.chunks);
    })()).rejects.toThrow();
    h.fake.script({ fault: { kind: "status", status: 400 } });
    const refused = h.pipeline.chatStream({ meta: h.meta(), request: ask("go", 100) });
    await expect((async () => {
      for await (const _ of refused.chunks);
    })()).rejects.toThrow();
    expect(h.ledger.map((r) => r.outcome)).toEqual(["stream_error", "rejected"]);
    expect(h.ledger[0]!.outputTokens).toBeGreaterThan(0);
  });

  it("sheds paid calls when the ledger cannot take more, before anything is sent", async () => {
    h.capacity = false;
    const err = await h.pipeline.chat({ meta: h.meta(), request: ask("hi") }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.rawMessage).toContain("usage ledger");
    expect(retryInfoMs(err!)).toBe(200); // the harness ledger's retry delay
    const stream = h.pipeline.chatStream({ meta: h.meta(), request: ask("hi") });
    await expect((async () => {
      for await (const _ of stream.chunks);
    })()).rejects.toThrow(/usage ledger/);
    expect(await stream.result()).toMatchObject({ attempts: [] });
    expect(h.fake.requests()).toHaveLength(0);
  });

  it("records nothing for calls without a caller", async () => {
    const { caller: _, ...anonymous } = h.meta();
    await h.pipeline.chat({ meta: anonymous, request: ask("hi") });
    expect(h.ledger).toHaveLength(0);
  });
});
