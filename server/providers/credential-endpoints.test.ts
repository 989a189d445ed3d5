import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake } from "../../test/fakes/openai-fake.js";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { fakeDns } from "../../test/support/fake-dns.js";
import { createEgress, EgressRefusedError } from "../http/egress-connect.js";
import { createEgressPolicy } from "../http/egress-policy.js";
import { createHttpClient } from "./http/http-client.js";
import { providerFailure } from "./provider-calls.testing.js";
import { createProviderRegistry } from "./registry.js";

const zone = { "imds.test": ["169.254.169.254"], "models.test": ["127.0.0.1"] };
const http = createHttpClient();
const egressHttp = createHttpClient({ egress: createEgress(createEgressPolicy(), { resolve: fakeDns(zone) }) });
let fake: FakeProvider;
let port: string;
const chat = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: [{ type: "text" as const, text: "hi" }] }] };

beforeAll(async () => {
  fake = await startOpenAIFake();
  port = new URL(fake.url).port;
});
afterAll(async () => {
  await fake?.close();
  await Promise.all([http.close(), egressHttp.close()]);
});

describe("adapters for the endpoints credentials name", () => {
  const registry = createProviderRegistry({ http, egressHttp, maxEndpoints: 2 });

  it("calls a credential's base_url through the egress policy: a name resolving to an allowed address is reached", async () => {
    fake.reset();
    const provider = registry.withSettings("openai", { base_url: `http://models.test:${port}/v1` });
    const answer = await provider!.chat(chat, { signal: AbortSignal.timeout(5000), apiKey: "sk" });
    expect(answer.text.length).toBeGreaterThan(0);
    expect(fake.requests()).toHaveLength(1);
  });

  it("refuses, at connect time, a base_url whose name resolves to the metadata address, without dialling it", async () => {
    fake.reset();
    const provider = registry.withSettings("openai", { base_url: `http://imds.test:${port}/v1` });
    const err = await providerFailure(provider!.chat(chat, { signal: AbortSignal.timeout(5000), apiKey: "sk" }));
    expect(err.kind).toBe("connection");
    expect(err.cause).toBeInstanceOf(EgressRefusedError);
    expect(fake.requests()).toHaveLength(0);
  });

  it("refuses an IP literal base_url the policy refuses, before any connection", async () => {
    const provider = registry.withSettings("openai", { base_url: "http://169.254.169.254/v1" });
    const err = await providerFailure(provider!.chat(chat, { signal: AbortSignal.timeout(5000), apiKey: "sk" }));
    expect(err.cause).toBeInstanceOf(EgressRefusedError);
  });

  it("reuses the adapter of the same settings, keeps a bounded number, and serves settings naming no endpoint with the kind's own", () => {
    const eu = { base_url: "https://eu.example.test", api_version: "2024-10-21" };
    const a = registry.withSettings("azure", eu);
    expect(registry.withSettings("azure", { ...eu })).toBe(a);
    expect(registry.withSettings("azure", { ...eu, api_version: "2025-01-01-preview" })).not.toBe(a);
    registry.withSettings("azure", { base_url: "https://us.example.test" });
    // Two kept (maxEndpoints): the least recently used (`eu`) was evicted and is made again.
    expect(registry.withSettings("azure", eu)).not.toBe(a);
    expect(registry.withSettings("openai", {})).toBe(registry.get("openai"));
    expect(registry.withSettings("azure", {})).toBeUndefined();
  });

  it("needs the egress client for a base_url: without one, none is reached", () => {
    expect(createProviderRegistry({ http }).withSettings("openai", { base_url: "https://models.example.test/v1" })).toBeUndefined();
  });
});
