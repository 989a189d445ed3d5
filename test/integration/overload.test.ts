/**
 * P23 overload shedding end to end: a burst above the per-key or per-replica in-flight cap is
 * refused at once (ResourceExhausted + retry delay on Connect, 429 + retry-after on the OpenAI
 * surface) while the accepted calls succeed, and the in-flight count returns to 0 after calls and
 * streams end, are cancelled or fail (no leaked slot). Also: max output tokens are clamped, and a
 * prompt over the context window is refused before any upstream call.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetLevel, RateLimitDimension, RateLimitExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { words } from "../../server/limits/money-harness.testing.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { eventually, startDispatchRig, type DispatchRig } from "./dispatch-rig.js";

const ROUTES = `
routes:
  slow:
    targets: [{ provider: openai, model: gpt-test, credential: credentials/openai }]
    retry: { maxAttempts: 1 }
  windows:
    targets:
      - { provider: openai, model: gpt-test, credential: credentials/openai, contextWindowTokens: 50 }
      - { provider: openai, model: gpt-test-b, credential: credentials/openai, contextWindowTokens: 100000, priority: 1 }
  tiny:
    targets: [{ provider: openai, model: gpt-test, credential: credentials/openai, contextWindowTokens: 50 }]
`;
const CAPS = { maxInFlight: 4, maxInFlightPerKey: 3, retryAfterMs: 1_500 };

let rig: DispatchRig;
let other: MoneyClients;
let third: MoneyClients;
beforeAll(async () => {
  rig = await startDispatchRig(ROUTES, { overload: CAPS, consumption: { maxOutputTokens: 100 } });
  const admin = moneyClients(rig.gw.url, rig.gw.adminKey);
  other = moneyClients(rig.gw.url, (await createAppKey(admin, "beta")).secret);
  third = moneyClients(rig.gw.url, (await createAppKey(admin, "gamma")).secret);
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

const inFlight = async (): Promise<number> => Number(/^switchboard_model_calls_in_flight (\d+)$/m.exec(await rig.metrics())?.[1] ?? NaN);
const chat = (clients: MoneyClients, text = "hello") => clients.verbs.chat({ options: { route: "slow" }, messages: chatMessage(text) });
const refusal = async (call: Promise<unknown>): Promise<{ err: ConnectError | undefined; ms: number }> => {
  const started = Date.now();
  const err = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  return { err, ms: Date.now() - started };
};

describe("P23: overload is shed at once, never queued", () => {
  it("refuses the call over the key's cap, then over the replica's, while the accepted calls succeed", async () => {
    rig.fake.reset();
    rig.fake.script(...Array.from({ length: 4 }, () => ({ delayMs: 1_000, reply: { text: "slow answer" } })));
    const accepted = [chat(rig.app, "a1"), chat(rig.app, "a2"), chat(rig.app, "a3")];
    await eventually("three calls in flight", async () => (await inFlight()) === 3);

    const overKey = await refusal(chat(rig.app, "a4"));
    expect(overKey.err?.code).toBe(Code.ResourceExhausted);
    expect(overKey.ms).toBeLessThan(500);
    const keyDetail = overKey.err?.findDetails(RateLimitExceededSchema)[0];
    expect(keyDetail).toMatchObject({ dimension: RateLimitDimension.CONCURRENCY, level: BudgetLevel.KEY, limit: 3n });
    expect(durationMs(keyDetail!.retryDelay!)).toBe(1_500);

    // Another key still gets the replica's last slot; a third finds the replica full.
    accepted.push(chat(other, "b1"));
    await eventually("four calls in flight", async () => (await inFlight()) === 4);
    const overReplica = await refusal(chat(third, "c1"));
    expect(overReplica.err?.code).toBe(Code.ResourceExhausted);
    expect(overReplica.ms).toBeLessThan(500);
    expect(overReplica.err?.findDetails(RateLimitExceededSchema)[0]).toMatchObject({ dimension: RateLimitDimension.CONCURRENCY, level: BudgetLevel.UNSPECIFIED, limit: 4n });

    // The OpenAI surface sheds the same way: 429 with retry-after, at once.
    const started = Date.now();
    const res = await fetch(`${rig.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${rig.gw.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "slow", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(429);
    expect(Date.now() - started).toBeLessThan(500);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(res.headers.get("retry-after-ms")).toBe("1500");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");

    // The fake saw only the accepted calls, and each of them answered.
    const answers = await Promise.all(accepted);
    expect(answers.every((a) => a.usage?.model === "gpt-test")).toBe(true);
    expect(rig.fake.requests()).toHaveLength(4);
    await eventually("no call in flight", async () => (await inFlight()) === 0);
  });
});

describe("P23: no leaked slots", () => {
  it("returns to 0 after streams that end, are cancelled, fail before content or fail mid-way, and failed unary calls", async () => {
    rig.fake.reset();
    rig.fake.script(
      { reply: { text: words(10) } },
      { reply: { text: words(200) }, fault: { kind: "slow_drip", delayMs: 20 } },
      { fault: { kind: "status", status: 503 } },
      { reply: { text: words(40) }, fault: { kind: "cut" } },
      { fault: { kind: "status", status: 500 } },
    );
    const drain = async (signal?: AbortSignal, stopAfter?: number) => {
      let deltas = 0;
      try {
        for await (const e of rig.app.verbs.chatStream({ options: { route: "slow" }, messages: chatMessage("stream") }, { ...(signal ? { signal } : {}) })) {
          if (e.event.case === "delta" && ++deltas === stopAfter) return "stopped";
        }
        return "ended";
      } catch (err) {
        return Code[ConnectError.from(err).code];
      }
    };
    expect(await drain()).toBe("ended");
    // A client that walks away mid-stream (the RPC is reset, the upstream call aborted).
    const walkAway = new AbortController();
    const cancelled = drain(walkAway.signal);
    await eventually("the dripping stream to be in flight", async () => (await inFlight()) === 1);
    walkAway.abort();
    expect(await cancelled).toBe("Canceled");
    expect(await drain()).toBe("Unavailable");
    expect(await drain()).toBe("ended"); // a cut after content ends with its upstream_error event
    expect((await refusal(chat(rig.app))).err?.code).toBe(Code.Unavailable);
    await eventually("no call in flight", async () => (await inFlight()) === 0);
    // And the caps are whole again: the key gets its three slots.
    rig.fake.reset();
    const again = await Promise.all([chat(rig.app), chat(rig.app), chat(rig.app)]);
    expect(again).toHaveLength(3);
  });
});

describe("P23: max output tokens are clamped", () => {
  it("sends the provider at most the maximum, and a smaller or absent ask unchanged", async () => {
    rig.fake.reset();
    const ask = (maxOutputTokens?: number) =>
      rig.app.verbs.chat({ options: { route: "slow", ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }) }, messages: chatMessage("hi") });
    await ask(5_000);
    await ask(50);
    await ask();
    const sent = rig.fake.requests().map((r) => {
      const body = r.body as { max_tokens?: number; max_completion_tokens?: number };
      return body.max_completion_tokens ?? body.max_tokens;
    });
    expect(sent).toEqual([100, 50, undefined]);
  });
});

describe("P23: a prompt over the context window never reaches the provider", () => {
  it("skips a target whose window is too small, and refuses with InvalidArgument when none fits", async () => {
    rig.fake.reset();
    const long = words(400);
    const served = await rig.app.verbs.chat({ options: { route: "windows" }, messages: chatMessage(long) });
    expect(served.usage?.model).toBe("gpt-test-b");
    expect(served.usage?.attempts.map((a) => a.model)).toEqual(["gpt-test-b"]);
    // A short prompt fits the first target.
    expect((await rig.app.verbs.chat({ options: { route: "windows" }, messages: chatMessage("hi") })).usage?.model).toBe("gpt-test");

    const { err } = await refusal(rig.app.verbs.chat({ options: { route: "tiny" }, messages: chatMessage(long) }));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toMatch(/longer than the context window of every target of route "tiny" \(largest 50 tokens\)/);
    expect(rig.fake.requests().map((r) => (r.body as { model: string }).model)).toEqual(["gpt-test-b", "gpt-test"]);
  });
});
