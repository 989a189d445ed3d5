/**
 * The TypeScript client against a real gateway (the composed server on its sandbox routes):
 * verbs, a stream, an admin RPC, both protocols, deadlines, retries and typed error details.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code, type Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../../test/support/gateway.js";
import { createSwitchboardClient, Role, SwitchboardError, type SwitchboardClient } from "../src/index.js";

let gw: TestGateway;
let sb: SwitchboardClient;

beforeAll(async () => {
  gw = await startTestGateway();
  sb = createSwitchboardClient({ baseUrl: gw.url, apiKey: gw.adminKey, timeoutMs: 10_000 });
});
afterAll(async () => {
  await gw?.close();
});

const user = (text: string) => [{ role: Role.USER, content: [{ part: { case: "text" as const, value: text } }] }];

async function failure(call: Promise<unknown>): Promise<SwitchboardError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SwitchboardError);
  return err as SwitchboardError;
}

describe("@switchboard-ai/client against a gateway", () => {
  it("calls Summarize and Extract with usage", async () => {
    const summary = await sb.capability.summarize({ text: "Switchboard routes model calls, enforces budgets and caches answers." });
    expect(summary.summary).not.toBe("");
    expect(summary.usage?.provider).toBe("sandbox");
    expect(summary.usage?.requestId).not.toBe("");

    const extracted = await sb.capability.extract({
      text: "Invoice 42, total 99.50",
      jsonSchema: { type: "object", properties: { invoice: { type: "integer" }, total: { type: "number" } }, required: ["invoice", "total"] },
    });
    expect(extracted.data).toEqual({ invoice: expect.any(Number), total: expect.any(Number) });
  });

  it("streams ChatStream to exactly one terminal event", async () => {
    const events: string[] = [];
    let text = "";
    for await (const e of sb.capability.chatStream({ messages: user("tell me about gateways") })) {
      events.push(e.event.case ?? "none");
      if (e.event.case === "delta") text += e.event.value.text;
    }
    expect(events[0]).toBe("started");
    expect(events.at(-1)).toBe("completed");
    expect(events.filter((e) => e === "completed")).toHaveLength(1);
    expect(text).not.toBe("");
  });

  it("calls an admin RPC (ListKeys), over Connect and over gRPC", async () => {
    const viaConnect = await sb.keys.listKeys({ parent: "orgs/system/teams/-" });
    expect(viaConnect.keys.map((k) => k.name)).toContain("orgs/system/teams/admins/keys/bootstrap");
    const grpc = createSwitchboardClient({ baseUrl: gw.url, apiKey: gw.adminKey, protocol: "grpc" });
    expect((await grpc.keys.listKeys({ parent: "orgs/system/teams/-" })).keys.length).toBe(viaConnect.keys.length);
    expect((await grpc.capability.summarize({ text: "gRPC works too." })).summary).not.toBe("");
  });

  it("decodes ProviderAttempts when a route's only target fails, after retrying Unavailable", async () => {
    let sent = 0;
    const count: Interceptor = (next) => (req) => {
      sent++;
      return next(req);
    };
    const client = createSwitchboardClient({ baseUrl: gw.url, apiKey: gw.adminKey, retries: 1, retryPolicy: { initialBackoffMs: 1 }, interceptors: [count] });
    const err = await failure(client.capability.chat({ options: { route: "fast" }, messages: user("hello [[sandbox:500]]") }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.providerAttempts?.route).toBe("fast");
    expect(err.providerAttempts?.attempts.length).toBeGreaterThan(0);
    expect(err.providerAttempts?.attempts[0]).toMatchObject({ provider: "sandbox", model: "sandbox-fast", httpStatus: 500 });
    expect(sent).toBe(2);
  });

  it("decodes NotFound and validation violations, and does not retry them", async () => {
    const notFound = await failure(sb.capability.summarize({ options: { route: "no-such-route" }, text: "x" }));
    expect(notFound.code).toBe(Code.NotFound);
    const invalid = await failure(sb.capability.summarize({ text: "" }));
    expect(invalid.code).toBe(Code.InvalidArgument);
    expect(invalid.violations?.violations[0]?.field?.elements[0]?.fieldName).toBe("text");
  });

  it("passes the deadline through: a hung provider answers DeadlineExceeded at the caller's timeout", async () => {
    const started = Date.now();
    const err = await failure(sb.capability.chat({ options: { route: "fast" }, messages: user("wait [[sandbox:hang]]") }, { timeoutMs: 400 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("runs examples/summarize.ts", async () => {
    const example = fileURLToPath(new URL("../examples/summarize.ts", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", example, "Gateways route calls. They cap spend. They cache answers."], {
      env: { ...process.env, SWITCHBOARD_URL: gw.url, SWITCHBOARD_KEY: gw.adminKey },
    });
    expect(stdout).toContain("sandbox/sandbox-fast");
  });
});
