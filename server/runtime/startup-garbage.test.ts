import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { fullCollector } from "./startup-garbage.js";

describe("fullCollector", () => {
  it("collects what nothing references any more, without the process's --expose-gc", async () => {
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe("undefined");
    let big: Uint8Array | undefined = new Uint8Array(64 * 1024 * 1024).fill(1);
    const ref = new WeakRef(big);
    big = undefined;
    // A WeakRef's target is kept until the job that made the reference ends.
    await new Promise((resolve) => setImmediate(resolve));
    fullCollector()();
    expect(ref.deref()).toBeUndefined();
  });

  it("leaves no gc global behind: contexts made afterwards get none", () => {
    fullCollector();
    expect(runInNewContext("typeof gc")).toBe("undefined");
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe("undefined");
  });
});
