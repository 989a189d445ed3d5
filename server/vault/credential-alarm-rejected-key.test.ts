import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import type { AttemptRecord } from "../dispatch/attempt-record.js";
import type { ResolvedRoute } from "../dispatch/route-types.js";
import type { ModelCall, ModelCallResult, ModelPipeline } from "../pipeline/model-call.js";
import { createCredentialAlarmStage } from "./credential-alarm-stage.js";

// credential-alarm-stage.ts: a provider's refusal of the credential and "an attempt that could not
// start because its credential could not be read" are logged apart, so the operator knows whether
// to fix the key at the provider or the vault row. An `auth` attempt that the provider answered
// (an HTTP status) was read and sent: it must never be logged as "could not be read". Gemini
// answers an invalid key with HTTP 400 API_KEY_INVALID (gemini/errors.ts: kind auth); OpenAI an
// exhausted account with 429 insufficient_quota (openai/errors.ts: kind auth).
function run(attempt: Partial<AttemptRecord>) {
  const log = createLogCapture();
  const route = { alias: "ext", targets: [{ provider: "gemini", model: "gemini-2.0-flash", credential: "credentials/gemini" }] } as unknown as ResolvedRoute;
  const stage = createCredentialAlarmStage({ logger: log.logger, routes: { resolve: () => route } });
  const attempts: AttemptRecord[] = [
    { index: 1, targetIndex: 0, provider: "gemini", model: "gemini-2.0-flash", outcome: "auth_error", latencyMs: 5, usage: { inputTokens: 0, outputTokens: 0 }, hedged: false, ...attempt } as AttemptRecord,
  ];
  const inner = { chat: async () => ({ attempts }) as unknown as ModelCallResult } as unknown as ModelPipeline;
  const call = { meta: { route: "ext", requestId: "req-1" } } as unknown as ModelCall;
  return { log, done: stage(inner).chat(call) };
}

describe("credential alarm: a key the provider rejected is not reported as unreadable", () => {
  for (const httpStatus of [400, 429]) {
    it(`an auth attempt answered with HTTP ${httpStatus} is logged as rejected by the provider`, async () => {
      const { log, done } = run({ httpStatus });
      await done;
      const messages = log.lines().map((l) => l.msg);
      expect(messages).not.toContain("the credential could not be read: it is missing, or does not decrypt");
      expect(messages).toContain("the provider rejected the credential: check or replace it");
    });
  }

  it("an auth attempt with no HTTP status (never sent) is logged as unreadable", async () => {
    const { log, done } = run({});
    await done;
    expect(log.lines().map((l) => l.msg)).toContain("the credential could not be read: it is missing, or does not decrypt");
  });
});
