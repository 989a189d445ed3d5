/**
 * A Gemini embeddings call with more than 100 inputs is sent as several
 * `batchEmbedContents` requests. When a later batch fails, the batches already answered were
 * billed by Google (the fake's truth log shows them), yet the attempt is recorded with zero usage.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { startGeminiFake } from "../../test/fakes/gemini-fake.js";
import { attemptsOf } from "../dispatch/attempt-record.js";
import { dispatcherOver, route, within } from "../dispatch/testing/harness.js";
import type { ScriptedProvider } from "../dispatch/testing/scripted-provider.js";
import { createGeminiProvider } from "./gemini.js";
import { createHttpClient, type HttpClient } from "./http/http-client.js";
import type { Provider } from "./provider.js";

let fake: FakeProvider;
let http: HttpClient;
let gemini: Provider;

beforeAll(async () => {
  fake = await startGeminiFake();
  http = createHttpClient();
  gemini = createGeminiProvider({ baseUrl: fake.url, http });
});
afterAll(async () => {
  await http.close();
  await fake.close();
});
beforeEach(() => fake.reset());

describe("gemini embed billing when a later batch fails", () => {
  it("bills the batches the provider already answered (P3)", async () => {
    // Batch 1 (100 inputs) answers; batch 2 is refused with a 400 (not retried).
    fake.script({}, { fault: { kind: "status", status: 400, message: "bad batch" } });
    const inputs = Array.from({ length: 150 }, (_, i) => `some text to embed number ${i}`);
    const d = dispatcherOver([gemini as unknown as ScriptedProvider]);
    const err = await d.embed(route([{ provider: "gemini", model: "gemini-embedding-001", credential: "gemini-key" }]), { model: "x", inputs }, within(10_000)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();

    const billedByProvider = fake
      .truth()
      .filter((t) => t.delivered === "complete")
      .reduce((n, t) => n + t.inputTokens, 0);
    expect(billedByProvider).toBeGreaterThan(0);

    const attempts = attemptsOf(err) ?? [];
    const recorded = attempts.reduce((n, a) => n + a.usage.inputTokens, 0);
    // The provider billed batch 1; the ledger must not record the attempt as free.
    expect(recorded).toBeGreaterThan(0);
  });
});
