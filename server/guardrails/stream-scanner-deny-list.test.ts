import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema, GuardrailRuleSchema, PiiEntity, type GuardrailRule } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { compileDenyList } from "./deny-list.js";
import { evaluateText } from "./evaluate.js";
import { createPlaceholders } from "./placeholders.js";
import { compilePolicy, type CompiledPolicy } from "./policy.js";
import { createStreamScanner } from "./stream-scanner.js";
import { pieces, scanChunks } from "./stream-scanner.testing.js";

const PHRASES = ["launch codes", "codes red", "Top  Secret", "ass"];
const reference = compileDenyList(PHRASES);

type RuleInit = Parameters<typeof create<typeof GuardrailRuleSchema>>[1];
const deny = (action: GuardrailAction, phrases = PHRASES): RuleInit => ({ id: "deny", stage: GuardrailStage.OUTPUT, action, check: { case: "denyList", value: { phrases } } });
const policyOf = (...rules: RuleInit[]): CompiledPolicy =>
  compilePolicy(create(GuardrailPolicySchema, { name: "guardrail-policies/p", rules: rules.map((r): GuardrailRule => create(GuardrailRuleSchema, r)) }));
const blocking = policyOf(deny(GuardrailAction.BLOCK));

/** Texts from phrase pieces, near misses, filler and whitespace runs. */
const fragment = fc.oneof(
  fc.constantFrom(...PHRASES, "LAUNCH", "launch", "codes", "class", "top", "secret", "a", "s", "the ", "x", ".", "hello world"),
  fc.constantFrom(...PHRASES).chain((p) => fc.nat(p.length).map((n) => p.slice(0, n))),
  fc.constantFrom(" ", "    ", "\n\t ", " ".repeat(300)),
);
const text = fc.array(fragment, { minLength: 1, maxLength: 14 }).map((parts) => parts.join(""));

describe("stream scanner with deny lists only (holds back only a phrase in progress)", () => {
  it("releases text that ends in no phrase prefix at once, and holds back only the prefix", async () => {
    const one = policyOf(deny(GuardrailAction.BLOCK, ["forbidden phrase"]));
    expect((await createStreamScanner([one], "output", createPlaceholders()).push("hello world")).text).toBe("hello world");
    const scanner = createStreamScanner([one], "output", createPlaceholders());
    expect((await scanner.push("hello world f")).text).toBe("hello world ");
    expect((await scanner.push("orbidden  ")).text).toBe("");
    expect((await scanner.push("fruit")).text).toBe("forbidden  fruit");
  });

  it("does not block a phrase that a later chunk carries past its word boundary", async () => {
    const scanner = createStreamScanner([blocking], "output", createPlaceholders());
    expect((await scanner.push("we say launch codes")).text).toBe("we say ");
    expect(await scanner.push("x and more")).toEqual({ text: "launch codesx and more" });
    const blocker = createStreamScanner([blocking], "output", createPlaceholders());
    expect((await blocker.push("we say launch codes")).text).toBe("we say ");
    expect((await blocker.push(" now")).blocked).toMatchObject({ rule: "deny" });
  });

  it("holds a chunk of whitespace alone without a scan, so a long run is not rescanned per chunk", async () => {
    const scans: string[] = [];
    const scanner = createStreamScanner([blocking], "output", createPlaceholders(), (t) => (scans.push(t), []));
    expect((await scanner.push("hello launch")).text).toBe("hello ");
    for (let i = 0; i < 20_000; i++) expect((await scanner.push(i % 2 === 0 ? "  " : "\n")).text).toBe("");
    expect(scans).toHaveLength(1);
    expect((await scanner.push(" now.")).text).toBe(`launch${"  \n".repeat(10_000)} now.`);
    expect(scans).toHaveLength(2);
  });

  it("keeps the fixed window when any other in-process rule applies at the stage, not for rules of the other stage or external ones", async () => {
    const pii = (stage: GuardrailStage): RuleInit => ({ id: "pii", stage, action: GuardrailAction.REDACT, check: { case: "pii", value: { entities: [PiiEntity.EMAIL] } } });
    const regex: RuleInit = { id: "re", stage: GuardrailStage.OUTPUT, action: GuardrailAction.LOG, check: { case: "regex", value: { pattern: "zz+" } } };
    for (const other of [pii(GuardrailStage.OUTPUT), pii(GuardrailStage.BOTH), regex]) {
      const scanner = createStreamScanner([blocking, policyOf(other)], "output", createPlaceholders());
      expect((await scanner.push("hello world")).text).toBe("");
      // Words, not one run: a run of token characters ("worldxxx…") would be held whole beyond the window.
      expect((await scanner.push("x ".repeat(150))).text).toBe(`hello world${"x ".repeat(22)}`);
    }
    const inputOnly = policyOf(pii(GuardrailStage.INPUT));
    expect((await createStreamScanner([blocking, inputOnly], "output", createPlaceholders()).push("hello world")).text).toBe("hello world");
    // External rules check the whole answer after it ended: no window for them either.
    const external = policyOf({ id: "ext", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "external", value: { url: "http://127.0.0.1:9" } } });
    expect((await createStreamScanner([blocking, external], "output", createPlaceholders()).push("hello world")).text).toBe("hello world");
  });

  it("never releases any of a blocked phrase, releases exactly up to the phrase in progress, and all of a clean text (property)", async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 30 }), async (t, cuts) => {
        const { sent, afterPush, blocked } = await scanChunks([blocking], pieces(t, cuts));
        const matches = reference.find(t);
        expect(t.startsWith(sent)).toBe(true);
        // No byte of any match of the whole text was released.
        for (const m of matches) expect(m.start).toBeGreaterThanOrEqual(sent.length);
        // Released exactly what can no longer become a match (nothing more held back than needed),
        // except that a chunk of whitespace alone waits for the next one.
        for (const s of afterPush) {
          expect(s.seen.startsWith(s.sent)).toBe(true);
          expect(s.sent.length).toBeLessThanOrEqual(reference.pendingStart(s.seen));
          if (!s.blank) expect(s.sent).toBe(s.seen.slice(0, reference.pendingStart(s.seen)));
        }
        if (blocked === undefined) {
          expect(matches).toEqual([]);
          expect(sent).toBe(t);
        } else {
          expect(blocked).toMatchObject({ rule: "deny", category: "DENY_LIST" });
          expect(blocked.start).toBeGreaterThanOrEqual(0); // the match lies in the held-back text
        }
        // Blocked exactly when the whole text holds a match (a match cut short by a chunk's end,
        // "launch codes" then "x", is not one).
        expect(blocked !== undefined).toBe(matches.length > 0);
      }),
      { numRuns: 500 },
    );
  });

  it("redacts deny-listed phrases split anywhere across chunks exactly like the unary check (property)", async () => {
    const redacting = policyOf(deny(GuardrailAction.REDACT));
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 30 }), async (t, cuts) => {
        const { sent, blocked } = await scanChunks([redacting], pieces(t, cuts));
        expect(blocked).toBeUndefined();
        expect(sent).toBe(evaluateText(t, [redacting], "output", createPlaceholders()).text);
      }),
      { numRuns: 500 },
    );
  });
});
