/**
 * Quality of the semantic cache's match rule — local embedding, cosine ≥ the default threshold,
 * equal signature — on the hand-labelled pairs in `semantic-eval.json`. The README's table comes
 * from this test's output (`npx vitest run server/cache/semantic/semantic-eval.test.ts`).
 */
import { describe, expect, it } from "vitest";
import { ROUTE_DEFAULTS } from "../../dispatch/route-types.js";
import evalSet from "./semantic-eval.json" with { type: "json" };
import { cosine, localEmbedding, promptSignature } from "./local-embedding.js";
import { normalizePrompt } from "./prompt-text.js";

interface Pair {
  a: string;
  b: string;
  paraphrase: boolean;
}

/** Whether the semantic cache would serve `b` from an entry stored for `a`, at `threshold`. */
function wouldHit(pair: Pair, threshold: number): boolean {
  const a = normalizePrompt(pair.a);
  const b = normalizePrompt(pair.b);
  return cosine(localEmbedding(a), localEmbedding(b)) >= threshold && promptSignature(a) === promptSignature(b);
}

function score(pairs: readonly Pair[], threshold: number) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (const pair of pairs) {
    const hit = wouldHit(pair, threshold);
    if (hit && pair.paraphrase) tp++;
    else if (hit) fp++;
    else if (pair.paraphrase) fn++;
    else tn++;
  }
  return { tp, fp, fn, tn, precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp / (tp + fn) };
}

describe("semantic cache quality (labelled paraphrase pairs)", () => {
  const pairs = evalSet.pairs as Pair[];

  it("has at least 100 labelled pairs of both kinds", () => {
    expect(pairs.length).toBeGreaterThanOrEqual(100);
    expect(pairs.filter((p) => p.paraphrase).length).toBeGreaterThanOrEqual(40);
    expect(pairs.filter((p) => !p.paraphrase).length).toBeGreaterThanOrEqual(40);
  });

  it("keeps precision ≥ 0.95 at the default threshold (and reports the table)", () => {
    const threshold = ROUTE_DEFAULTS.cache.semanticThreshold;
    const rows = [0.85, 0.9, threshold, 0.98].map((t) => ({ t, ...score(pairs, t) }));
    const table = [
      "| threshold | pairs | true hits | false hits | missed paraphrases | precision | recall |",
      "|---|---|---|---|---|---|---|",
      ...rows.map((r) => `| ${r.t}${r.t === threshold ? " (default)" : ""} | ${pairs.length} | ${r.tp} | ${r.fp} | ${r.fn} | ${r.precision.toFixed(3)} | ${r.recall.toFixed(3)} |`),
    ].join("\n");
    console.log(`\nsemantic cache, local embedding:\n${table}\n`);
    const atDefault = rows.find((r) => r.t === threshold)!;
    expect(atDefault.precision).toBeGreaterThanOrEqual(0.95);
    expect(atDefault.recall).toBeGreaterThan(0.5);
  });

  it("never matches across different numbers or negations, whatever the similarity", () => {
    expect(wouldHit({ a: "Convert 100 USD to EUR", b: "Convert 200 USD to EUR", paraphrase: false }, 0)).toBe(false);
    expect(wouldHit({ a: "Is it safe", b: "Is it not safe", paraphrase: false }, 0)).toBe(false);
  });
});
