import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ModelCall } from "../pipeline/model-call.js";
import { createAnswerVerb, NOT_ANSWERABLE, type AnswerInput } from "./answer-verb.js";
import { codePointOffset, locateQuote } from "./quote-locator.js";
import { createScriptedPipeline, promptText } from "./testing/scripted-pipeline.js";
import { testContext } from "./testing/test-context.js";

const SOURCES = [
  { id: "handbook", title: "Employee handbook", text: "Vacation: every employee gets 25 days of paid leave per year.\nUnused days expire in March." },
  { id: "faq", text: "Q: Can I carry over leave?\nA: Up to five days may be carried over,  with   approval." },
];
const reply = (o: unknown): string => JSON.stringify(o);

async function answer(replies: string[], input: Partial<AnswerInput> = {}, jsonSchema = false) {
  const pipeline = createScriptedPipeline(replies.map((text) => ({ type: "answer" as const, text })));
  const out = await createAnswerVerb({ pipeline })({ question: "How much leave do I get?", sources: SOURCES, ...input }, testContext({ capabilities: { jsonSchema } }));
  return { out, pipeline };
}

describe("Answer", () => {
  it("keeps a real quote with its offsets and drops a fabricated one", async () => {
    const { out } = await answer([
      reply({
        answer: "25 days per year.",
        answerable: true,
        citations: [
          { source_id: "handbook", quote: "every employee gets 25 days of paid leave per year" },
          { source_id: "handbook", quote: "employees get 30 days of leave" },
          { source_id: "intranet", quote: "25 days" },
        ],
      }),
    ]);
    expect(out.answer).toBe("25 days per year.");
    expect(out.answerable).toBe(true);
    const text = SOURCES[0]?.text ?? "";
    const start = text.indexOf("every employee");
    expect(out.citations).toEqual([{ sourceId: "handbook", quote: "every employee gets 25 days of paid leave per year", start, end: start + 50 }]);
    expect(text.slice(start, start + 50)).toBe("every employee gets 25 days of paid leave per year");
    expect(out.droppedCitations).toEqual([
      { sourceId: "handbook", quote: "employees get 30 days of leave", reason: "quote_not_found" },
      { sourceId: "intranet", quote: "25 days", reason: "unknown_source" },
    ]);
  });

  it("matches a quote with re-flowed whitespace and curly quotes, reporting the original span", async () => {
    const { out } = await answer([
      reply({ answer: "Five days.", answerable: true, citations: [{ source_id: "faq", quote: "“Up to five days may be carried over, with approval.”" }] }),
    ]);
    const text = SOURCES[1]?.text ?? "";
    const start = text.indexOf("Up to five");
    expect(out.citations).toEqual([{ sourceId: "faq", quote: "Up to five days may be carried over,  with   approval.", start, end: text.length }]);
  });

  it("with require_citations and no valid citation, is not answerable and gives no uncited answer", async () => {
    const { out } = await answer([reply({ answer: "30 days.", answerable: true, citations: [{ source_id: "faq", quote: "30 days" }] })], { requireCitations: true });
    expect(out).toMatchObject({ answer: NOT_ANSWERABLE, answerable: false, citations: [] });
    expect(out.droppedCitations).toHaveLength(1);
  });

  it("without require_citations keeps an uncited answer but flags what was dropped", async () => {
    const { out } = await answer([reply({ answer: "30 days.", answerable: true, citations: [{ source_id: "faq", quote: "30 days" }] })]);
    expect(out).toMatchObject({ answer: "30 days.", answerable: true, citations: [] });
  });

  it("passes the model's own 'not answerable' through", async () => {
    const { out } = await answer([reply({ answer: "The sources do not mention parental leave.", answerable: false, citations: [] })]);
    expect(out).toMatchObject({ answer: "The sources do not mention parental leave.", answerable: false });
  });

  it("puts sources and question in the user message, flagged as user content, with ids and titles", async () => {
    const { pipeline } = await answer([reply({ answer: "a", answerable: true, citations: [] })], {}, true);
    const call = pipeline.chatCalls()[0] as ModelCall;
    expect(call.meta.userContentMessages).toEqual([1]);
    expect(call.request.responseFormat).toMatchObject({ type: "json_schema", name: "cited_answer", strict: true });
    const user = promptText({ ...call, request: { ...call.request, messages: call.request.messages.slice(1) } });
    expect(user).toContain('<source id="handbook" title="Employee handbook">\nVacation:');
    expect(user).toContain('<source id="faq">');
    expect(user.endsWith("Question: How much leave do I get?")).toBe(true);
  });

  it("repairs an unusable reply once, then fails with FailedPrecondition", async () => {
    const ok = await answer(["Sorry, here you go: 25 days", reply({ answer: "25 days", answerable: true, citations: [] })]);
    expect(ok.out.answer).toBe("25 days");
    expect(ok.out.usage.modelCalls).toBe(2);
    const err = await answer(["prose", '{"no": "answer"}']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
  });

  it("property: every citation points at its own quote in the source, in code points, also past astral characters", async () => {
    const ch = fc.constantFrom("a", "b", " ", "\n", "😀", "é", "𝔘", "—", "”");
    const source = fc.array(ch, { minLength: 1, maxLength: 40 }).map((cs) => cs.join(""));
    await fc.assert(
      fc.asyncProperty(source, fc.nat(), fc.nat(), async (text, i, j) => {
        const points = Array.from(text);
        const a = i % points.length;
        const b = a + 1 + (j % (points.length - a));
        const quote = points.slice(a, b).join("");
        fc.pre(quote.trim() !== "");
        const sources = [{ id: "s", text }];
        const { out } = await answer([reply({ answer: "x", answerable: true, citations: [{ source_id: "s", quote }] })], { sources });
        expect(out.citations).toHaveLength(1);
        for (const c of out.citations) {
          expect(Array.from(text).slice(c.start, c.end).join("")).toBe(c.quote);
          expect(c.quote.trim()).toBe(quote.trim());
        }
      }),
      { numRuns: 200 },
    );
  });

  it("keeps a span cited twice once, and says why a blank quote was dropped", async () => {
    const { out } = await answer([
      reply({
        answer: "25 days.",
        answerable: true,
        citations: [
          { source_id: "handbook", quote: "25 days of paid leave" },
          { source_id: "handbook", quote: "25  days of\n paid leave" },
          { source_id: "faq", quote: "  " },
        ],
      }),
    ]);
    expect(out.citations.map((c) => c.quote)).toEqual(["25 days of paid leave"]);
    expect(out.droppedCitations).toEqual([{ sourceId: "faq", quote: "  ", reason: "empty_quote" }]);
  });

  it('reads answerable "false" written as a string as not answerable', async () => {
    const { out } = await answer([reply({ answer: "", answerable: " False ", citations: [] })]);
    expect(out).toMatchObject({ answer: NOT_ANSWERABLE, answerable: false });
    const yes = await answer([reply({ answer: "25 days.", answerable: "true", citations: [] })]);
    expect(yes.out).toMatchObject({ answer: "25 days.", answerable: true });
  });

  it("an answerable reply with a blank answer is no answer: repaired, then FailedPrecondition, never answer \"\" with OK", async () => {
    const blank = reply({ answer: "  ", answerable: true, citations: [{ source_id: "handbook", quote: "25 days of paid leave" }] });
    const ok = await answer([blank, reply({ answer: "25 days.", answerable: true, citations: [] })]);
    expect([ok.out.answer, ok.out.usage.modelCalls]).toEqual(["25 days.", 2]);
    const err = await answer([blank, blank]).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.FailedPrecondition);
  });

  it("rejects duplicate source ids", async () => {
    const err = await answer([], { sources: [SOURCES[1]!, SOURCES[1]!] }).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
  });
});

describe("locateQuote", () => {
  it("finds exact, trimmed, normalized and unwrapped quotes, never paraphrases", () => {
    const src = "He said: \u201cIt\u2019s done\u201d \u2014 finally.\n\nNext   line";
    expect(locateQuote(src, "It\u2019s done")).toEqual({ start: 10, end: 19 });
    expect(locateQuote(src, "  It\u2019s done ")).toEqual({ start: 10, end: 19 });
    expect(locateQuote(src, "\"It's done\" - finally.")).toEqual({ start: 9, end: 31 });
    expect(locateQuote(src, "finally. Next line")).toEqual({ start: 23, end: src.length });
    expect(locateQuote(src, "...Next line…")).toEqual({ start: 33, end: src.length });
    expect(locateQuote(src, "it's done")).toBeUndefined();
    expect(locateQuote(src, "   ")).toBeUndefined();
  });

  it("reports code-point offsets", () => {
    const src = "😀 smile: grin";
    const span = locateQuote(src, "grin");
    expect(span).toEqual({ start: 10, end: 14 });
    expect(codePointOffset(src, span?.start ?? 0)).toBe(9);
    expect(Array.from(src).slice(9, codePointOffset(src, span?.end ?? 0)).join("")).toBe("grin");
  });
});
