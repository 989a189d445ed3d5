/**
 * How the OpenAI surface reads a request body that does not arrive whole — the caller
 * hanging up half-way, or the rest of the body never coming. Sent over raw sockets, byte for byte.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

const chat = JSON.stringify({ model: "default", messages: [{ role: "user", content: "hello" }] });

/** Sends the headers of a chat call announcing `chat` plus 100 bytes, and only `chat`; `hangUp` then closes the socket. */
function partialRequest(extraHeaders: string, hangUp: boolean, waitMs: number): Promise<{ answer: string; closed: boolean }> {
  const u = new URL(gw.url);
  return new Promise((resolve) => {
    const socket = connect(Number(u.port), u.hostname);
    let answer = "";
    let closed = false;
    socket.on("data", (d) => (answer += d.toString()));
    socket.on("error", () => {});
    socket.on("close", () => (closed = true));
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${gw.adminKey}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${chat.length + 100}\r\n${extraHeaders}\r\n${chat}`,
    );
    if (hangUp) socket.end();
    setTimeout(() => {
      resolve({ answer, closed });
      socket.destroy();
    }, waitMs);
  });
}

const lines = () => gw.log.lines().filter((l) => l.protocol === "openai" || l.msg === "unhandled error");

describe("a body that does not arrive whole", () => {
  it("a caller that hangs up mid-body is a caller gone (canceled), not an internal error logged as unhandled", async () => {
    gw.log.clear();
    await partialRequest("", true, 500);
    const logged = lines();
    // Not an error-level "unhandled error" line and an access line with code internal / 500
    // (switchboard_rpc_requests_total{service="openai",code="internal"} would count every hang-up).
    expect(logged.filter((l) => l.msg === "unhandled error")).toEqual([]);
    expect(logged.find((l) => l.msg === "rpc")).toMatchObject({ code: "canceled" });
  });

  it("the call's deadline (x-switchboard-timeout-ms) also bounds the wait for the body: answered, and the connection let go", async () => {
    gw.log.clear();
    const { answer, closed } = await partialRequest("x-switchboard-timeout-ms: 300\r\n", false, 3000);
    // Before: no answer at all after 10× the deadline, and the socket held until the caller gave up.
    expect(answer).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"type":"server_error"');
    expect(answer).toContain('"code":"request_timeout"');
    expect(closed).toBe(true);
  });
});
