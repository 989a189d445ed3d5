import { describe, expect, it } from "vitest";
import { createClassifyVerb } from "./classify-verb.js";
import { createScriptedPipeline } from "./testing/scripted-pipeline.js";
import { testContext } from "./testing/test-context.js";

async function classify(reply: string, names: string[]) {
  const pipeline = createScriptedPipeline([{ type: "answer", text: reply }, { type: "answer", text: reply }]);
  const out = await createClassifyVerb({ pipeline })({ text: "Great product, works fine.", labels: names.map((name) => ({ name })) }, testContext()).then(
    (o) => o.labels,
    (e: unknown) => (e as Error).message,
  );
  return { out, calls: pipeline.calls.length };
}

describe("Classify", () => {
  it("reads a bare label name also when the name happens to be a JSON literal (a rating scale, true/false)", async () => {
    // Works for a word label: "Billing." is read as the label billing (classify-verb.test.ts).
    expect(await classify("positive", ["positive", "negative"])).toEqual({ out: [{ name: "positive", score: 1 }], calls: 1 });
    expect(await classify("4", ["1", "2", "3", "4", "5"])).toEqual({ out: [{ name: "4", score: 1 }], calls: 1 });
    expect(await classify("true", ["true", "false"])).toEqual({ out: [{ name: "true", score: 1 }], calls: 1 });
  });
});
