/**
 * P9–P11 end to end (issue #4): retries, fallback, circuit breakers and the retry budget through a
 * real gateway over HTTP to the wire-faithful OpenAI fake, which scripts each upstream request's
 * fate and records what it received. The unit tests in `server/dispatch/` prove the same
 * properties against a scripted provider double; these prove them across the real adapter, the
 * real HTTP client, every pipeline stage and the ledger.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AttemptOutcome } from "../../gen/ts/switchboard/v1/common_pb.js";
import { ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { ScriptStep } from "../fakes/fake-types.js";
import { chatMessage } from "../support/money.js";
import { eventually, modelsSeen, useDispatchRig } from "./dispatch-rig.js";

const ROUTES = `
routes:
  retry429:
    targets: [{ provider: openai, model: gpt-test, credential: credentials/openai }]
    retry: { maxAttempts: 2, initialBackoff: 1ms, maxBackoff: 5ms }
  fallback:
    targets:
      - { provider: openai, model: gpt-test, credential: credentials/openai }
      - { provider: openai, model: gpt-test-b, credential: credentials/openai, priority: 1 }
    retry: { maxAttempts: 1 }
  breaker:
    targets:
      - { provider: openai, model: gpt-br, credential: credentials/openai }
      - { provider: openai, model: gpt-alt, credential: credentials/openai, priority: 1 }
    retry: { maxAttempts: 1 }
    breaker: { volumeThreshold: 3, errorThresholdPercent: 50, resetTimeout: 1s }
  storm:
    targets:
      - { provider: openai, model: gpt-s1, credential: credentials/openai }
      - { provider: openai, model: gpt-s2, credential: credentials/openai, priority: 1 }
    retry: { maxAttempts: 3, initialBackoff: 1ms, maxBackoff: 5ms }
    breaker: { volumeThreshold: 1000000 }
`;

const rig = useDispatchRig(ROUTES);

const chat = (route: string, text = "hello there") => rig.app.verbs.chat({ options: { route }, messages: chatMessage(text) });
const breakerState = async (model: string): Promise<number | undefined> => {
  const match = new RegExp(`switchboard_breaker_state\\{provider="openai",model="${model}"\\} (\\d)`).exec(await rig.metrics());
  return match ? Number(match[1]) : undefined;
};

describe("P9: a 429 with retry-after, then success", () => {
  it("waits at least the retry-after before retrying the same target, and lists both attempts", async () => {
    rig.fake.reset();
    rig.fake.script({ fault: { kind: "status", status: 429, retryAfterMs: 400 } }, { reply: { text: "after the wait" } });
    const res = await chat("retry429");
    expect(res.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("")).toBe("after the wait");
    const [first, second] = rig.fake.requests();
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(395);
    expect(modelsSeen(rig.fake)).toEqual(["gpt-test", "gpt-test"]);
    expect(res.usage?.attempts.map((a) => [a.model, a.outcome])).toEqual([
      ["gpt-test", AttemptOutcome.RATE_LIMITED],
      ["gpt-test", AttemptOutcome.SUCCESS],
    ]);
    expect(res.usage?.attempts[0]?.httpStatus).toBe(429);
  });
});

describe("P9: 5xx on the first target falls back to the second", () => {
  it("answers from the fallback with both attempts in Usage and both in the ledger", async () => {
    rig.fake.reset();
    rig.fake.script({ fault: { kind: "status", status: 503 } }, { reply: { text: "from b" } });
    const res = await chat("fallback");
    expect(modelsSeen(rig.fake)).toEqual(["gpt-test", "gpt-test-b"]);
    expect(res.usage?.model).toBe("gpt-test-b");
    expect(res.usage?.fallbacks).toBe(1);
    expect(res.usage?.attempts.map((a) => [a.model, a.outcome, a.targetIndex])).toEqual([
      ["gpt-test", AttemptOutcome.UNAVAILABLE, 0],
      ["gpt-test-b", AttemptOutcome.SUCCESS, 1],
    ]);
    await rig.gw.money.ledger.flush();
    const rows = await rig.gw.money.usage.list({ start: new Date(0), end: new Date(Date.now() + 60_000), requestId: res.usage!.requestId, limit: 10 });
    expect(rows.items.map((r) => [r.model, r.outcome]).sort()).toEqual([
      ["gpt-test", "unavailable"],
      ["gpt-test-b", "success"],
    ]);
  });

  it("fails Unavailable with a ProviderAttempts detail when every target fails", async () => {
    rig.fake.reset();
    rig.fake.script({ fault: { kind: "status", status: 503 } }, { fault: { kind: "status", status: 502 } });
    const err = await chat("fallback").then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.Unavailable);
    const detail = err?.findDetails(ProviderAttemptsSchema)[0];
    expect(detail?.attempts.map((a) => [a.model, a.httpStatus])).toEqual([
      ["gpt-test", 503],
      ["gpt-test-b", 502],
    ]);
  });
});

describe("P11: the circuit breaker over the wire", () => {
  it("opens after the failures, sheds to the next target, half-opens with one probe and closes", async () => {
    rig.fake.reset();
    for (let i = 0; i < 3; i++) {
      rig.fake.script({ fault: { kind: "status", status: 503 } }, { reply: { text: "alt" } });
      expect((await chat("breaker")).usage?.model).toBe("gpt-alt");
    }
    expect(modelsSeen(rig.fake)).toEqual(["gpt-br", "gpt-alt", "gpt-br", "gpt-alt", "gpt-br", "gpt-alt"]);
    expect(await breakerState("gpt-br")).toBe(2);

    // Open: gpt-br receives nothing; the call goes straight to the fallback.
    rig.fake.reset();
    rig.fake.script({ reply: { text: "alt again" } });
    expect((await chat("breaker")).usage?.model).toBe("gpt-alt");
    expect(modelsSeen(rig.fake)).toEqual(["gpt-alt"]);

    // After resetTimeout: half-open, exactly one probe reaches gpt-br; it succeeds and closes.
    await eventually("the breaker to half-open", async () => (await breakerState("gpt-br")) === 1);
    rig.fake.reset();
    rig.fake.script({ reply: { text: "br is back" } });
    expect((await chat("breaker")).usage?.model).toBe("gpt-br");
    expect(modelsSeen(rig.fake)).toEqual(["gpt-br"]);
    expect(await breakerState("gpt-br")).toBe(0);

    const transitions = rig.gw.log
      .lines()
      .filter((l) => l.msg === "circuit breaker changed state" && (l.target as { model: string }).model === "gpt-br")
      .map((l) => `${String(l.from)}→${String(l.to)}`);
    expect(transitions).toEqual(["closed→open", "open→half_open", "half_open→closed"]);
  });
});

describe("P10: the retry budget and retry throttling stop a retry storm", () => {
  it("bounds upstream attempts per request under a 100% failure rate, and returns to 1.0 when healthy", async () => {
    rig.fake.reset();
    const failing: ScriptStep = { fault: { kind: "status", status: 503 } };
    rig.fake.script(...Array.from({ length: 2_000 }, () => failing));
    const waves = 2;
    const perWave = 50;
    for (let w = 0; w < waves; w++) {
      const results = await Promise.allSettled(Array.from({ length: perWave }, (_, i) => chat("storm", `storm ${w} ${i}`)));
      expect(results.every((r) => r.status === "rejected" && ConnectError.from(r.reason).code === Code.Unavailable)).toBe(true);
    }
    const requests = waves * perWave;
    const upstream = rig.fake.requests().length;
    const amplification = upstream / requests;
    const seen = modelsSeen(rig.fake);
    const perTarget = (model: string) => seen.filter((m) => m === model).length / requests;
    // Without a budget every request makes maxAttempts × targets = 6 attempts (600 upstream
    // calls). The Envoy budget alone (20% of active requests, at least 3, retrying at once) bounds
    // retries in flight, not their ratio: 503s answered in about a millisecond free its slots fast
    // and it measured 1.97–2.09 attempts per request. The A6 throttle (10 tokens, retry only above
    // 5) leaves each target at most 4 retries in all, so a target is tried about once per request
    // that reaches it: measured 1.04 per request on gpt-s1 (P10's ≤ 1.2) in 3 of 3 runs. A
    // fallback (the first send to a target the request has not tried, its breaker closed) is not
    // a retry: neither throttled nor budgeted, so every request reaches gpt-s2 (it would answer
    // were it healthy). Before that rule the budget admitted about 20 % of a wave's 50 fallbacks
    // (0.50 per request on gpt-s2, 1.54 in all); now 1.04 on each target, 2.08 in all (3 of 3
    // runs), which is the throttle's own guarantee: at most 1 + 4/100 per target. Here the
    // breaker, disabled, would otherwise shed the outage on its own.
    console.log(
      `P10 retry storm: ${requests} requests, ${upstream} upstream attempts, amplification ${amplification.toFixed(2)} (gpt-s1 ${perTarget("gpt-s1").toFixed(2)}, gpt-s2 ${perTarget("gpt-s2").toFixed(2)})`,
    );
    expect(upstream).toBeGreaterThanOrEqual(requests);
    expect(perTarget("gpt-s1")).toBeGreaterThanOrEqual(1);
    expect(perTarget("gpt-s1")).toBeLessThanOrEqual(1.1);
    expect(perTarget("gpt-s2")).toBeGreaterThanOrEqual(1);
    expect(perTarget("gpt-s2")).toBeLessThanOrEqual(1.1);
    expect(amplification).toBeLessThanOrEqual(2.1);
    const metrics = await rig.metrics();
    const throttled = Number(/switchboard_retries_throttled\{provider="openai",model="gpt-s1"\} (\d+)/.exec(metrics)?.[1]);
    expect(throttled).toBeGreaterThan(50);
    expect(metrics).toMatch(/switchboard_retry_throttle_tokens\{provider="openai",model="gpt-s1"\} 0\n/);

    // Healthy again: one attempt per request, and each success gives gpt-s1 0.1 token back.
    rig.fake.reset();
    await Promise.all(Array.from({ length: 20 }, (_, i) => chat("storm", `healthy ${i}`)));
    expect(rig.fake.requests()).toHaveLength(20);
    expect(await rig.metrics()).toMatch(/switchboard_retry_throttle_tokens\{provider="openai",model="gpt-s1"\} 2\n/);
  }, 30_000);
});
