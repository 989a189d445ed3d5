import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBullets } from "./bullets.js";
import { splitIntoChunks } from "./text-chunks.js";

describe("splitIntoChunks", () => {
  it("keeps paragraphs whole when they fit, packing several per chunk", () => {
    const paras = ["a".repeat(30), "b".repeat(30), "c".repeat(30), "d".repeat(30)];
    const text = paras.join("\n\n");
    const chunks = splitIntoChunks(text, 70);
    expect(chunks.join("")).toBe(text);
    expect(chunks.map((c) => c.trim())).toEqual([`${paras[0]}\n\n${paras[1]}`, `${paras[2]}\n\n${paras[3]}`]);
  });

  it("splits a long paragraph on sentences, then words, then characters", () => {
    const sentence = "The quick brown fox jumps. ";
    expect(splitIntoChunks(sentence.repeat(4), 60)).toEqual([sentence.repeat(2), sentence.repeat(2)]);
    expect(splitIntoChunks("alpha beta gamma delta", 12)).toEqual(["alpha beta ", "gamma delta"]);
    expect(splitIntoChunks("x".repeat(25), 10)).toEqual(["x".repeat(10), "x".repeat(10), "x".repeat(5)]);
  });

  it("never cuts a surrogate pair", () => {
    const chunks = splitIntoChunks("😀".repeat(5), 3);
    expect(chunks.every((c) => !/[\ud800-\udbff]$/.test(c))).toBe(true);
    expect(chunks.join("")).toBe("😀".repeat(5));
  });

  it("property: chunks concatenate to the input and respect the size", () => {
    const unit = fc.constantFrom("word", " ", "\n", "\n\n", ". ", "。", "x", "😀", "\t");
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 200 }), fc.integer({ min: 2, max: 50 }), (text, max) => {
        const chunks = splitIntoChunks(text, max);
        expect(chunks.join("")).toBe(text);
        for (const c of chunks) expect(c.length).toBeLessThanOrEqual(max);
      }),
    );
  });
});

describe("parseBullets", () => {
  it("reads -, *, •, and numbered lists, joining indented continuations and skipping a preamble", () => {
    const reply = "Here are the points:\n- first\n* second\n  continued\n• third\n1. fourth\n2) fifth\n\nNot a bullet";
    expect(parseBullets(reply)).toEqual(["first", "second continued", "third", "fourth", "fifth"]);
  });

  it("finds no bullets in prose", () => {
    expect(parseBullets("Just a sentence.\nAnother one.")).toEqual([]);
  });
});
