import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CapabilityService, ChatStreamResponseSchema } from "../../../gen/ts/switchboard/v1/capability_service_pb.js";
import { BudgetExceededSchema, RateLimitExceededSchema } from "../../../gen/ts/switchboard/v1/error_details_pb.js";
import { createRetryInterceptor, DEFAULT_RETRY_POLICY, retryDelay, type RetryPolicy } from "../src/retry.js";

const fast: RetryPolicy = { ...DEFAULT_RETRY_POLICY, initialBackoffMs: 1, maxBackoffMs: 2, random: () => 0.5 };

/** A CapabilityService whose Summarize and ChatStream fail with `failures` in order, then succeed. */
function flakyClient(failures: ConnectError[], policy: RetryPolicy = fast, opts: { streamFailsAfterFirst?: boolean; timeoutMs?: number } = {}) {
  const seen = { summarize: 0, chatStream: 0, timeouts: [] as (string | null)[] };
  const transport = createRouterTransport(
    (router) =>
      router.service(CapabilityService, {
        summarize(_req, ctx) {
          seen.timeouts.push(ctx.requestHeader.get("connect-timeout-ms"));
          const failure = failures[seen.summarize++];
          if (failure !== undefined) throw failure;
          return { summary: "ok" };
        },
        async *chatStream() {
          const failure = failures[seen.chatStream++];
          if (opts.streamFailsAfterFirst === true) {
            yield create(ChatStreamResponseSchema, { event: { case: "delta", value: { text: "a" } } });
            throw new ConnectError("cut", Code.Unavailable);
          }
          if (failure !== undefined) throw failure;
          yield create(ChatStreamResponseSchema, { event: { case: "delta", value: { text: "hello" } } });
        },
      }),
    { transport: { interceptors: [createRetryInterceptor(policy)], ...(opts.timeoutMs === undefined ? {} : { defaultTimeoutMs: opts.timeoutMs }) } },
  );
  return { client: createClient(CapabilityService, transport), seen };
}

const unavailable = (metadata?: Record<string, string>) => new ConnectError("try again", Code.Unavailable, metadata);

describe("retries", () => {
  it("retries Unavailable up to the limit, then gives up with the last error", async () => {
    const ok = flakyClient([unavailable(), unavailable()]);
    expect((await ok.client.summarize({ text: "x" })).summary).toBe("ok");
    expect(ok.seen.summarize).toBe(3);

    const failing = flakyClient([unavailable(), unavailable(), unavailable()]);
    await expect(failing.client.summarize({ text: "x" })).rejects.toMatchObject({ code: Code.Unavailable });
    expect(failing.seen.summarize).toBe(3);
  });

  it("never retries ResourceExhausted, budgets included, nor any other code", async () => {
    const budget = new ConnectError("budget", Code.ResourceExhausted, undefined, [{ desc: BudgetExceededSchema, value: create(BudgetExceededSchema, {}) }]);
    for (const failure of [budget, new ConnectError("no", Code.InvalidArgument), new ConnectError("boom", Code.Internal)]) {
      const { client, seen } = flakyClient([failure]);
      await expect(client.summarize({ text: "x" })).rejects.toMatchObject({ code: failure.code });
      expect(seen.summarize).toBe(1);
    }
  });

  it("does not retry when disabled", async () => {
    const { client, seen } = flakyClient([unavailable()], { ...fast, retries: 0 });
    await expect(client.summarize({ text: "x" })).rejects.toMatchObject({ code: Code.Unavailable });
    expect(seen.summarize).toBe(1);
  });

  it("re-sends the remaining deadline on each retry", async () => {
    const { client, seen } = flakyClient([unavailable()], fast, { timeoutMs: 5_000 });
    await client.summarize({ text: "x" });
    const [first, second] = seen.timeouts.map(Number);
    expect(first).toBe(5_000);
    expect(second).toBeLessThanOrEqual(5_000);
    expect(second).toBeGreaterThan(4_000);
  });

  it("retries a server stream that failed before its first message, never after", async () => {
    const before = flakyClient([unavailable()]);
    const texts: string[] = [];
    for await (const e of before.client.chatStream({})) if (e.event.case === "delta") texts.push(e.event.value.text);
    expect(texts).toEqual(["hello"]);
    expect(before.seen.chatStream).toBe(2);

    const after = flakyClient([], fast, { streamFailsAfterFirst: true });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const e of after.client.chatStream({})) if (e.event.case === "delta") got.push(e.event.value.text);
      })(),
    ).rejects.toMatchObject({ code: Code.Unavailable });
    expect(got).toEqual(["a"]);
    expect(after.seen.chatStream).toBe(1);
  });
});

describe("retryDelay", () => {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, random: () => 0.5 };

  it("is full jitter over a doubling ceiling", () => {
    expect(retryDelay(policy, 1, unavailable(), undefined)).toBe(125);
    expect(retryDelay(policy, 2, unavailable(), undefined)).toBe(250);
    expect(retryDelay({ ...policy, retries: 10 }, 10, unavailable(), undefined)).toBe(2_500);
    expect(retryDelay(policy, 3, unavailable(), undefined)).toBeUndefined();
  });

  it("honours the server's delay, refuses one too long or a 'do not retry', and never outlasts the deadline", () => {
    expect(retryDelay(policy, 1, unavailable({ "retry-after": "2" }), undefined)).toBe(2_000);
    expect(retryDelay(policy, 1, unavailable({ "grpc-retry-pushback-ms": "700" }), undefined)).toBe(700);
    expect(retryDelay(policy, 1, unavailable({ "grpc-retry-pushback-ms": "-1" }), undefined)).toBeUndefined();
    expect(retryDelay(policy, 1, unavailable({ "retry-after": "60" }), undefined)).toBeUndefined();
    const withDelay = new ConnectError("x", Code.Unavailable, undefined, [
      { desc: RateLimitExceededSchema, value: create(RateLimitExceededSchema, { retryDelay: durationFromMs(900) }) },
    ]);
    expect(retryDelay(policy, 1, withDelay, undefined)).toBe(900);
    expect(retryDelay(policy, 1, unavailable(), 100)).toBeUndefined();
  });
});
