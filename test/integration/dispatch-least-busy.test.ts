/**
 * A `least_busy` route end to end: seeded from config-file YAML, through a real gateway over HTTP
 * to the wire-faithful OpenAI fake (its two targets differ by model). While a stream is mid-way on
 * one target, the next call goes to the other; the caller then cancels the stream, and the target
 * it held counts as idle again (with a leaked count, a later round's call would tie the two
 * targets and go to the streaming one half the time).
 */
import { describe, expect, it } from "vitest";
import { chatMessage } from "../support/money.js";
import { eventually, modelsSeen, useDispatchRig } from "./dispatch-rig.js";

const ROUTES = `
routes:
  busy:
    strategy: least_busy
    targets:
      - { provider: openai, model: gpt-test, credential: credentials/openai }
      - { provider: openai, model: gpt-test-b, credential: credentials/openai }
    retry: { maxAttempts: 1 }
`;

const rig = useDispatchRig(ROUTES);

describe("least_busy route", () => {
  it("sends each call to the target not streaming, round after round of streams the caller cancels mid-way", async () => {
    for (let round = 0; round < 6; round++) {
      rig.fake.reset();
      rig.fake.script({ reply: { toolCalls: [{ name: "lookup", argumentsJson: '{"q":"weather"}' }] }, fault: { kind: "stall_after_first_chunk" } });
      const cancel = new AbortController();
      let sawContent!: () => void;
      const content = new Promise<void>((resolve) => (sawContent = resolve));
      const reading = (async () => {
        for await (const res of rig.app.verbs.chatStream({ options: { route: "busy" }, messages: chatMessage("stream") }, { signal: cancel.signal })) {
          if (res.event.case === "toolCallDelta") sawContent();
        }
      })().catch((e: unknown) => e);
      await content;
      const [streaming] = modelsSeen(rig.fake);
      const res = await rig.app.verbs.chat({ options: { route: "busy" }, messages: chatMessage("unary") });
      expect(res.usage?.model).not.toBe(streaming);
      expect(modelsSeen(rig.fake)).toEqual([streaming, streaming === "gpt-test" ? "gpt-test-b" : "gpt-test"]);
      cancel.abort();
      await reading;
      await eventually("the cancelled stream's abort to reach the fake", () => rig.fake.requests()[0]?.abortedAt !== undefined);
    }
  }, 30_000);
});
