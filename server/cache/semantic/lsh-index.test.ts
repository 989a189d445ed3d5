import { describe, expect, it } from "vitest";
import { createRandom } from "../../sandbox/seeded.js";
import { cosine, localEmbedding, unit } from "./local-embedding.js";
import { createLshIndex } from "./lsh-index.js";

/** A random unit vector, and one at about `similarity` to it. */
function pair(random: () => number, dims: number, similarity: number): [Float32Array, Float32Array] {
  const a = unit(Float32Array.from({ length: dims }, () => random() - 0.5));
  const noise = unit(Float32Array.from({ length: dims }, () => random() - 0.5));
  const b = unit(Float32Array.from(a, (x, i) => similarity * x + Math.sqrt(1 - similarity * similarity) * noise[i]!));
  return [a, b];
}

describe("createLshIndex", () => {
  it("finds near neighbours above the threshold in a large index (recall ≥ 0.95 at cosine ~0.97)", () => {
    const random = createRandom(1);
    const dims = 128;
    const index = createLshIndex<number>({ dimensions: dims, maxEntries: 5000 });
    const queries: Array<[number, Float32Array]> = [];
    for (let i = 0; i < 3000; i++) {
      const [a, b] = pair(random, dims, 0.97);
      index.add(`e${i}`, a, i);
      if (i % 30 === 0) queries.push([i, b]);
    }
    const found = queries.filter(([i, q]) => index.nearest(q, 0.95)?.value === i).length;
    expect(found / queries.length).toBeGreaterThanOrEqual(0.95);
  });

  it("returns nothing below the threshold, and honours the accept filter", () => {
    const index = createLshIndex<string>({ dimensions: 512 });
    index.add("a", localEmbedding("what is the capital of france"), "ctx1");
    expect(index.nearest(localEmbedding("what is the capital of france"), 0.95)?.id).toBe("a");
    expect(index.nearest(localEmbedding("how do i bake bread"), 0.95)).toBeUndefined();
    expect(index.nearest(localEmbedding("what is the capital of france"), 0.95, (ctx) => ctx === "ctx2")).toBeUndefined();
  });

  it("stays bounded, dropping the least recently used entry", () => {
    const index = createLshIndex<number>({ dimensions: 512, maxEntries: 2 });
    const v = (t: string) => localEmbedding(t);
    index.add("a", v("alpha one"), 1);
    index.add("b", v("beta two"), 2);
    expect(index.nearest(v("alpha one"), 0.99)?.id).toBe("a"); // a is now the most recent
    index.add("c", v("gamma three"), 3);
    expect(index.size).toBe(2);
    expect(index.nearest(v("beta two"), 0.99)).toBeUndefined();
    expect(index.nearest(v("alpha one"), 0.99)?.id).toBe("a");
    expect(cosine(v("x"), new Float32Array(3))).toBe(0);
  });
});
