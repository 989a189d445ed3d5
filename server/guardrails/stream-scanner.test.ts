import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema, PiiEntity } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { evaluateText } from "./evaluate.js";
import { createPlaceholders, createStreamRestorer, redactSpans } from "./placeholders.js";
import { compilePolicy } from "./policy.js";
import { generatePiiCorpus } from "./pii/corpus/generate-corpus.js";
import { createStreamScanner } from "./stream-scanner.js";
import { pieces, scanChunks } from "./stream-scanner.testing.js";

const policy = compilePolicy(
  create(GuardrailPolicySchema, {
    name: "guardrail-policies/p",
    rules: [
      { id: "pii", stage: GuardrailStage.BOTH, action: GuardrailAction.REDACT, check: { case: "pii", value: { entities: [PiiEntity.EMAIL, PiiEntity.CREDIT_CARD] } } },
      { id: "deny", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases: ["launch codes"] } } },
    ],
  }),
);

describe("placeholders", () => {
  it("gives one value one placeholder, numbers per type, and restores only restorable ones", () => {
    const p = createPlaceholders();
    const text = "a@x.io wrote to b@x.io and a@x.io";
    const redacted = redactSpans(text, [
      { start: 0, end: 6, category: "EMAIL", restorable: true },
      { start: 16, end: 22, category: "EMAIL" },
      { start: 27, end: 33, category: "EMAIL", restorable: true },
    ], p);
    expect(redacted).toBe("[EMAIL_1] wrote to [EMAIL_2] and [EMAIL_1]");
    expect(p.restore("hi [EMAIL_1], not [EMAIL_2] nor [EMAIL_9]")).toBe("hi a@x.io, not [EMAIL_2] nor [EMAIL_9]");
  });
  it("restores placeholders split anywhere across stream chunks (property)", () => {
    const p = createPlaceholders();
    p.placeholderFor("EMAIL", "jane@example.com", true);
    p.placeholderFor("CREDIT_CARD", "4111 1111 1111 1111", true);
    const answer = "Dear [EMAIL_1], your card [CREDIT_CARD_1] is on file [sic] [EMAIL_1].";
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        const r = createStreamRestorer(p);
        const out = pieces(answer, cuts).map((x) => r.push(x)).join("") + r.flush();
        expect(out).toBe(p.restore(answer));
      }),
    );
  });
});

describe("stream scanner (sliding window)", () => {
  const answer = `${"Some harmless words. ".repeat(20)}Write to jane.doe@example.com or pay with 4111 1111 1111 1111. ${"More text. ".repeat(30)}`;

  /** Streams `chunks` through a fresh scanner: what was sent, and the block if any. */
  const stream = (chunks: readonly string[], policies = [policy]) => scanChunks(policies, chunks);


  it("redacts values split across chunks exactly like the unary check (property)", async () => {
    const expected = evaluateText(answer, [policy], "output", createPlaceholders()).text;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (cuts) => {
        expect((await stream(pieces(answer, cuts))).sent).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("stops before any part of a blocked phrase is sent, however it is chunked (property)", async () => {
    const text = `${"The report is ready. ".repeat(25)}Here are the launch codes: 0000. ${"After. ".repeat(10)}`;
    const phraseAt = text.indexOf("launch codes");
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 60 }), async (cuts) => {
        const { sent, blocked } = await stream(pieces(text, cuts));
        expect(blocked).toMatchObject({ rule: "deny", category: "DENY_LIST" });
        expect(sent.length).toBeLessThanOrEqual(phraseAt);
        expect(sent.toLowerCase()).not.toContain("launch");
      }),
      { numRuns: 200 },
    );
  });

  it("masks every PII kind split anywhere across chunks: random values, random chunking (property)", async () => {
    const all = compilePolicy(
      create(GuardrailPolicySchema, {
        name: "guardrail-policies/all",
        rules: [{ id: "pii", stage: GuardrailStage.OUTPUT, action: GuardrailAction.REDACT, check: { case: "pii", value: { entities: [] } } }],
      }),
    );
    // Labelled sentences of every kind from the corpus, several joined into one answer per run.
    const labelled = generatePiiCorpus({ seed: 7, positivesPerKind: 40, nearMissesPerKind: 0, mixed: 0, negatives: 0 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...labelled), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        async (chosen, cuts) => {
          const text = `Here you go:\n${chosen.map((s) => s.text).join("\n")}\nAnything else?`;
          const expected = evaluateText(text, [all], "output", createPlaceholders()).text;
          const { sent } = await stream(pieces(text, cuts), [all]);
          expect(sent).toBe(expected);
          for (const s of chosen) expect(sent).not.toContain(s.text.slice(s.spans[0]!.start, s.spans[0]!.end));
        },
      ),
      { numRuns: 300 },
    );
  });
});
