/**
 * Summarize sizes its chunks to the route's smallest declared context window (the targets'
 * `contextWindowTokens`), not to the 8,192-token default, through the real gateway to the
 * OpenAI fake, which records every prompt it receives.
 */
import { describe, expect, it } from "vitest";
import type { ScriptStep } from "../fakes/fake-types.js";
import { useDispatchRig } from "./dispatch-rig.js";

const ROUTES = `
routes:
  windowed:
    targets:
      - { provider: openai, model: gpt-wide, credential: credentials/openai, contextWindowTokens: 128000 }
      - { provider: openai, model: gpt-narrow, credential: credentials/openai, priority: 1, contextWindowTokens: 2048 }
  undeclared:
    targets: [{ provider: openai, model: gpt-plain, credential: credentials/openai }]
`;

const rig = useDispatchRig(ROUTES);

// About 3,000 tokens (characters / 4): one call under the 8,192 default, several under 2,048.
const TEXT = Array.from({ length: 60 }, (_, i) => `Paragraph ${i} says the gateway routes model calls, keeps budgets and caches answers well.`).join("\n\n").repeat(2);

const promptChars = (body: unknown): number =>
  ((body as { messages: Array<{ content: unknown }> }).messages ?? []).reduce((n, m) => n + JSON.stringify(m.content).length, 0);

describe("Summarize and the route's context window", () => {
  it("splits an input that fits the default window into chunks that fit the smallest declared window", async () => {
    expect(TEXT.length / 4).toBeGreaterThan(2_500);
    expect(TEXT.length / 4).toBeLessThan(6_000);
    const short: ScriptStep = { reply: { text: "A short partial summary." } };

    rig.fake.reset();
    rig.fake.script(...Array.from({ length: 40 }, () => short));
    const plain = await rig.app.verbs.summarize({ options: { route: "undeclared" }, text: TEXT });
    expect(plain.chunks).toBe(1);
    expect(rig.fake.requests()).toHaveLength(1);

    rig.fake.reset();
    rig.fake.script(...Array.from({ length: 40 }, () => short));
    const windowed = await rig.app.verbs.summarize({ options: { route: "windowed" }, text: TEXT });
    expect(windowed.chunks).toBeGreaterThan(1);
    const sent = rig.fake.requests();
    expect(sent.length).toBe(windowed.chunks + 1);
    // Every prompt (text and instructions) fits the 2,048-token window, estimated as the gateway does.
    for (const r of sent) expect(promptChars(r.body) / 4).toBeLessThanOrEqual(2_048);
  }, 30_000);
});
