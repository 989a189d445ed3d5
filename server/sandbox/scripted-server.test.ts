import { describe, expect, it } from "vitest";
import { openAIWireFormat } from "../../test/fakes/openai-fake.js";
import { startScriptedServer } from "./scripted-server.js";

const post = (url: string, text: string) =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", messages: [{ role: "user", content: text }] }) });

describe("scripted server", () => {
  it("keeps the last requestHistoryLimit requests and every truth entry", async () => {
    const server = await startScriptedServer(openAIWireFormat(), { requestHistoryLimit: 2 });
    try {
      for (const text of ["one", "two", "three"]) await (await post(server.url, text)).text();
      expect(server.requests().map((r) => (r.body as { messages: Array<{ content: string }> }).messages[0]!.content)).toEqual(["two", "three"]);
      expect(server.truth()).toHaveLength(3);
    } finally {
      await server.close();
    }
  });

  it("ends a request's wait when it closes", async () => {
    const server = await startScriptedServer(openAIWireFormat());
    server.script({ delayMs: 60_000 });
    const pending = post(server.url, "wait").catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
