import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ModelCall } from "../pipeline/model-call.js";
import { createClassifyVerb } from "./classify-verb.js";
import { createScriptedPipeline, promptText } from "./testing/scripted-pipeline.js";
import { testContext } from "./testing/test-context.js";

const LABELS = [
  { name: "billing", description: "Invoices, charges, refunds." },
  { name: "bug", description: "Something does not work." },
  { name: "Feature Request" },
];
const NAMES = LABELS.map((l) => l.name);
const answer = (text: string) => ({ type: "answer" as const, text });

async function classify(replies: string[], multiLabel = false, jsonSchema = false) {
  const pipeline = createScriptedPipeline(replies.map(answer));
  const out = await createClassifyVerb({ pipeline })({ text: "I was charged twice", labels: LABELS, multiLabel }, testContext({ capabilities: { jsonSchema } }));
  return { out, pipeline };
}

describe("Classify", () => {
  it("returns labels of the set only, sorted by score, scores clamped, duplicates merged", async () => {
    const reply = '```json\n{"labels": [{"name": "bug", "score": 0.4}, {"name": "refunds", "score": 0.99}, {"name": "billing", "score": 1.7}, {"name": "feature request", "score": -1}, {"name": "bug", "score": 0.6}]}\n```';
    const { out } = await classify([reply], true);
    expect(out.labels).toEqual([
      { name: "billing", score: 1 },
      { name: "bug", score: 0.6 },
      { name: "Feature Request", score: 0 },
    ]);
  });

  it("single-label returns exactly the highest-scoring label", async () => {
    const { out } = await classify(['{"labels": [{"name": "bug", "score": 0.3}, {"name": "billing", "score": 0.9}]}']);
    expect(out.labels).toEqual([{ name: "billing", score: 0.9 }]);
  });

  it("reads other shapes models produce: a bare name, a name→score map, plain strings", async () => {
    expect((await classify(["Billing."])).out.labels).toEqual([{ name: "billing", score: 1 }]);
    expect((await classify(['{"labels": {"bug": 0.8, "billing": "0.2"}}'], true)).out.labels).toEqual([
      { name: "bug", score: 0.8 },
      { name: "billing", score: 0.2 },
    ]);
    expect((await classify(['Sure! ["bug"]'])).out.labels).toEqual([{ name: "bug", score: 1 }]);
  });

  it("sends the label set as a json_schema enum when the route supports it", async () => {
    const { pipeline } = await classify(['{"labels": [{"name": "bug", "score": 1}]}'], false, true);
    const call = pipeline.chatCalls()[0] as ModelCall;
    expect(call.request.responseFormat).toMatchObject({ type: "json_schema", name: "classification", strict: true });
    const schema = call.request.responseFormat?.type === "json_schema" ? call.request.responseFormat.schema : {};
    expect(JSON.stringify(schema)).toContain(JSON.stringify({ type: "string", enum: NAMES }));
    expect(promptText(call)).not.toContain('"enum"');
    expect(call.meta.userContentMessages).toEqual([1]);
  });

  it("writes the schema into the prompt when the route has no native structured output", async () => {
    const { pipeline } = await classify(['{"labels": [{"name": "bug", "score": 1}]}']);
    const call = pipeline.chatCalls()[0] as ModelCall;
    expect(call.request.responseFormat).toBeUndefined();
    expect(promptText(call)).toContain(`"enum":${JSON.stringify(NAMES)}`);
    expect(promptText(call)).toContain('- "billing": Invoices, charges, refunds.');
  });

  it("repairs once when no label of the set remains, showing the model its reply", async () => {
    const { out, pipeline } = await classify(['{"labels": [{"name": "payments", "score": 0.9}]}', '{"labels": [{"name": "billing", "score": 0.8}]}']);
    expect(out.labels).toEqual([{ name: "billing", score: 0.8 }]);
    expect(out.usage.modelCalls).toBe(2);
    const repair = pipeline.chatCalls()[1] as ModelCall;
    expect(repair.request.messages.slice(-2).map((m) => m.role)).toEqual(["assistant", "user"]);
    expect(promptText(repair)).toContain('{"labels": [{"name": "payments", "score": 0.9}]}');
    expect(promptText(repair)).toContain('"billing", "bug", "Feature Request"');
  });

  it("fails with FailedPrecondition when the repair names no label either", async () => {
    const err = await classify(["no idea", '{"labels": []}']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
  });

  it("a label named twice keeps its highest score, whichever comes first", async () => {
    const { out } = await classify(['{"labels": [{"name": "bug", "score": 0.9}, {"name": "billing", "score": 0.5}, {"name": "bug", "score": 0.2}]}'], true);
    expect(out.labels).toEqual([
      { name: "bug", score: 0.9 },
      { name: "billing", score: 0.5 },
    ]);
  });

  it("does not guess between labels that differ only in case: an ambiguous name is no label", async () => {
    const pipeline = createScriptedPipeline([answer('{"labels": [{"name": "urgent", "score": 0.9}]}'), answer('{"labels": [{"name": "URGENT", "score": 0.7}]}')]);
    const out = await createClassifyVerb({ pipeline })({ text: "t", labels: [{ name: "Urgent" }, { name: "URGENT" }] }, testContext());
    // "urgent" folds to both labels, so the first reply names none and is repaired; the exact name is then taken as written.
    expect(out.labels).toEqual([{ name: "URGENT", score: 0.7 }]);
    expect(out.usage.modelCalls).toBe(2);
  });

  it("a label listed without a usable score was still chosen: full confidence", async () => {
    const { out } = await classify(['{"labels": [{"name": "bug"}, {"name": "billing", "score": "n/a"}, {"name": "Feature Request", "score": 0.4}]}'], true);
    expect(out.labels).toEqual([
      { name: "billing", score: 1 },
      { name: "bug", score: 1 },
      { name: "Feature Request", score: 0.4 },
    ]);
  });

  it("rejects a blank label name before any call", async () => {
    const pipeline = createScriptedPipeline([]);
    const err = await createClassifyVerb({ pipeline })({ text: "t", labels: [{ name: "a" }, { name: "  " }] }, testContext()).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain("labels[1].name");
    expect(pipeline.calls).toHaveLength(0);
  });

  it("rejects duplicate label names", async () => {
    const pipeline = createScriptedPipeline([]);
    const err = await createClassifyVerb({ pipeline })({ text: "t", labels: [{ name: "a" }, { name: "a" }] }, testContext()).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("property: whatever the model answers, every returned label is in the set; single-label returns exactly one", async () => {
    const name = fc.oneof(fc.constantFrom(...NAMES, "BUG", " billing ", "other", "labels", ""), fc.string());
    const score = fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null));
    const item = fc.oneof(fc.record({ name, score }), fc.record({ label: name, confidence: score }), name);
    const reply = fc.oneof(
      fc.string(),
      fc.array(item).map((labels) => JSON.stringify({ labels })),
      fc.array(item).map((labels) => "```json\n" + JSON.stringify(labels) + "\n```"),
      fc.dictionary(name, score).map((labels) => JSON.stringify({ labels })),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(reply, reply, fc.boolean(), async (first, second, multiLabel) => {
        try {
          const { out } = await classify([first, second], multiLabel);
          for (const l of out.labels) {
            expect(NAMES).toContain(l.name);
            expect(l.score).toBeGreaterThanOrEqual(0);
            expect(l.score).toBeLessThanOrEqual(1);
          }
          if (!multiLabel) expect(out.labels).toHaveLength(1);
          else expect(out.labels.length).toBeGreaterThan(0);
          expect(out.labels.map((l) => l.score)).toEqual([...out.labels.map((l) => l.score)].sort((a, b) => b - a));
        } catch (err) {
          expect(err).toBeInstanceOf(ConnectError);
          expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
        }
      }),
      { numRuns: 300 },
    );
  });
});
