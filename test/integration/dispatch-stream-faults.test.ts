/**
 * P12–P14 and hedging end to end (issue #4), through a real gateway over HTTP to the
 * wire-faithful OpenAI fake: a late first token falls back before any byte reached the client; a
 * stall or cut after content ends the stream with an explicit error and no text from another
 * provider (the gateway's own cut — the idle timer, the route's timeout — is `truncated` with its
 * reason, billed once); a hedged request bills both attempts exactly once; the deadline aborts the
 * upstream call (the fake sees the abort) and answers DeadlineExceeded.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ChatStreamResponse } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { TruncationReason } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { AttemptOutcome } from "../../gen/ts/switchboard/v1/common_pb.js";
import { words } from "../../server/limits/money-harness.testing.js";
import { chatMessage } from "../support/money.js";
import { eventually, modelsSeen, useDispatchRig } from "./dispatch-rig.js";

const ROUTES = `
routes:
  ttft:
    targets:
      - { provider: openai, model: gpt-test, credential: credentials/openai, firstTokenTimeout: 300ms }
      - { provider: openai, model: gpt-test-b, credential: credentials/openai, priority: 1 }
    retry: { maxAttempts: 1 }
  stall:
    targets:
      - { provider: openai, model: gpt-test, credential: credentials/openai, idleTimeout: 300ms }
      - { provider: openai, model: gpt-test-b, credential: credentials/openai, priority: 1 }
    retry: { maxAttempts: 1 }
  hedge:
    targets:
      - { provider: openai, model: gpt-test, credential: credentials/openai }
      - { provider: openai, model: gpt-test-b, credential: credentials/openai, priority: 1 }
    retry: { maxAttempts: 1 }
    hedge: { delay: 200ms }
  deadline:
    targets: [{ provider: openai, model: gpt-test, credential: credentials/openai }]
    retry: { maxAttempts: 1 }
  short:
    targets:
      - { provider: openai, model: gpt-test, credential: credentials/openai }
      - { provider: openai, model: gpt-test-b, credential: credentials/openai, priority: 1 }
    retry: { maxAttempts: 1 }
    timeout: 500ms
`;

const rig = useDispatchRig(ROUTES);

/** Every event of a ChatStream, or the error that ended the RPC. */
async function stream(route: string, text: string): Promise<{ events: ChatStreamResponse["event"][]; error?: ConnectError; ms: number }> {
  const events: ChatStreamResponse["event"][] = [];
  const started = Date.now();
  try {
    for await (const res of rig.app.verbs.chatStream({ options: { route }, messages: chatMessage(text) })) events.push(res.event);
    return { events, ms: Date.now() - started };
  } catch (err) {
    return { events, error: ConnectError.from(err), ms: Date.now() - started };
  }
}
const textOf = (events: ChatStreamResponse["event"][]) => events.map((e) => (e.case === "delta" ? e.value.text : "")).join("");
const cases = (events: ChatStreamResponse["event"][]) => events.map((e) => e.case);
const ledgerRows = async (requestId: string) => {
  await rig.gw.money.ledger.flush();
  return (await rig.gw.money.usage.list({ start: new Date(0), end: new Date(Date.now() + 60_000), requestId, limit: 50 })).items;
};

describe("P13: a late first token falls back before any byte reached the client", () => {
  it("streams exactly the fallback's answer, with one start, and aborts the slow attempt", async () => {
    rig.fake.reset();
    rig.fake.script({ delayMs: 3_000, reply: { text: "the slow answer" } }, { reply: { text: "the fallback answer" } });
    const { events, error } = await stream("ttft", "hello");
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe("the fallback answer");
    expect(cases(events).filter((c) => c === "started")).toHaveLength(1);
    expect(cases(events).at(-1)).toBe("completed");
    expect(modelsSeen(rig.fake)).toEqual(["gpt-test", "gpt-test-b"]);
    const completed = events.at(-1)!;
    if (completed.case !== "completed") throw new Error("no completed event");
    expect(completed.value.usage?.attempts.map((a) => [a.model, a.outcome])).toEqual([
      ["gpt-test", AttemptOutcome.TIMEOUT],
      ["gpt-test-b", AttemptOutcome.SUCCESS],
    ]);
    await eventually("the slow attempt's abort to reach the fake", () => rig.fake.requests()[0]?.abortedAt !== undefined);
  });
});

