/**
 * The access-log line of an OpenAI-surface request is bounded whatever the caller sends: a
 * Connect RPC's route alias is capped at 63 characters by validation, but the OpenAI surface
 * echoes caller-typed strings (the `model` alias, a content part's `type`, a `metadata` key) into
 * the error message the line carries, so one request of a few MiB wrote a line of a few MiB.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

/** Bytes of the access-log line of `requestId`, once written. */
async function accessLineBytes(requestId: string): Promise<number> {
  const find = () => gw.log.text().split("\n").find((l) => l.includes('"msg":"rpc"') && l.includes(`"requestId":"${requestId}"`));
  await expect.poll(() => find() !== undefined, { timeout: 5_000 }).toBe(true);
  return Buffer.byteLength(find()!, "utf8");
}

const post = (requestId: string, body: unknown) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...gw.adminHeaders, "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify(body),
  });

const HUGE = "a".repeat(3 * 1024 * 1024);
const LIMIT = 16 * 1024;

describe("the access-log line of a refused OpenAI-surface request", () => {
  it("stays bounded when `model` names a huge unknown route alias", async () => {
    const res = await post("bounded-model", { model: HUGE, messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(404);
    await res.arrayBuffer();
    expect(await accessLineBytes("bounded-model")).toBeLessThan(LIMIT);
  });

  it("stays bounded when a content part's `type` is huge", async () => {
    const res = await post("bounded-part-type", { model: "default", messages: [{ role: "user", content: [{ type: HUGE }] }] });
    expect(res.status).toBe(400);
    await res.arrayBuffer();
    expect(await accessLineBytes("bounded-part-type")).toBeLessThan(LIMIT);
  });

  it("stays bounded when a `metadata` key is huge", async () => {
    const res = await post("bounded-metadata-key", { model: "default", messages: [{ role: "user", content: "hi" }], metadata: { [HUGE]: 1 } });
    expect(res.status).toBe(400);
    await res.arrayBuffer();
    expect(await accessLineBytes("bounded-metadata-key")).toBeLessThan(LIMIT);
  });
});
