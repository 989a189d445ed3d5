import { describe, expect, it } from "vitest";
import { chatRequest, dispatcherOver, route, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail } from "./testing/scripted-provider.js";

const hedged = (rest: Parameters<typeof route>[1] = {}) =>
  route([{ provider: "a", model: "ma" }, { provider: "b", model: "mb", priority: 1 }], { hedge: { delayMs: 30 }, retry: { maxAttempts: 1 }, ...rest });

describe("hedging", () => {
  it("returns the twin's answer when the first is slow, aborts the first, and records both once", async () => {
    const a = createScriptedProvider({ kind: "a", script: [answer("slow a", { delayMs: 300 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("fast b", { delayMs: 10, usage: { inputTokens: 7, outputTokens: 3 } })] });
    const d = dispatcherOver([a, b]);
    const res = await d.chat(hedged(), chatRequest("twelve chars"), within(5_000));
    expect(res.response.text).toBe("fast b");
    expect(res.target.provider).toBe("b");
    expect(a.calls[0]?.aborted).toBe(true);
    expect(b.calls[0]?.aborted).toBe(false);
    expect(res.attempts.map((x) => [x.index, x.provider, x.outcome, x.hedged])).toEqual([
      [1, "a", "cancelled", false],
      [2, "b", "success", true],
    ]);
    // The loser may have been billed: its usage is estimated; the winner's is reported.
    expect(res.attempts[0]?.usage).toMatchObject({ inputTokens: 3, outputTokens: 0, estimated: true });
    expect(res.attempts[1]?.usage).toMatchObject({ inputTokens: 7, outputTokens: 3, estimated: false });
  });

  it("keeps the first answer when it beats the twin, aborting the twin", async () => {
    const a = createScriptedProvider({ kind: "a", script: [answer("a", { delayMs: 60 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b", { delayMs: 300 })] });
    const d = dispatcherOver([a, b]);
    const res = await d.chat(hedged(), chatRequest(), within(5_000));
    expect(res.response.text).toBe("a");
    expect(b.calls[0]?.aborted).toBe(true);
    expect(res.attempts.map((x) => [x.provider, x.outcome, x.hedged])).toEqual([
      ["a", "success", false],
      ["b", "cancelled", true],
    ]);
  });

  it("sends no twin when the first answers within the delay", async () => {
    const a = createScriptedProvider({ kind: "a", script: [answer("a", { delayMs: 5 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const d = dispatcherOver([a, b]);
    const res = await d.chat(hedged(), chatRequest(), within(5_000));
    expect(res.attempts).toHaveLength(1);
    expect(b.calls).toHaveLength(0);
  });

  it("waits for the twin when the first fails while it runs", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("server_error", { httpStatus: 503, delayMs: 60 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b", { delayMs: 60 })] });
    const d = dispatcherOver([a, b]);
    const res = await d.chat(hedged(), chatRequest(), within(5_000));
    expect(res.response.text).toBe("b");
    expect(res.attempts.map((x) => [x.outcome, x.hedged])).toEqual([
      ["unavailable", false],
      ["success", true],
    ]);
  });

  it("leaves no timer behind once the request is answered before its hedge delay", async () => {
    const live = new Set<ReturnType<typeof setTimeout>>();
    const setTimer = (fn: () => void, ms: number) => {
      const handle = setTimeout(() => {
        live.delete(handle);
        fn();
      }, ms);
      live.add(handle);
      return () => {
        clearTimeout(handle);
        live.delete(handle);
      };
    };
    const a = createScriptedProvider({ kind: "a", script: [answer("a", { delayMs: 5 })] });
    const d = dispatcherOver([a, createScriptedProvider({ kind: "b", script: [answer("b")] })], { setTimer });
    const res = await d.chat(hedged({ hedge: { delayMs: 60_000 } }), chatRequest(), within(120_000));
    expect(res.response.text).toBe("a");
    expect(live.size).toBe(0);
  });

  it("sends at most maxHedges twins however long the attempts in flight take", async () => {
    const a = createScriptedProvider({ kind: "a", script: [answer("slow a", { delayMs: 200 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("slow b", { delayMs: 200 })] });
    const c = createScriptedProvider({ kind: "c", script: [answer("c")] });
    const d = dispatcherOver([a, b, c]);
    const r = route(
      [
        { provider: "a", model: "ma" },
        { provider: "b", model: "mb", priority: 1 },
        { provider: "c", model: "mc", priority: 2 },
      ],
      { hedge: { delayMs: 20, maxHedges: 1 }, retry: { maxAttempts: 1 } },
    );
    const res = await d.chat(r, chatRequest(), within(5_000));
    expect(res.response.text).toBe("slow a");
    expect(c.calls).toHaveLength(0);
    expect(res.attempts.map((x) => [x.provider, x.outcome, x.hedged])).toEqual([
      ["a", "success", false],
      ["b", "cancelled", true],
    ]);
  });

  it("cancels the twin when the first fails in a way no target can fix", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("bad_request", { httpStatus: 400, delayMs: 60 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b", { delayMs: 300 })] });
    const d = dispatcherOver([a, b]);
    await expect(d.chat(hedged(), chatRequest(), within(5_000))).rejects.toThrow();
    expect(b.calls[0]?.aborted).toBe(true);
  });
});
