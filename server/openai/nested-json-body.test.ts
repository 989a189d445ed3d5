import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway.js";

/*
 * Deeply nested JSON on the OpenAI surface (P23; test/integration/bad-input.test.ts: bad input
 * gets a 4xx, never an internal error). Connect's JSON codec refuses a Struct nested deeper than
 * 100 levels (InvalidArgument); the OpenAI surface passed any depth on to the pipeline, where a
 * recursive JSON.stringify overflowed the stack: a 500 `server_error`, which the OpenAI SDKs retry.
 */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

const nested = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
const chat = (extra: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...gw.adminHeaders, "content-type": "application/json" },
    body: `{"model":"default","messages":[{"role":"user","content":"hi"}],${extra}}`,
  });

describe("deeply nested JSON on /v1/chat/completions", () => {
  it.each([
    ["tools[0].function.parameters", (d: number) => `"tools":[{"type":"function","function":{"name":"f","parameters":${nested(d)}}}]`],
    ["response_format.json_schema.schema", (d: number) => `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${nested(d)}}}`],
  ])("%s nested 20 000 deep is a 400, not a 500", async (_field, body) => {
    const res = await chat(body(20_000));
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: { type: "invalid_request_error" } });
  });

  it("a schema of ordinary depth is still accepted", async () => {
    const res = await chat(`"tools":[{"type":"function","function":{"name":"f","parameters":${nested(20)}}}]`);
    expect(res.status, await res.text()).toBe(200);
  });
});

describe("a JSON body of many small values on /v1/chat/completions", () => {
  it("is refused with 413 request_too_large before JSON.parse makes an object of each", async () => {
    // `{},` is three bytes and one object: 1M of them would take ≈ 60 MB of heap, 32 MiB of them ≈ 600 MB.
    const res = await chat(`"metadata":{},"tools":[${"{},".repeat(1_000_000)}{}]`);
    const text = await res.text();
    expect(res.status, text).toBe(413);
    expect(JSON.parse(text)).toMatchObject({ error: { code: "request_too_large" } });
  });
});
