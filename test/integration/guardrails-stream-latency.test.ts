/**
 * Time to first token of a streamed answer under an output deny list, through the gateway in
 * front of a wire-faithful OpenAI fake that drips two words every 20 ms (about 100 words/s). With
 * only deny lists on the output, the stream scanner holds back only a phrase in progress, so the
 * first delta follows the first upstream words; an output PII rule beside it keeps the fixed
 * 256-character window, so there the first delta waits for ~256 characters of answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import type { TestGateway } from "../support/gateway.js";
import { startGuardedOrgsGateway, type GuardedOrgsGateway } from "../support/guarded-orgs-gateway.js";
import { moneyClients } from "../support/money.js";

const DRIP_MS = 20;
/** 80 words, ~560 characters: 40 upstream events, 2 words each. */
const ANSWER = Array.from({ length: 80 }, (_, i) => `word${i}`).join(" ");

let rig: GuardedOrgsGateway;
let gw: TestGateway;
let openai: FakeProvider;
const secrets: Record<string, string> = {};

const denyRule = { id: "deny", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["launch codes", "wordy phrase"] } } };
const piiRule = { id: "pii", stage: GuardrailStage.OUTPUT, action: GuardrailAction.REDACT, check: { case: "pii" as const, value: {} } };
const ORGS: Record<string, Array<typeof denyRule | typeof piiRule>> = { denyonly: [denyRule], mixed: [denyRule, piiRule] };

beforeAll(async () => {
  rig = await startGuardedOrgsGateway("drip", ORGS);
  ({ gw, openai } = rig);
  Object.assign(secrets, rig.secrets);
});
afterAll(async () => {
  await rig?.close();
});

/** Streams the dripped answer for `org`: ms to the first delta and to the end, and the text received. */
async function dripStream(org: string): Promise<{ firstDelta: number; total: number; text: string }> {
  openai.script({ reply: { text: ANSWER }, fault: { kind: "slow_drip", delayMs: DRIP_MS } });
  const verbs = moneyClients(gw.url, secrets[org]!).verbs;
  const started = performance.now();
  let firstDelta = -1;
  let text = "";
  for await (const e of verbs.chatStream({ options: { route: "drip" }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: `go ${org}` } }] }] })) {
    if (e.event.case !== "delta" || e.event.value.text === "") continue;
    if (firstDelta < 0) firstDelta = performance.now() - started;
    text += e.event.value.text;
  }
  return { firstDelta, total: performance.now() - started, text };
}

describe("streamed output guardrails: time to first token", () => {
  it("sends the first delta after the first upstream words with deny lists only; the PII window still waits ~256 characters", async () => {
    await dripStream("denyonly"); // warm-up: policy cache, connections
    await dripStream("mixed");
    const denyOnly = await dripStream("denyonly");
    const mixed = await dripStream("mixed");
    console.log(`first delta (ms): deny lists only ${denyOnly.firstDelta.toFixed(0)} of ${denyOnly.total.toFixed(0)}; deny list + PII ${mixed.firstDelta.toFixed(0)} of ${mixed.total.toFixed(0)}`);
    expect(denyOnly.text).toBe(ANSWER);
    expect(mixed.text).toBe(ANSWER);
    // 256 characters are ~37 words, ~18 upstream events: at least 18 × 20 ms after the first.
    expect(mixed.firstDelta).toBeGreaterThanOrEqual(17 * DRIP_MS);
    // Deny lists only: within the first few events (generous for a loaded machine), long before the window would fill.
    expect(denyOnly.firstDelta).toBeLessThan(mixed.firstDelta / 2);
    expect(denyOnly.firstDelta).toBeLessThan(0.25 * denyOnly.total);
  });
});
