import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema, GuardrailRuleSchema, type GuardrailRule } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { compileDenyList } from "./deny-list.js";
import { evaluateText } from "./evaluate.js";
import { createPlaceholders } from "./placeholders.js";
import { compilePolicy, type CompiledPolicy } from "./policy.js";
import { createStreamScanner } from "./stream-scanner.js";
import { pieces, scanChunks } from "./stream-scanner.testing.js";

const PHRASES = ["launch codes", "bad", "café", "ass"];
const reference = compileDenyList(PHRASES);

type RuleInit = Parameters<typeof create<typeof GuardrailRuleSchema>>[1];
const deny = (action: GuardrailAction, phrases = PHRASES): RuleInit => ({ id: "deny", stage: GuardrailStage.OUTPUT, action, check: { case: "denyList", value: { phrases } } });
const policyOf = (...rules: RuleInit[]): CompiledPolicy =>
  compilePolicy(create(GuardrailPolicySchema, { name: "guardrail-policies/p", rules: rules.map((r): GuardrailRule => create(GuardrailRuleSchema, r)) }));
const blocking = policyOf(deny(GuardrailAction.BLOCK));
const redacting = policyOf(deny(GuardrailAction.REDACT));

describe("stream scanner: deny-list evasions split across chunks", () => {
  it("blocks a phrase with ignorables and marks in it before any of it is sent, whatever chunk they come in", async () => {
    const { sent, blocked } = await scanChunks([blocking], ["say l\u200ba", "unch\u200b", " co", "\u0332des", " now"]);
    expect(blocked).toMatchObject({ rule: "deny", category: "DENY_LIST" });
    expect(sent).toBe("say ");
  });

  it("waits for the character after an ignorable that ends a chunk to decide the word boundary", async () => {
    expect(await scanChunks([blocking], ["launch codes", "\u200b", "x more"])).toMatchObject({ sent: "launch codes\u200bx more", blocked: undefined });
    expect((await scanChunks([blocking], ["launch codes", "\u200b", " now"])).blocked).toMatchObject({ rule: "deny" });
    expect((await scanChunks([blocking], ["launch codes", "\u200b"])).blocked).toMatchObject({ rule: "deny" });
  });

  it("redacts a phrase whose marks come in the next chunk whole, marks included", async () => {
    expect((await scanChunks([redacting], ["so b\u0332a", "\u0332", "d", "\u0332", " ok"])).sent).toBe("so [DENY_LIST_1] ok");
    expect((await scanChunks([redacting], ["un cafe", "\u0301", " noir"])).sent).toBe("un [DENY_LIST_1] noir");
    expect((await scanChunks([redacting], ["un cafe", " noir"])).sent).toBe("un cafe noir");
  });

  it("holds back a high surrogate ending a chunk: its pair may make it a mathematical letter of the phrase", async () => {
    const scanner = createStreamScanner([blocking], "output", createPlaceholders());
    expect((await scanner.push("say launch code\ud835")).text).toBe("say ");
    expect((await scanner.push("\udc2c now")).blocked).toMatchObject({ rule: "deny" });
    const clean = createStreamScanner([blocking], "output", createPlaceholders());
    expect((await clean.push("so \ud835")).text).toBe("so ");
    expect((await clean.push("\udc31 ok")).text).toBe("\ud835\udc31 ok");
    expect((await scanChunks([blocking], ["so \ud835", "\udc1b\ud835", "\udc1a\ud835\udc1d", "!"])).blocked).toMatchObject({ rule: "deny" });
    // The pair makes a letter that carries the phrase past its word boundary: no match after all.
    expect(await scanChunks([blocking], ["launch codes\ud835", "\udc1b ok"])).toMatchObject({ sent: "launch codes\ud835\udc1b ok", blocked: undefined });
  });

  it("holds a chunk of ignorables or marks alone without a scan, as it does whitespace, so a long run is not rescanned per chunk", async () => {
    const scans: string[] = [];
    const scanner = createStreamScanner([blocking], "output", createPlaceholders(), (t) => (scans.push(t), []));
    expect((await scanner.push("hello launch")).text).toBe("hello ");
    for (let i = 0; i < 20_000; i++) expect((await scanner.push(["\u200b", " ", "\u0332\u200d"][i % 3]!)).text).toBe("");
    expect(scans).toHaveLength(1);
    expect((await scanner.push(" now.")).text).toMatch(/^launch[\s\u200b\u200d\u0332]+ now\.$/u);
    expect(scans).toHaveLength(2);
  });
});

/** Texts mixing phrase pieces with evasions: ignorables, marks, compatibility forms, astral letters. */
const fragment = fc.oneof(
  fc.constantFrom(...PHRASES, "LAUNCH", "launch", "codes", "class", "a", "s", "the ", "x", ".", "cafe", "hello world"),
  fc.constantFrom(...PHRASES).chain((p) => fc.nat(p.length).map((n) => p.slice(0, n))),
  fc.constantFrom(" ", "  ", "\n\t "),
  fc.constantFrom("\u200b", "\u200d", "\u00ad", "\ufeff", "\u202e", "\u2066", "\ufe0f", "\u{e0100}"),
  fc.constantFrom("\u0332", "\u0301", "\u0300"),
  fc.constantFrom("ｂａｄ", "ｌａｕｎｃｈ", "𝐛𝐚𝐝", "𝐜𝐨𝐝𝐞𝐬", "ⓑ", "ﬁ", "é", "½"),
);
const text = fc.array(fragment, { minLength: 1, maxLength: 14 }).map((parts) => parts.join(""));

describe("stream scanner: deny-list evasions split anywhere (property)", () => {
  it("never releases any of a blocked match, and holds back no more than the phrase in progress", async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 30 }), async (t, cuts) => {
        const { sent, afterPush, blocked } = await scanChunks([blocking], pieces(t, cuts));
        const matches = reference.find(t);
        expect(t.startsWith(sent)).toBe(true);
        for (const m of matches) expect(m.start).toBeGreaterThanOrEqual(sent.length);
        for (const s of afterPush) {
          expect(s.sent.length).toBeLessThanOrEqual(reference.pendingStart(s.seen));
          if (!s.blank) expect(s.sent).toBe(s.seen.slice(0, reference.pendingStart(s.seen)));
        }
        expect(blocked !== undefined).toBe(matches.length > 0);
        if (blocked === undefined) expect(sent).toBe(t);
      }),
      { numRuns: 1000 },
    );
  });

  it("redacts exactly like the unary check", async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 30 }), async (t, cuts) => {
        const { sent, blocked } = await scanChunks([redacting], pieces(t, cuts));
        expect(blocked).toBeUndefined();
        expect(sent).toBe(evaluateText(t, [redacting], "output", createPlaceholders()).text);
      }),
      { numRuns: 1000 },
    );
  });
});
