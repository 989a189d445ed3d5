import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { compileDenyList } from "./deny-list.js";
import { evaluateText } from "./evaluate.js";
import { createPlaceholders } from "./placeholders.js";
import { compilePolicy } from "./policy.js";

/** What `phrases` find in `text`, as the original text of each match. */
const hits = (phrases: string[], text: string, caseSensitive = false) =>
  compileDenyList(phrases, caseSensitive)
    .find(text)
    .map((h) => text.slice(h.start, h.end));

/** `text` with every `redact` deny-list match of `phrases` replaced by its placeholder. */
const redacted = (phrases: string[], text: string) =>
  evaluateText(
    text,
    [
      compilePolicy(
        create(GuardrailPolicySchema, {
          name: "guardrail-policies/p",
          rules: [{ id: "deny", stage: GuardrailStage.OUTPUT, action: GuardrailAction.REDACT, check: { case: "denyList", value: { phrases } } }],
        }),
      ),
    ],
    "output",
    createPlaceholders(),
  ).text;

const IGNORABLES: Readonly<Record<string, string>> = {
  "U+200B zero width space": "\u200b",
  "U+200C zero width non-joiner": "\u200c",
  "U+200D zero width joiner": "\u200d",
  "U+2060 word joiner": "\u2060",
  "U+FEFF zero width no-break space": "\ufeff",
  "U+00AD soft hyphen": "\u00ad",
  "U+FE0F variation selector 16": "\ufe0f",
  "U+E0100 variation selector 17": "\u{e0100}",
  "U+202A left-to-right embedding": "\u202a",
  "U+202E right-to-left override": "\u202e",
  "U+2066 left-to-right isolate": "\u2066",
  "U+2069 pop directional isolate": "\u2069",
  "U+180E mongolian vowel separator": "\u180e",
};

describe("deny list: default-ignorable code points inside a word", () => {
  for (const [name, x] of Object.entries(IGNORABLES)) {
    it(`reads through ${name}, and the match covers every inserted one`, () => {
      const text = `the l${x}aun${x}${x}ch co${x}des${x}, now`;
      expect(hits(["launch codes"], text)).toEqual([`l${x}aun${x}${x}ch co${x}des${x}`]);
      expect(redacted(["launch codes"], text)).toBe("the [DENY_LIST_1], now");
    });
  }

  it("reads word boundaries across them, as if they were not there", () => {
    expect(hits(["ass"], "cl\u200bass")).toEqual([]);
    expect(hits(["ass"], "an \u200ba\u200css\u200d!")).toEqual(["a\u200css\u200d"]);
    expect(hits(["ass"], "a\u200bss\u200bx")).toEqual([]);
  });

  it("compiles phrases the same way (an ignorable inside a phrase is not part of it)", () => {
    expect(hits(["launch\u200b codes", "b\u00adad"], "launch codes and bad")).toEqual(["launch codes", "bad"]);
    expect(hits(["\u200b\u200d"], "anything \u200b\u200d")).toEqual([]);
  });
});

describe("deny list: compatibility forms (NFKC)", () => {
  it("matches fullwidth, mathematical, circled and ligature forms of an ASCII phrase", () => {
    expect(hits(["bad"], "so ｂａｄ!")).toEqual(["ｂａｄ"]);
    expect(hits(["bad"], "so 𝐛𝐚𝐝!")).toEqual(["𝐛𝐚𝐝"]);
    expect(hits(["bad"], "so 𝕓𝕒𝕕!")).toEqual(["𝕓𝕒𝕕"]);
    expect(hits(["bad"], "so ⓑⓐⓓ!")).toEqual(["ⓑⓐⓓ"]);
    expect(hits(["file"], "the ﬁle.")).toEqual(["ﬁle"]);
    expect(hits(["launch codes"], "ＬＡＵＮＣＨ　ＣＯＤＥＳ")).toEqual(["ＬＡＵＮＣＨ　ＣＯＤＥＳ"]);
  });

  it("folds the case of what they decompose to, and keeps it when case-sensitive", () => {
    expect(hits(["bad"], "𝐁𝐀𝐃")).toEqual(["𝐁𝐀𝐃"]);
    expect(hits(["bad"], "𝐁𝐀𝐃", true)).toEqual([]);
    expect(hits(["BAD"], "𝐁𝐀𝐃 ｂａｄ", true)).toEqual(["𝐁𝐀𝐃"]);
  });

  it("compiles a phrase written in compatibility forms to its plain form", () => {
    expect(hits(["ｂａｄ", "ﬁle"], "bad file")).toEqual(["bad", "file"]);
  });

  it("needs the word boundary on the decomposed text (a ligature half is inside a word)", () => {
    expect(hits(["fi"], "the ﬁle")).toEqual([]);
    expect(hits(["bad"], "𝐛𝐚𝐝𝐬")).toEqual([]);
  });
});

