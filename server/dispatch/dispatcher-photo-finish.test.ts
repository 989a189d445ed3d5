import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ProviderError } from "../providers/provider-error.js";
import { attemptsOf, type AttemptObserver, type AttemptRecord } from "./attempt-record.js";
import { createDispatcher, type Dispatcher } from "./dispatcher.js";
import { chatRequest, route, seededRandom, within } from "./testing/harness.js";
import { createGatedProvider, type GatedProvider } from "./testing/gated-provider.js";

/**
 * Photo finishes (RELIABILITY P2/P3): an attempt whose complete answer reached the gateway is
 * billed with the provider's usage exactly once, whether it won, lost to a twin in the same tick,
 * or landed in the same tick as an abort; only an attempt whose answer never arrived is estimated.
 */

const hedged = route([{ provider: "a", model: "ma" }, { provider: "b", model: "mb", priority: 1 }], { hedge: { delayMs: 20 }, retry: { maxAttempts: 1 } });

function dispatcherOver(providers: GatedProvider[]): Dispatcher {
  const byKind = new Map(providers.map((p) => [p.kind, p]));
  return createDispatcher({ provider: (kind) => byKind.get(kind), credential: async (name) => `key-for-${name}`, random: seededRandom(1), sleep: async () => {} });
}

/** An observer that counts how often each attempt index is recorded. */
function endings(): { observer: AttemptObserver; counts: Map<number, number> } {
  const counts = new Map<number, number>();
  return { counts, observer: { started: () => ({ ended: (r) => void counts.set(r.index, (counts.get(r.index) ?? 0) + 1) }) } };
}

async function rejection(p: Promise<unknown>): Promise<{ err: ConnectError; attempts: readonly AttemptRecord[] }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConnectError) return { err: e, attempts: attemptsOf(e) ?? [] };
    throw e;
  }
  throw new Error("expected a rejection");
}

const billed = (attempts: readonly AttemptRecord[]) => attempts.map((x) => [x.provider, x.outcome, x.usage.inputTokens, x.usage.outputTokens, x.usage.estimated]);

describe("photo finish: hedged answers arriving in the same tick", () => {
  it.each([
    { first: "a" as const, loser: "b" as const },
    { first: "b" as const, loser: "a" as const },
  ])("returns the answer settled first ($first) and bills the loser's complete answer with its reported usage, once", async ({ first, loser }) => {
    const a = createGatedProvider("a");
    const b = createGatedProvider("b");
    const d = dispatcherOver([a, b]);
    const { observer, counts } = endings();
    const pending = d.chat(hedged, chatRequest("twelve chars"), { ...within(5_000), observer });
    const [ca, cb] = [await a.started(1), await b.started(1)];
    const answers = { a: () => ca.answer("from a", { inputTokens: 11, outputTokens: 2 }), b: () => cb.answer("from b", { inputTokens: 13, outputTokens: 5 }) };
    answers[first]();
    answers[loser]();
    const res = await pending;

    expect(res.response.text).toBe(`from ${first}`);
    expect(res.target.provider).toBe(first);
    const outcome = (p: "a" | "b") => (p === first ? "success" : "cancelled");
    expect(billed(res.attempts)).toEqual([
      ["a", outcome("a"), 11, 2, false],
      ["b", outcome("b"), 13, 5, false],
    ]);
    expect(res.attempts.map((x) => x.hedged)).toEqual([false, true]);
    expect([...counts.entries()].sort()).toEqual([
      [1, 1],
      [2, 1],
    ]);
  });

  it("estimates only the twin whose answer never arrived when the caller walks away in the same tick as the first answer", async () => {
    const a = createGatedProvider("a");
    const b = createGatedProvider("b");
    const d = dispatcherOver([a, b]);
    const caller = new AbortController();
    const pending = d.chat(hedged, chatRequest("twelve chars"), within(5_000, caller.signal));
    const [ca, cb] = [await a.started(1), await b.started(1)];
    ca.answer("from a", { inputTokens: 11, outputTokens: 2 });
    caller.abort();
    const { err, attempts } = await rejection(pending);

    expect(err.code).toBe(Code.Canceled);
    expect(cb.signal.aborted).toBe(true);
    // a's answer was in hand: billed as reported; b's never came: the input is estimated (12 chars / 4).
    expect(billed(attempts)).toEqual([
      ["a", "cancelled", 11, 2, false],
      ["b", "cancelled", 3, 0, true],
    ]);
  });

  it("bills the twin's answer as reported when a fatal failure of the first lands in the same tick", async () => {
    const a = createGatedProvider("a");
    const b = createGatedProvider("b");
    const d = dispatcherOver([a, b]);
    const { observer, counts } = endings();
    const pending = d.chat(hedged, chatRequest(), { ...within(5_000), observer });
    const [ca, cb] = [await a.started(1), await b.started(1)];
    ca.fail(new ProviderError("bad_request", "scripted bad request", { httpStatus: 400 }));
    cb.answer("from b", { inputTokens: 13, outputTokens: 5 });
    const { err, attempts } = await rejection(pending);

    expect(err.code).toBe(Code.InvalidArgument);
    expect(billed(attempts)).toEqual([
      ["a", "rejected", 0, 0, false],
      ["b", "cancelled", 13, 5, false],
    ]);
    expect([...counts.values()]).toEqual([1, 1]);
  });

  it("still estimates a loser that was aborted before its answer came", async () => {
    const a = createGatedProvider("a");
    const b = createGatedProvider("b");
    const d = dispatcherOver([a, b]);
    const pending = d.chat(hedged, chatRequest("twelve chars"), within(5_000));
    const [ca, cb] = [await a.started(1), await b.started(1)];
    cb.answer("from b", { inputTokens: 13, outputTokens: 5 });
    const res = await pending;

    expect(ca.signal.aborted).toBe(true);
    expect(res.response.text).toBe("from b");
    expect(billed(res.attempts)).toEqual([
      ["a", "cancelled", 3, 0, true],
      ["b", "success", 13, 5, false],
    ]);
  });
});
