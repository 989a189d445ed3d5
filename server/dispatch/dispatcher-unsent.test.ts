import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { startOpenAIFake } from "../../test/fakes/openai-fake.js";
import { createHttpClient, type HttpClient } from "../providers/http/http-client.js";
import { knownUnsent } from "../providers/http/send-progress.js";
import { createOpenAIProvider } from "../providers/openai.js";
import { attemptsOf } from "./attempt-record.js";
import { createDispatcher } from "./dispatcher.js";
import { chatRequest, route, within } from "./testing/harness.js";
import { createRandom } from "../sandbox/seeded.js";

// One connection to the fake: a hanging call holds it, so the next call waits in undici's queue
// and is never written, which is exactly the state a cancel must be able to tell apart.
let fake: FakeProvider;
let http: HttpClient;

beforeAll(async () => {
  fake = await startOpenAIFake();
  http = createHttpClient({ connections: 1 });
});
// A failed assertion must not leave the single connection held for the next test.
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});
afterAll(async () => {
  await http.close();
  await fake.close();
});

const until = async (cond: () => boolean, ms = 5_000): Promise<void> => {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("money: a cancelled attempt that never left is billed nothing", () => {
  it("bills zero for a call cancelled while queued for a connection, an estimate for one cancelled after it was written", async () => {
    const provider = createOpenAIProvider({ baseUrl: `${fake.url}/v1`, http });
    const d = createDispatcher({ provider: (kind) => (kind === "openai" ? provider : undefined), credential: async () => "sk-test", random: createRandom(1), sleep: async () => {} });
    const r = route([{ provider: "openai", model: "gpt-4o-mini" }]);
    const prompt = "please summarise everything considered thoroughly, twice over";
    fake.reset();
    fake.script({ fault: { kind: "hang" } });

    const written = new AbortController();
    cleanup.push(() => written.abort());
    const first = d.chat(r, chatRequest(prompt), within(10_000, written.signal)).catch((e: unknown) => e);
    await until(() => fake.requests().length === 1);

    const queued = new AbortController();
    const second = d.chat(r, chatRequest(prompt), within(10_000, queued.signal)).catch((e: unknown) => e);
    // Give the second call time to reach undici's queue behind the held connection.
    await new Promise((res) => setTimeout(res, 100));
    queued.abort();
    const unsent = attemptsOf(await second) ?? [];
    expect(unsent).toHaveLength(1);
    expect(unsent[0]).toMatchObject({ outcome: "cancelled", usage: { inputTokens: 0, outputTokens: 0, estimated: false } });
    expect(unsent[0]?.error).toContain("before it was sent");

    written.abort();
    const sent = attemptsOf(await first) ?? [];
    expect(sent).toHaveLength(1);
    expect(sent[0]?.outcome).toBe("cancelled");
    // Written, then cancelled: the provider may have started on it, so the input is estimated.
    expect(sent[0]?.usage.estimated).toBe(true);
    expect(sent[0]?.usage.inputTokens).toBeGreaterThan(0);
    expect(sent[0]?.error).not.toContain("before it was sent");
    // The fake only ever received the first call.
    await new Promise((res) => setTimeout(res, 50));
    expect(fake.requests()).toHaveLength(1);
  });

  it("knows a request cancelled before the client sent it was never written, and one that was written was", async () => {
    fake.reset();
    fake.script({ fault: { kind: "hang" } });
    const url = `${fake.url}/v1/chat/completions`;
    const send = (signal: AbortSignal) =>
      http.send({ url, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "x" }] }), signal }).catch((e: unknown) => e);

    const early = new AbortController();
    early.abort();
    expect(await send(early.signal)).toMatchObject({ kind: "cancelled" });
    expect(knownUnsent(early.signal)).toBe(true);

    const late = new AbortController();
    cleanup.push(() => late.abort());
    const held = send(late.signal);
    await until(() => fake.requests().length === 1);
    expect(knownUnsent(late.signal)).toBe(false); // not aborted yet: nothing is known
    late.abort();
    expect(await held).toMatchObject({ kind: "cancelled" });
    expect(knownUnsent(late.signal)).toBe(false);
    // A signal the shared client never saw is unknown, so billing stays conservative.
    const other = new AbortController();
    other.abort();
    expect(knownUnsent(other.signal)).toBe(false);
  });
});
