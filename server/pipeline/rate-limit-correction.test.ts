/**
 * The rate-limit stages count each admitted call's tokens exactly once in the end — its
 * estimate, plus what its attempts used beyond it (never less: usage below the estimate is not
 * given back) — for chat, stream and embed, answered or failed, through one stage or the split
 * pair (with and without the tokens check started ahead).
 */
import { afterEach, describe, expect, it } from "vitest";
import { startMoneyHarness, words, type MoneyHarness } from "../limits/money-harness.testing.js";
import type { ModelChunk, ModelRequest } from "../providers/model.js";
import { createMemoryState } from "../store/state/memory-state.js";

let g: MoneyHarness | undefined;
afterEach(async () => {
  await g?.close();
  g = undefined;
});

const ask = (text: string, maxOutputTokens: number): ModelRequest => ({ model: "", messages: [{ role: "user", content: [{ type: "text", text }] }], maxOutputTokens });

/** Net tokens counted on every tpm key (hits minus refunds). */
function tpmCounter(h: MoneyHarness) {
  const hits = h.state.hitWindows.bind(h.state);
  const unhits = h.state.unhitWindows.bind(h.state);
  let net = 0;
  h.state.hitWindows = async (entries, windowMs, now) => {
    const out = await hits(entries, windowMs, now);
    if (out.admitted) for (const e of entries) if (e.key.endsWith(":tpm")) net += e.cost;
    return out;
  };
  h.state.unhitWindows = async (entries, windowMs, window) => {
    for (const e of entries) if (e.key.endsWith(":tpm")) net -= e.cost;
    return unhits(entries, windowMs, window);
  };
  return () => net;
}

const drain = async (chunks: AsyncIterable<ModelChunk>) => {
  try {
    for await (const _ of chunks);
  } catch {
    // a failed stream
  }
};

type Setup = "single" | "split-cannot-answer" | "split-may-answer" | "split-speculate";
const SETUPS: Setup[] = ["single", "split-cannot-answer", "split-may-answer", "split-speculate"];

describe("rate-limit token correction", () => {
  for (const setup of SETUPS) {
    it(`counts max(estimate, used) once per call (${setup})`, async () => {
      const h = (g = await startMoneyHarness({}, createMemoryState(), setup === "single" ? {} : "split"));
      h.cacheMayAnswer = setup !== "split-cannot-answer";
      h.speculate = setup === "split-speculate";
      h.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 1_000_000 }];
      const counted = tpmCounter(h);
      const cases: Array<{ name: string; run: () => Promise<unknown>; script: Parameters<MoneyHarness["fake"]["script"]>[0] }> = [
        { name: "chat over", script: { reply: { text: "ok", usage: { input: 500, output: 10 } } }, run: () => h.pipeline.chat({ meta: h.meta(), request: ask("hello", 20) }) },
        { name: "chat under", script: { reply: { text: "ok", usage: { input: 1, output: 1 } } }, run: () => h.pipeline.chat({ meta: h.meta(), request: ask("hello", 20) }) },
        { name: "stream over", script: { reply: { text: "ok", usage: { input: 500, output: 10 } } }, run: () => drain(h.pipeline.chatStream({ meta: h.meta(), request: ask("hello", 20) }).chunks) },
        { name: "stream cut", script: { reply: { text: words(400) }, fault: { kind: "cut" } }, run: () => drain(h.pipeline.chatStream({ meta: h.meta(), request: ask("hello", 20) }).chunks) },
        { name: "stream mid error", script: { reply: { text: words(400), usage: { input: 600, output: 400 } }, fault: { kind: "mid_stream_error" } }, run: () => drain(h.pipeline.chatStream({ meta: h.meta(), request: ask("hello", 20) }).chunks) },
        { name: "embed over", script: { reply: { usage: { input: 900 } } }, run: () => h.pipeline.embed({ meta: h.meta({ verb: "embed" }), request: { model: "", inputs: ["hello"] } }) },
      ];
      for (const c of cases) {
        h.fake.reset();
        h.fake.script(c.script);
        const before = counted();
        const ledgerBefore = h.ledger.length;
        await c.run().catch(() => undefined);
        const rows = h.ledger.slice(ledgerBefore);
        expect(rows.length, c.name).toBe(1);
        const used = rows.reduce((n, r) => n + r.inputTokens + r.outputTokens, 0);
        await new Promise((r) => setTimeout(r, 20)); // the correction is off the caller's path
        const delta = counted() - before;
        // counted once: the estimate plus what was used beyond it (twice would be ≈ 2 × used)
        expect(delta, c.name).toBeGreaterThanOrEqual(used);
        expect(delta, c.name).toBeLessThan(used + 30); // the estimate is small (≈ 2 + 20)
      }
    });
  }
});
