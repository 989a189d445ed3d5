import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { toBinary } from "@bufbuild/protobuf";
import { DurationSchema, durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService } from "../../../gen/ts/switchboard/v1/capability_service_pb.js";
import { createSwitchboardClient, SwitchboardError } from "../src/index.js";

/** An in-process CapabilityService whose Summarize always fails with Unavailable and a RetryInfo of `retryAfterMs`. */
let server: Server;
let baseUrl: string;
let calls = 0;
const retryAfterMs = 60_000;

beforeAll(async () => {
  server = createServer(
    connectNodeAdapter({
      routes: (router) =>
        router.service(CapabilityService, {
          summarize() {
            calls++;
            const err = new ConnectError("the usage ledger is full", Code.Unavailable);
            const duration = toBinary(DurationSchema, durationFromMs(retryAfterMs));
            err.details.push({ type: "google.rpc.RetryInfo", value: new Uint8Array([0x0a, duration.length, ...duration]) });
            throw err;
          },
        }),
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("createSwitchboardClient options", () => {
  it("keeps the default cap on a server's retry delay when a retryPolicy field is given as undefined", async () => {
    calls = 0;
    // e.g. `retryPolicy: { initialBackoffMs: cfg.backoffMs, maxServerDelayMs: cfg.maxDelayMs }` with those unset.
    const sb = createSwitchboardClient({ baseUrl, apiKey: "k", retryPolicy: { initialBackoffMs: 1, maxServerDelayMs: undefined } });
    const abort = new AbortController();
    const call = sb.capability.summarize({ text: "x" }, { signal: abort.signal }).then(
      () => "resolved",
      (e: unknown) => e,
    );
    // The server asked for 60 s, over the default 30 s cap: the client must give up at once.
    const settled = await Promise.race([call, new Promise((resolve) => setTimeout(() => resolve("still waiting"), 2_000))]);
    abort.abort();
    await call;
    expect(settled, "the client is waiting out the server's 60 s delay: the 30 s cap was dropped").toBeInstanceOf(SwitchboardError);
    expect((settled as SwitchboardError).code).toBe(Code.Unavailable);
    expect(calls).toBe(1);
  });

  it("never puts the API key in an error", async () => {
    const secret = "sb_live_0123456789abcdef";
    for (const apiKey of [`${secret}\r\n${secret}`, `${secret}\0`]) {
      const sb = createSwitchboardClient({ baseUrl, apiKey, retries: 0 });
      const err = await sb.capability.summarize({ text: "x" }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(SwitchboardError);
      expect(String(err), "the API key is in the error's message").not.toContain(secret);
    }
  });
});
