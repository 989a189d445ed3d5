import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it, vi } from "vitest";
import { afterThisTurn, recordAfterThisTurn } from "./after-this-turn.js";
import { laterTurn } from "./after-this-turn.testing.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("afterThisTurn", () => {
  it("runs the work after node:http has written the answer, and before the caller's next request is read", async () => {
    const events: string[] = [];
    const server = createServer((req, res: ServerResponse) => {
      req.resume();
      req.on("end", () => {
        events.push("request");
        // As a front door answers: at the end of a promise chain, the bookkeeping chained inside it.
        void Promise.resolve().then(() => {
          void afterThisTurn().then(() => events.push(res.writableFinished ? "bookkeeping after the answer" : "bookkeeping BEFORE the answer"));
          res.end("answer");
        });
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const dispatcher = new Agent({ connections: 1 });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      // One keep-alive connection: each request is sent the moment the previous answer arrives.
      for (let i = 0; i < 50; i++) await (await request(url, { method: "POST", body: "x", dispatcher })).body.text();
      await laterTurn();
      expect(events).toEqual(Array.from({ length: 50 }, () => ["request", "bookkeeping after the answer"]).flat());
    } finally {
      await dispatcher.close();
      server.close();
    }
  });

  it("runs after the ticks queued in its turn (node:http uncorks a socket in one)", async () => {
    const order: string[] = [];
    const done = afterThisTurn().then(() => order.push("bookkeeping"));
    process.nextTick(() => order.push("tick"));
    void Promise.resolve().then(() => process.nextTick(() => order.push("tick from a continuation")));
    await done;
    expect(order).toEqual(["tick", "tick from a continuation", "bookkeeping"]);
  });

  it("is one immediate a turn, however many calls end in it", async () => {
    const spy = vi.spyOn(globalThis, "setImmediate");
    const first = afterThisTurn();
    expect(afterThisTurn()).toBe(first);
    await first;
    const next = afterThisTurn();
    expect(next).not.toBe(first);
    await next;
    // Taken when the module loaded: the spy (like a test's fake timers) never sees it.
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it("drops a recording's throw (no unhandled rejection), and the turn's other recordings still run", async () => {
    const ran: string[] = [];
    recordAfterThisTurn(() => {
      throw new Error("a sink's fault");
    });
    recordAfterThisTurn(() => ran.push("the next call's line"));
    expect(ran).toEqual([]);
    await laterTurn();
    expect(ran).toEqual(["the next call's line"]);
  });

  it("is not held back by fake timers", async () => {
    vi.useFakeTimers({ toFake: ["setImmediate", "setTimeout", "setInterval"] });
    let ran = false;
    await afterThisTurn().then(() => (ran = true));
    expect(ran).toBe(true);
  });
});
