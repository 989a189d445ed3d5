import { describe, expect, it } from "vitest";
import { raceAbort } from "./attempt-control.js";

describe("raceAbort", () => {
  it("rejects at once with the reason of a signal that had already aborted, without waiting for the promise", async () => {
    const reason = { cause: "deadline" };
    await expect(raceAbort(new Promise<never>(() => {}), AbortSignal.abort(reason))).rejects.toBe(reason);
  });
  it("rejects with the reason as soon as the signal aborts, and settles with the promise otherwise", async () => {
    const controller = new AbortController();
    const pending = raceAbort(new Promise<never>(() => {}), controller.signal);
    controller.abort("gone");
    await expect(pending).rejects.toBe("gone");
    await expect(raceAbort(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(raceAbort(Promise.reject(new Error("x")), new AbortController().signal)).rejects.toThrow("x");
  });
});
