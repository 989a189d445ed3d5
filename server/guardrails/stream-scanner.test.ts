import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema, PiiEntity } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { evaluateText, findViolations } from "./evaluate.js";
import { createPlaceholders, createStreamRestorer, redactSpans } from "./placeholders.js";
import { compilePolicy } from "./policy.js";
import { generatePiiCorpus } from "./pii/corpus/generate-corpus.js";
import { bodyPart, PEM_KEYS } from "./pii/pem-keys.testing.js";
import { MAX_PEM_BLOCK_CHARS } from "./pii/secret-detectors.js";
import { createStreamScanner, MAX_HELD_RUN_CHARS, MIN_WINDOW_CHARS } from "./stream-scanner.js";
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

describe("stream scanner (tokens longer than the window)", () => {
  const secrets = (action: GuardrailAction) =>
    compilePolicy(
      create(GuardrailPolicySchema, {
        name: "guardrail-policies/secrets",
        rules: [{ id: "secret", stage: GuardrailStage.OUTPUT, action, check: { case: "pii", value: { entities: [PiiEntity.SECRET, PiiEntity.EMAIL] } } }],
      }),
    );
  const redacting = secrets(GuardrailAction.REDACT);
  const blocking = secrets(GuardrailAction.BLOCK);
  const b64 = (json: object) => Buffer.from(JSON.stringify(json)).toString("base64url");
  // A session token with a large claims set: 600+ characters, none of them whitespace.
  const jwt = `${b64({ alg: "RS256", typ: "JWT" })}.${b64({ sub: "user-42", scope: "read write admin", groups: Array.from({ length: 30 }, (_, i) => `group-${i}`) })}.${"Sg9xQ2_v-".repeat(10)}`;
  const apiKey = `sk-proj-${"a1B2c3D4e5".repeat(60)}`;
  const email = `ops@${"relay-01.".repeat(70)}example.com`;
  const prose = (n: number) => "The deployment finished and the service is healthy. ".repeat(n);

  /** `text` cut into pieces of the given sizes, taken in turn. */
  const chunked = (text: string, sizes: readonly number[]) => {
    const out: string[] = [];
    for (let at = 0; at < text.length; ) {
      const size = sizes[out.length % sizes.length]!;
      out.push(text.slice(at, at + size));
      at += size;
    }
    return out;
  };

  it("sees a 600+ character JWT, API key or email whole, however finely it is chunked", async () => {
    expect(jwt.length).toBeGreaterThan(600);
    for (const token of [jwt, apiKey, email]) {
      const text = `${prose(6)}Here it is: ${token} — keep it safe.\n${prose(2)}`;
      const oneShot = evaluateText(text, [redacting], "output", createPlaceholders());
      expect(oneShot.text).not.toContain(token.slice(0, 40));
      for (const size of [1, 2, 3, 5, 7]) {
        expect((await scanChunks([redacting], chunked(text, [size]))).sent, `${token.slice(0, 12)}… in ${size}-char chunks`).toBe(oneShot.text);
        const { sent, blocked } = await scanChunks([blocking], chunked(text, [size]));
        expect(blocked).toMatchObject({ rule: "secret" });
        expect(sent.length).toBeLessThanOrEqual(text.indexOf(token));
      }
    }
  });

  it("redacts or blocks an embedded long token exactly like the unary check, chunked at random (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(jwt, apiKey, email),
        fc.nat(12),
        fc.constantFrom(" ", "\n", '"', ", ", ""),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
        async (token, before, after, sizes) => {
          const text = `${prose(before)}token: "${token}${after}${prose(3)}`;
          const redacted = evaluateText(text, [redacting], "output", createPlaceholders()).text;
          expect((await scanChunks([redacting], chunked(text, sizes))).sent).toBe(redacted);
          const { sent, blocked } = await scanChunks([blocking], chunked(text, sizes));
          expect(blocked !== undefined).toBe(evaluateText(text, [blocking], "output", createPlaceholders()).blocked !== undefined);
          expect(sent.length).toBeLessThanOrEqual(text.indexOf(token));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("scans a held run once when it ends, not per chunk, and releases words as the window alone would", async () => {
    let scanned = 0;
    const scanner = createStreamScanner([redacting], "output", createPlaceholders(), (t) => ((scanned += t.length), []));
    const words = prose(10);
    let sent = "";
    for (const piece of chunked(words, [3])) sent += (await scanner.push(piece)).text;
    expect(sent).toBe(words.slice(0, words.length - MIN_WINDOW_CHARS));
    const before = scanned;
    const run = "A9_-".repeat(1_000);
    for (const piece of chunked(run, [3])) sent += (await scanner.push(piece)).text;
    expect(sent).toBe(words); // all the words, none of the run
    // Scans only while words were still in the window: linear in the run (one per chunk would be ~100× it).
    expect(scanned - before).toBeLessThan(10 * run.length);
    sent += (await scanner.push(" done")).text;
    expect(sent).toBe(`${words}${run} done`.slice(0, -MIN_WINDOW_CHARS));
  });

  it(`holds at most ${MAX_HELD_RUN_CHARS} characters of a run: a longer one is released as the window releases words`, async () => {
    const scanner = createStreamScanner([redacting], "output", createPlaceholders(), () => []);
    let sent = "";
    for (const piece of chunked("b".repeat(MAX_HELD_RUN_CHARS + 1_000), [7])) {
      sent += (await scanner.push(piece)).text;
      expect(scanner.seen.length - sent.length).toBeLessThanOrEqual(MAX_HELD_RUN_CHARS);
    }
    expect(sent.length).toBe(MAX_HELD_RUN_CHARS + 1_000 - MIN_WINDOW_CHARS);
  });
});

describe("stream scanner: a block longer than the window", () => {
  it("stops at once, sending none of it, when a blocked match still growing at the end already reaches into what the window would release", async () => {
    const longBlock = compilePolicy(
      create(GuardrailPolicySchema, {
        name: "guardrail-policies/long",
        rules: [{ id: "dump", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "regex", value: { pattern: "BEGIN DUMP[a-z ]*", category: "dump" } } }],
      }),
    );
    const dump = `BEGIN DUMP ${"row ".repeat(MIN_WINDOW_CHARS / 2)}`;
    for (const chunks of [["intro. ", dump], ["intro. ", dump.slice(0, 300), dump.slice(300)]]) {
      const { sent, blocked } = await scanChunks([longBlock], chunks);
      expect(blocked?.rule).toBe("dump");
      expect(sent).not.toContain("BEGIN");
    }
  });
});

describe("stream scanner: PEM private keys", () => {
  const pem = compilePolicy(
    create(GuardrailPolicySchema, {
      name: "guardrail-policies/pem",
      rules: [{ id: "secret", stage: GuardrailStage.OUTPUT, action: GuardrailAction.REDACT, check: { case: "pii", value: { entities: [PiiEntity.SECRET] } } }],
    }),
  );
  const header = "-----BEGIN PRIVATE KEY-----";
  const unary = (text: string) => evaluateText(text, [pem], "output", createPlaceholders()).text;

  it("a header whose footer never comes holds back one bounded block, not the rest of the answer, and costs a few scans of it", async () => {
    /** 8 000 words (~70 KB), two per chunk as providers stream them, a bare header before every `every`-th word (0: none). */
    const words = (every: number) => [
      "Here is the format: ",
      ...Array.from({ length: 4000 }, (_, i) => `${every > 0 && (2 * i) % every === 0 ? `${header} ` : ""}word${2 * i} word${2 * i + 1} `),
    ];
    /** What was sent, the longest text scanned at once (the held-back text and the context), and all scanned. */
    const run = async (chunks: string[]) => {
      let scanned = 0;
      let longest = 0;
      const scanner = createStreamScanner([pem], "output", createPlaceholders(), (t) => {
        scanned += t.length;
        longest = Math.max(longest, t.length);
        return findViolations(t, [pem], "output");
      });
      let sent = "";
      for (const piece of chunks) sent += (await scanner.push(piece)).text;
      sent += (await scanner.flush()).text;
      return { sent, longest, scanned };
    };
    const plain = await run(words(0));
    const block = header.length + MAX_PEM_BLOCK_CHARS;
    // One header at the start (the audit's answer: everything after it was held to the end and
    // rescanned per chunk, ~140 M characters), then one every ~22 KB (4 blocks).
    for (const every of [Infinity, 2_500]) {
      const answer = words(every).join("");
      const blocks = answer.split(header).length - 1;
      const { sent, longest, scanned } = await run(words(every));
      expect(sent).toBe(unary(answer));
      // Held back: the block, and at most half as much again until its end is seen.
      expect(longest).toBeLessThanOrEqual(1.5 * (block + MIN_WINDOW_CHARS));
      // Each block costs a few scans of itself beyond what the same words without headers cost
      // (a rescan of the open block per chunk would be ~8 M characters a block).
      expect(scanned - plain.scanned).toBeLessThanOrEqual(blocks * 4 * block);
    }
  });

  it("masks a real key split anywhere across chunks whole, exactly like the unary check; a key cut off before its footer too (property)", async () => {
    const cutOff = `${PEM_KEYS.pkcs8.slice(0, 900)}\n\n(The rest is omitted.)`;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.values(PEM_KEYS), cutOff), fc.array(fc.nat(), { maxLength: 60 }), async (key, cuts) => {
        const text = `Your key:\n${key}\nStore it in the vault. ${"Then restart the service. ".repeat(15)}`;
        const { sent } = await scanChunks([pem], pieces(text, cuts));
        expect(sent).toBe(unary(text));
        expect(sent).not.toContain(bodyPart(key === cutOff ? PEM_KEYS.pkcs8.slice(0, 900) : key));
      }),
      { numRuns: 120 },
    );
  });
});
