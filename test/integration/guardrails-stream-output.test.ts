/**
 * Output guardrails on streams, end to end through the gateway in front of the
 * wire-faithful OpenAI fake (which streams its reply two words per event).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, PiiEntity } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { MAX_PEM_BLOCK_CHARS } from "../../server/guardrails/pii/secret-detectors.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { clientsFor } from "../support/clients.js";
import type { TestGateway } from "../support/gateway.js";
import { startGuardedOrgsGateway, type GuardedOrgsGateway } from "../support/guarded-orgs-gateway.js";
import { moneyClients } from "../support/money.js";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

let rig: GuardedOrgsGateway;
let gw: TestGateway;
let openai: FakeProvider;
const secrets: Record<string, string> = {};

const outPii = { id: "out-pii", stage: GuardrailStage.OUTPUT, action: GuardrailAction.REDACT, check: { case: "pii" as const, value: {} } };
const inRestore = { id: "in-mask", stage: GuardrailStage.INPUT, action: GuardrailAction.REDACT, check: { case: "pii" as const, value: { entities: [PiiEntity.EMAIL], restoreInResponse: true } } };
const outEmail = { id: "out-mask", stage: GuardrailStage.OUTPUT, action: GuardrailAction.REDACT, check: { case: "pii" as const, value: { entities: [PiiEntity.EMAIL] } } };
const outDeny = { id: "deny", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["launch codes"] } } };
const ORGS: Record<string, unknown[]> = { window: [outPii], both: [inRestore, outEmail], deny: [outDeny] };

beforeAll(async () => {
  rig = await startGuardedOrgsGateway("ext", ORGS);
  ({ gw, openai } = rig);
  Object.assign(secrets, rig.secrets);
}, 60_000);
afterAll(async () => {
  await rig?.close();
});

const user = (text: string) => [{ role: Role.USER, content: [{ part: { case: "text" as const, value: text } }] }];

/** The text deltas of a streamed answer, as the caller receives them. */
async function streamDeltas(org: string, prompt: string): Promise<string[]> {
  const verbs = moneyClients(gw.url, secrets[org]!).verbs;
  const deltas: string[] = [];
  for await (const e of verbs.chatStream({ options: { route: "ext" }, messages: user(prompt) })) if (e.event.case === "delta") deltas.push(e.event.value.text);
  return deltas;
}

const streamText = async (org: string, prompt: string) => (await streamDeltas(org, prompt)).join("");

describe("output guardrails on streams", () => {
  it("an answer with emoji streams intact under an output PII rule (the window never cuts a surrogate pair)", async () => {
    // Plain text, no PII: the output stage should hand it through unchanged, only delayed.
    const answer = Array.from({ length: 240 }, (_, i) => ["ok😀", "a😀", "😀"][i % 3]).join(" ");
    openai.reset();
    openai.script({ reply: { text: answer } });
    const got = await streamText("window", "emoji please");
    expect(got.includes("\uFFFD")).toBe(false);
    expect(got).toBe(answer);
  });

  it("an output redaction is not 'restored' to the input's value: one placeholder, one value per call (unary)", async () => {
    openai.reset();
    openai.script({ reply: { text: "I will forward it to bob@other.example now." } });
    const verbs = moneyClients(gw.url, secrets.both!).verbs;
    const res = await verbs.chat({ options: { route: "ext" }, messages: user("I am jane@example.com, forward my note to the admin.") });
    const text = res.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("") ?? "";
    expect(text).not.toContain("bob@other.example"); // the output rule masked it ...
    expect(text).not.toContain("jane@example.com"); // ... and it must not come back as the caller's address
  });

  it("same, streamed", async () => {
    openai.reset();
    openai.script({ reply: { text: "I will forward it to bob@other.example now." } });
    const text = await streamText("both", "I am jane@example.com, forward my note to the admin.");
    expect(text).not.toContain("bob@other.example");
    expect(text).not.toContain("jane@example.com");
  });

  it("SSE: a stream blocked mid-way ends with one error event (guardrail_violation), no [DONE], the phrase unsent, billed once", async () => {
    const start = new Date(Date.now() - 60_000);
    openai.reset();
    openai.script({ reply: { text: `${"All systems nominal today. ".repeat(20)}The launch codes are 0000.` } });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secrets.deny!}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "ext", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "status" }] }),
    });
    const body = await res.text();
    const events = body.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
    expect(events.at(-1)).not.toBe("[DONE]");
    const last = JSON.parse(events.at(-1)!) as { error?: { code?: string } };
    expect(last.error?.code).toBe("guardrail_violation");
    expect(body.toLowerCase()).not.toContain("launch codes");
    const admin = clientsFor(gw.url, gw.adminKey);
    const window = { startTime: timestampFromDate(start), endTime: timestampFromDate(new Date(Date.now() + 60_000)) };
    await gw.money.ledger.flush();
    const deadline = Date.now() + 5_000;
    let usage = await admin.usage.queryUsage({ parent: "orgs/deny", ...window });
    while ((usage.totals?.requests ?? 0n) < 1n && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      await gw.money.ledger.flush();
      usage = await admin.usage.queryUsage({ parent: "orgs/deny", ...window });
    }
    await new Promise((r) => setTimeout(r, 300));
    await gw.money.ledger.flush();
    usage = await admin.usage.queryUsage({ parent: "orgs/deny", ...window });
    expect(usage.totals?.requests).toBe(1n);
    expect(usage.totals?.outputTokens ?? 0n).toBeGreaterThan(0n);
  });

  it("a PEM header without its footer early in a streamed answer holds back one bounded block, not the rest of the answer (P23)", async () => {
    // ~8 000 words (~70 KB) after the header, two words per upstream event: everything after the
    // header was held to the end and rescanned per event (≈ 5.8 s of CPU, P23 allows 1 s).
    const header = "-----BEGIN PRIVATE KEY-----";
    const body = Array.from({ length: 8000 }, (_, i) => `word${i}`).join(" ");
    openai.reset();
    openai.script({ reply: { text: `Here is the format: ${header} ${body}` } });
    const deltas = await streamDeltas("window", "explain PEM");
    const block = header.length + MAX_PEM_BLOCK_CHARS;
    // The words after the block are sent as they come (~one delta per event), not all at the end.
    expect(deltas.length).toBeGreaterThan(1000);
    // The block is masked as the whole answer checked at once would mask it; the text after it is sent.
    expect(deltas.join("")).toBe(`Here is the format: [SECRET_1]${` ${body}`.slice(block - header.length)}`);
  }, 120_000);
});
