/**
 * A call shed by the in-flight cap (dimension CONCURRENCY) is a 429 with `retry-after`, but without
 * `x-ratelimit-limit-requests` / `-remaining-requests`: the README (and OpenAI) define those as the
 * requests-per-minute limit, and the in-flight cap is not one (it was reported as an RPM limit).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startDispatchRig, type DispatchRig } from "./dispatch-rig.js";

const ROUTES = `
routes:
  slow:
    targets: [{ provider: openai, model: gpt-test, credential: credentials/openai }]
    retry: { maxAttempts: 1 }
`;

let rig: DispatchRig;
beforeAll(async () => {
  rig = await startDispatchRig(ROUTES, { overload: { maxInFlight: 100, maxInFlightPerKey: 1, retryAfterMs: 1_500 } });
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

describe("a shed call on the OpenAI surface", () => {
  it("does not report the in-flight cap as a requests-per-minute limit", async () => {
    rig.fake.reset();
    rig.fake.script({ delayMs: 1_000, reply: { text: "slow answer" } });
    const sdk = new OpenAI({ apiKey: rig.gw.adminKey, baseURL: `${rig.gw.url}/v1`, maxRetries: 0 });
    const first = sdk.chat.completions.create({ model: "slow", messages: [{ role: "user", content: "a" }] }).catch(() => undefined);
    await eventually("one call in flight", async () => /^switchboard_model_calls_in_flight 1$/m.test(await rig.metrics()));
    const err = (await sdk.chat.completions.create({ model: "slow", messages: [{ role: "user", content: "b" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.headers?.get("retry-after-ms")).toBe("1500");
    // No requests-per-minute limit covers this key: there must be no RPM headers, let alone "limit 1, 0 left".
    expect({ limit: err.headers?.get("x-ratelimit-limit-requests"), remaining: err.headers?.get("x-ratelimit-remaining-requests") }).toEqual({ limit: null, remaining: null });
    await first;
  });
});