describe("deny list: combining marks", () => {
  it("matches an unaccented phrase whatever marks the text puts on its letters", () => {
    expect(hits(["bad"], "so b\u0332a\u0332d\u0332 it")).toEqual(["b\u0332a\u0332d\u0332"]);
    expect(hits(["bad"], "so bád it")).toEqual(["bád"]);
    expect(hits(["bad"], "so ba\u0301d it")).toEqual(["ba\u0301d"]);
    expect(hits(["cafe"], "un café, un cafè")).toEqual(["café", "cafè"]);
    expect(redacted(["bad"], "so b\u0332a\u0332d\u0332\u0301 it")).toBe("so [DENY_LIST_1] it");
  });

  it("matches an accented phrase only where the text has its accents (other marks ignored)", () => {
    expect(hits(["café"], "un café")).toEqual(["café"]);
    expect(hits(["café"], "un cafe\u0301")).toEqual(["cafe\u0301"]);
    expect(hits(["cafe\u0301"], "un café")).toEqual(["café"]);
    expect(hits(["CAFÉ"], "un café")).toEqual(["café"]);
    expect(hits(["café"], "un c\u0332a\u0332f\u0332e\u0301\u0332")).toEqual(["c\u0332a\u0332f\u0332e\u0301\u0332"]);
    expect(hits(["café"], "un cafe")).toEqual([]);
    expect(hits(["café"], "un cafè")).toEqual([]);
    expect(hits(["café"], "un cafe, un café")).toEqual(["café"]);
    expect(hits(["cafe", "café"], "un cafe, un café")).toEqual(["cafe", "café"]);
  });

  it("keeps case folding: Greek final sigma with accents stripped", () => {
    expect(hits(["λογος"], "ΤΟ ΛΌΓΟΣ")).toEqual(["ΛΌΓΟΣ"]);
  });
});

describe("deny list: what normalisation leaves alone", () => {
  it("does not map confusable letters of other scripts (Cyrillic а is not Latin a)", () => {
    expect(hits(["bad"], "b\u0430d")).toEqual([]);
  });

  it("does not strip the ignorables and marks before a match from its span", () => {
    expect(redacted(["bad"], "\u200bbad \u0301bad")).toBe("\u200b[DENY_LIST_1] \u0301[DENY_LIST_1]");
  });
});

describe("deny list: pendingStart over normalised text", () => {
  const one = compileDenyList(["launch codes"]);

  it("holds back a phrase in progress with ignorables, marks and compatibility forms in it", () => {
    expect(one.pendingStart("say la\u200b")).toBe(4);
    expect(one.pendingStart("say la\u0301")).toBe(4);
    expect(one.pendingStart("say ｌａ")).toBe(4);
    expect(one.pendingStart("say 𝐥𝐚")).toBe(4);
    expect(one.pendingStart("say launch\u200b codes\u200b")).toBe(4);
    expect(one.pendingStart("say ok\u200b")).toBe(7);
  });

  it("holds back a trailing high surrogate: with its pair it may continue the phrase", () => {
    expect(one.pendingStart("say launch code\ud835")).toBe(4);
    expect(one.pendingStart("say \ud835")).toBe(4);
    expect(one.find("say launch code\ud835\udc2c")).toEqual([{ start: 4, end: 17 }]);
  });

  it("holds back the last character while a match may end inside it and marks may still join it", () => {
    const one = compileDenyList(["1"]);
    expect(one.find("x ½")).toEqual([{ start: 2, end: 3 }]);
    expect(one.pendingStart("x ½")).toBe(2);
  });
});
