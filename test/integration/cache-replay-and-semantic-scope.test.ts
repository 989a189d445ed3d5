/**
 * The response cache: a replayed stream spells the same text as the live answer ("a streaming
 * caller cannot tell a replay from a provider's stream except by cache_status"), and a semantic
 * hit never crosses a different system prompt (instructions match exactly).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CacheStatus } from "../../gen/ts/switchboard/v1/common_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startCacheRoutesGateway, type CacheRoutesGateway } from "../support/cache-routes-gateway.js";
import { moneyClients } from "../support/money.js";

let rig: CacheRoutesGateway;
let openai: FakeProvider;
const secrets: Record<string, string> = {};
const clients = (secret: string) => moneyClients(rig.gw.url, secret);

beforeAll(async () => {
  rig = await startCacheRoutesGateway("cache-replay");
  openai = rig.openai;
  secrets.any = rig.anySecret;
});
afterAll(async () => {
  await rig?.close();
});

const userText = (value: string) => [{ role: Role.USER, content: [{ part: { case: "text" as const, value } }] }];

describe("response cache: replay and semantic isolation", () => {
  it("replays a cached answer as a stream that spells the stored text (astral characters not split)", async () => {
    openai.reset();
    // No space within the first 48 UTF-16 units: the replay cuts at unit 48, inside the emoji.
    const answer = `${"a".repeat(47)}😀${"b".repeat(10)}`;
    openai.script({ reply: { text: answer } });
    const alpha = clients(secrets.any!);
    const miss = await alpha.verbs.chat({ options: { route: "cached" }, messages: userText("emoji please") });
    expect(miss.usage?.cacheStatus).toBe(CacheStatus.MISS);
    expect(miss.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("")).toBe(answer);
    let text = "";
    let status: CacheStatus | undefined;
    for await (const e of alpha.verbs.chatStream({ options: { route: "cached" }, messages: userText("emoji please") })) {
      if (e.event.case === "delta") text += e.event.value.text;
      if (e.event.case === "completed") status = e.event.value.usage?.cacheStatus;
    }
    expect(status).toBe(CacheStatus.HIT_EXACT);
    expect(text).toBe(answer);
  });

  it("semantic Chat: a different system prompt never shares an answer (instructions must match exactly)", async () => {
    openai.reset();
    openai.script({ reply: { text: "Une gourde en acier inoxydable..." } }, { reply: { text: "Eine Trinkflasche aus Edelstahl..." } });
    const question =
      "Please write a short product description for our new stainless steel water bottle that keeps drinks cold all day, fits in a car cup holder, has a leak proof lid and a carry loop, and comes in five colours for hikers and commuters.";
    const conversation = (system: string) => [
      { role: Role.SYSTEM, content: [{ part: { case: "text" as const, value: system } }] },
      { role: Role.USER, content: [{ part: { case: "text" as const, value: question } }] },
    ];
    const alpha = clients(secrets.any!);
    const french = await alpha.verbs.chat({ options: { route: "semantic" }, messages: conversation("Reply only in French.") });
    expect(french.usage?.cacheStatus).toBe(CacheStatus.MISS);
    await new Promise((r) => setTimeout(r, 50));
    const german = await alpha.verbs.chat({ options: { route: "semantic" }, messages: conversation("Reply only in German.") });
    expect(CacheStatus[german.usage?.cacheStatus ?? 0]).toBe("MISS");
    expect(german.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("")).toBe("Eine Trinkflasche aus Edelstahl...");
  });
});
