import { describe, expect, it } from "vitest";
import { afterCall, afterSettled, callSafely } from "./after-call.js";

describe("callSafely", () => {
  it("hands back the function's promise", async () => {
    await expect(callSafely(() => Promise.resolve(7))).resolves.toBe(7);
  });

  it("turns a synchronous throw into a rejection, as an async function would", async () => {
    const boom = new Error("boom");
    let returned: Promise<never> | undefined;
    expect(() => {
      returned = callSafely(() => {
        throw boom;
      });
    }).not.toThrow();
    await expect(returned).rejects.toBe(boom);
  });
});

describe("afterCall", () => {
  it("applies onValue to the value", async () => {
    await expect(afterCall(() => Promise.resolve(2), (v) => v * 10)).resolves.toBe(20);
  });

  it("waits for a promise onValue returns", async () => {
    await expect(afterCall(() => Promise.resolve("a"), (v) => Promise.resolve(`${v}b`))).resolves.toBe("ab");
  });

  it("hands a rejection to onError, which may rethrow another error", async () => {
    const cause = new Error("inner");
    const seen: unknown[] = [];
    const result = afterCall(
      () => Promise.reject(cause),
      () => "never",
      (err) => {
        seen.push(err);
        throw new Error("outer");
      },
    );
    await expect(result).rejects.toThrow("outer");
    expect(seen).toEqual([cause]);
  });

  it("hands a synchronous throw of run to onError too", async () => {
    const cause = new Error("sync");
    const seen: unknown[] = [];
    const result = afterCall(
      () => {
        throw cause;
      },
      () => "never",
      (err) => {
        seen.push(err);
        return "recovered";
      },
    );
    await expect(result).resolves.toBe("recovered");
    expect(seen).toEqual([cause]);
  });

  it("passes a rejection on unchanged without onError, and never calls onValue for it", async () => {
    const cause = new Error("left alone");
    let called = false;
    const result = afterCall(
      () => Promise.reject(cause),
      () => {
        called = true;
        return 1;
      },
    );
    await expect(result).rejects.toBe(cause);
    expect(called).toBe(false);
  });

  it("does not hand an error thrown by onValue to onError (as a try around only the await would not)", async () => {
    const seen: unknown[] = [];
    const result = afterCall(
      () => Promise.resolve(1),
      () => {
        throw new Error("from onValue");
      },
      (err) => {
        seen.push(err);
        return 0;
      },
    );
    await expect(result).rejects.toThrow("from onValue");
    expect(seen).toEqual([]);
  });
});

describe("afterSettled", () => {
  it("calls done once before the value is passed on", async () => {
    const seen: string[] = [];
    const result = afterSettled(
      () => Promise.resolve("v"),
      () => seen.push("done"),
    ).then((v) => {
      seen.push(v);
      return v;
    });
    await expect(result).resolves.toBe("v");
    expect(seen).toEqual(["done", "v"]);
  });

  it("calls done once before a rejection is passed on, unchanged", async () => {
    const cause = new Error("failed");
    const seen: unknown[] = [];
    const result = afterSettled(
      () => Promise.reject(cause),
      () => seen.push("done"),
    ).catch((err: unknown) => {
      seen.push(err);
      throw err;
    });
    await expect(result).rejects.toBe(cause);
    expect(seen).toEqual(["done", cause]);
  });

  it("calls done for a synchronous throw of run too", async () => {
    let done = 0;
    const result = afterSettled(
      () => {
        throw new Error("sync");
      },
      () => done++,
    );
    await expect(result).rejects.toThrow("sync");
    expect(done).toBe(1);
  });
});
