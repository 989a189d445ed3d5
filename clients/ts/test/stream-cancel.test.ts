import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService, ChatStreamResponseSchema } from "../../../gen/ts/switchboard/v1/capability_service_pb.js";
import { createSwitchboardClient, type SwitchboardClient } from "../src/index.js";

/** An in-process CapabilityService whose ChatStream sends a delta every 10 ms for 10 s, recording how each stream ended. */
let server: Server;
let sb: SwitchboardClient;
const ends: Array<"cancelled" | "completed"> = [];

beforeAll(async () => {
  server = createServer(
    connectNodeAdapter({
      routes: (router) =>
        router.service(CapabilityService, {
          async *chatStream(_req, ctx) {
            for (let i = 0; i < 1000; i++) {
              if (ctx.signal.aborted) {
                ends.push("cancelled");
                return;
              }
              yield create(ChatStreamResponseSchema, { event: { case: "delta", value: { text: `${i} ` } } });
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
            ends.push("completed");
          },
        }),
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sb = createSwitchboardClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: "k" });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("a stream the caller stops reading", () => {
  it("is cancelled on the server when the loop breaks early", async () => {
    ends.length = 0;
    let got = 0;
    for await (const e of sb.capability.chatStream({})) {
      if (e.event.case === "delta") got++;
      if (got === 2) break;
    }
    expect(got).toBe(2);
    await expect.poll(() => ends, { timeout: 3_000 }).toEqual(["cancelled"]);
  });

  it("is cancelled when the loop's body throws", async () => {
    ends.length = 0;
    await expect(
      (async () => {
        for await (const _ of sb.capability.chatStream({})) throw new Error("the caller's own failure");
      })(),
    ).rejects.toThrow("the caller's own failure");
    await expect.poll(() => ends, { timeout: 3_000 }).toEqual(["cancelled"]);
  });

  it("still ends with the caller's own signal, which it keeps honouring", async () => {
    ends.length = 0;
    const abort = new AbortController();
    const reading = (async () => {
      for await (const _ of sb.capability.chatStream({}, { signal: abort.signal })) abort.abort();
    })();
    await expect(reading).rejects.toMatchObject({ code: Code.Canceled });
    await expect.poll(() => ends, { timeout: 3_000 }).toEqual(["cancelled"]);
  });
});