describe("P13/P14: failures after the first byte are explicit and never spliced", () => {
  // The idle timer is the gateway cutting the stream, not the provider failing: the proto's
  // StreamTruncated (reason IDLE_TIMEOUT, "the provider went silent for longer than the idle
  // timeout"), not StreamUpstreamError — which this test asserted until the reason was wired.
  it("ends a stream that stalls after content as truncated (IDLE_TIMEOUT) within idle + 1 s, billed once, and no fallback", async () => {
    rig.fake.reset();
    rig.fake.script(
      { reply: { toolCalls: [{ name: "lookup", argumentsJson: '{"q":"weather"}' }] }, fault: { kind: "stall_after_first_chunk" } },
      { reply: { text: "SPLICED" } },
    );
    const { events, error, ms } = await stream("stall", "hello");
    expect(error).toBeUndefined();
    expect(cases(events)).toEqual(["started", "toolCallDelta", "truncated"]);
    const tool = events[1]!;
    expect(tool.case === "toolCallDelta" && tool.value.name).toBe("lookup");
    const terminal = events[2]!;
    if (terminal.case !== "truncated") throw new Error("no truncated event");
    expect(terminal.value.reason).toBe(TruncationReason.IDLE_TIMEOUT);
    expect(textOf(events)).toBe("");
    expect(modelsSeen(rig.fake)).toEqual(["gpt-test"]);
    expect(ms).toBeLessThan(300 + 1_000 + 1_000);
    const usage = terminal.value.usage!;
    expect(usage.attempts.map((a) => [a.model, a.outcome])).toEqual([["gpt-test", AttemptOutcome.TIMEOUT]]);
    expect(usage.inputTokens).toBeGreaterThan(0);
    const rows = await ledgerRows(usage.requestId);
    expect(rows.map((r) => [r.model, r.outcome])).toEqual([["gpt-test", "timeout"]]);
    expect(rows.reduce((sum, r) => sum + r.costMicros, 0n)).toBe(usage.costMicrosUsd);
  });

  it("ends a stream the route's timeout cuts after content as truncated (DEADLINE), though the caller's deadline is far", async () => {
    rig.fake.reset();
    rig.fake.script(
      { reply: { toolCalls: [{ name: "lookup", argumentsJson: '{"q":"weather"}' }] }, fault: { kind: "stall_after_first_chunk" } },
      { reply: { text: "SPLICED" } },
    );
    const { events, error, ms } = await stream("short", "hello");
    expect(error).toBeUndefined();
    expect(cases(events)).toEqual(["started", "toolCallDelta", "truncated"]);
    const terminal = events[2]!;
    if (terminal.case !== "truncated") throw new Error("no truncated event");
    expect(terminal.value.reason).toBe(TruncationReason.DEADLINE);
    expect(modelsSeen(rig.fake)).toEqual(["gpt-test"]);
    expect(ms).toBeLessThan(500 + 2_000);
    const usage = terminal.value.usage!;
    const rows = await ledgerRows(usage.requestId);
    expect(rows.map((r) => [r.model, r.outcome])).toEqual([["gpt-test", "timeout"]]);
    expect(rows.reduce((sum, r) => sum + r.costMicros, 0n)).toBe(usage.costMicrosUsd);
  });

  it("ends a cut stream with an explicit error whose text is a strict prefix of the first provider's", async () => {
    rig.fake.reset();
    const full = words(40, "alpha");
    rig.fake.script({ reply: { text: full }, fault: { kind: "cut" } }, { reply: { text: "SPLICED" } });
    const { events, error } = await stream("stall", "hello");
    expect(error).toBeUndefined();
    const text = textOf(events);
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(full.length);
    expect(full.startsWith(text)).toBe(true);
    expect(cases(events).at(-1)).toBe("upstreamError");
    expect(cases(events)).not.toContain("completed");
    expect(modelsSeen(rig.fake)).toEqual(["gpt-test"]);
  });
});

describe("hedging bills both attempts exactly once", () => {
  it("answers with the twin, aborts the slow first attempt, and writes one ledger row per attempt", async () => {
    rig.fake.reset();
    rig.fake.script({ delayMs: 2_000, reply: { text: "slow first" } }, { reply: { text: "twin answer" } });
    const res = await rig.app.verbs.chat({ options: { route: "hedge" }, messages: chatMessage("hello") });
    expect(res.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("")).toBe("twin answer");
    expect(res.usage?.attempts.map((a) => [a.model, a.outcome, a.hedged])).toEqual([
      ["gpt-test", AttemptOutcome.CANCELLED, false],
      ["gpt-test-b", AttemptOutcome.SUCCESS, true],
    ]);
    await eventually("the loser's abort to reach the fake", () => rig.fake.requests()[0]?.abortedAt !== undefined);
    const rows = await ledgerRows(res.usage!.requestId);
    expect(rows.map((r) => [r.model, r.outcome, r.attempt]).sort()).toEqual([
      ["gpt-test", "cancelled", 1],
      ["gpt-test-b", "success", 2],
    ]);
    expect(rows.reduce((sum, r) => sum + r.costMicros, 0n)).toBe(res.usage!.costMicrosUsd);
    expect(res.usage!.costMicrosUsd).toBeGreaterThan(0n);
  });
});

describe("P12: the deadline aborts the upstream call", () => {
  it("answers DeadlineExceeded near the caller's deadline and the fake sees the abort", async () => {
    rig.fake.reset();
    rig.fake.script({ fault: { kind: "hang" } });
    const timeoutMs = 600;
    const started = Date.now();
    const err = await rig.app.verbs.chat({ options: { route: "deadline" }, messages: chatMessage("hello") }, { timeoutMs }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    const elapsed = Date.now() - started;
    expect(err?.code).toBe(Code.DeadlineExceeded);
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 50);
    expect(elapsed).toBeLessThan(timeoutMs + 1_000);
    await eventually("the abort to reach the fake", () => rig.fake.requests()[0]?.abortedAt !== undefined);
    const upstream = rig.fake.requests()[0]!;
    expect(upstream.abortedAt! - started).toBeLessThan(timeoutMs + 1_000);
    expect(rig.fake.requests()).toHaveLength(1);
  });
});
