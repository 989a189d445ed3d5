import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema, PiiEntity } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { evaluateText } from "./evaluate.js";
import { createPlaceholders, createStreamRestorer, redactSpans } from "./placeholders.js";
import { compilePolicy } from "./policy.js";
import { createStreamScanner } from "./stream-scanner.js";

const policy = compilePolicy(
  create(GuardrailPolicySchema, {
    name: "guardrail-policies/p",
    rules: [
      { id: "pii", stage: GuardrailStage.BOTH, action: GuardrailAction.REDACT, check: { case: "pii", value: { entities: [PiiEntity.EMAIL, PiiEntity.CREDIT_CARD] } } },
      { id: "deny", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases: ["launch codes"] } } },
    ],
  }),
);

/** `text` cut at the given (sorted, in-range) positions. */
function pieces(text: string, cuts: number[]): string[] {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const c of [...at, text.length]) {
    out.push(text.slice(prev, c));
    prev = c;
  }
  return out;
}

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

  it("redacts values split across chunks exactly like the unary check (property)", () => {
    const expected = evaluateText(answer, [policy], "output", createPlaceholders()).text;
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        const scanner = createStreamScanner([policy], "output", createPlaceholders());
        let out = "";
        for (const piece of pieces(answer, cuts)) out += scanner.push(piece).text;
        out += scanner.flush().text;
        expect(out).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("stops before any part of a blocked phrase is sent, however it is chunked (property)", () => {
    const text = `${"The report is ready. ".repeat(25)}Here are the launch codes: 0000. ${"After. ".repeat(10)}`;
    const phraseAt = text.indexOf("launch codes");
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 60 }), (cuts) => {
        const scanner = createStreamScanner([policy], "output", createPlaceholders());
        let sent = "";
        let blocked = false;
        for (const piece of pieces(text, cuts)) {
          const step = scanner.push(piece);
          if (step.blocked !== undefined) {
            blocked = true;
            expect(step.blocked).toMatchObject({ rule: "deny", category: "DENY_LIST" });
            break;
          }
          sent += step.text;
        }
        if (!blocked) blocked = scanner.flush().blocked !== undefined;
        expect(blocked).toBe(true);
        expect(sent.length).toBeLessThanOrEqual(phraseAt);
        expect(sent.toLowerCase()).not.toContain("launch");
      }),
      { numRuns: 200 },
    );
  });
});
