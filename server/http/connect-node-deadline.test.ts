import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { deadlineInTimerRange } from "./connect-node-deadline.js";
import { wrapHandler } from "./connect-node-handlers.js";

/** What the wrapped handler was given for these request headers. */
async function seenBy(headers: Record<string, string>): Promise<{ connect: string | null; grpc: string | null }> {
  let seen = { connect: null as string | null, grpc: null as string | null };
  const handler = Object.assign(
    (req: UniversalServerRequest) => {
      seen = { connect: req.header.get("connect-timeout-ms"), grpc: req.header.get("grpc-timeout") };
      return Promise.resolve({ status: 200 });
    },
    { protocolNames: ["connect"], allowedMethods: ["POST"], requestPath: "/a.B/C", supportedContentType: () => true, service: {}, method: {} },
  ) as unknown as UniversalHandler;
  await wrapHandler(handler, deadlineInTimerRange)({ httpVersion: "2.0", method: "POST", url: "http://x/a.B/C", header: new Headers(headers), contextValues: undefined as never, body: null, signal: new AbortController().signal });
  return seen;
}

describe("a deadline on connect-node's path", () => {
  it("is lowered to the longest a Node timer holds when it says more, and left alone up to it", async () => {
    expect(await seenBy({ "connect-timeout-ms": "2147483647" })).toEqual({ connect: "2147483647", grpc: null });
    expect(await seenBy({ "connect-timeout-ms": "2147483648" })).toEqual({ connect: "2147483647", grpc: null });
    expect(await seenBy({ "connect-timeout-ms": "9999999999" })).toEqual({ connect: "2147483647", grpc: null });
    expect(await seenBy({ "grpc-timeout": "2147483S" })).toEqual({ connect: null, grpc: "2147483S" });
    expect(await seenBy({ "grpc-timeout": "2147484S" })).toEqual({ connect: null, grpc: "2147483S" });
    expect(await seenBy({ "grpc-timeout": "99999999H" })).toEqual({ connect: null, grpc: "2147483S" });
    expect(await seenBy({ "grpc-timeout": "99999999n" })).toEqual({ connect: null, grpc: "99999999n" });
  });

  it("leaves a malformed value for connect to refuse", async () => {
    expect(await seenBy({ "connect-timeout-ms": "99999999999", "grpc-timeout": "999999999H" })).toEqual({ connect: "99999999999", grpc: "999999999H" });
    expect(await seenBy({ "connect-timeout-ms": "soon", "grpc-timeout": "-1S" })).toEqual({ connect: "soon", grpc: "-1S" });
  });
});
