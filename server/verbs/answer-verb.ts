import { fieldViolation } from "../errors/field-violation.js";
import type { ModelPipeline } from "../pipeline/model-call.js";
import type { ModelMessage } from "../providers/model.js";
import { answerSchema, readModelAnswer, verifyCitations, type AnswerSource, type DroppedCitation, type ModelAnswer, type VerifiedCitation } from "./answer-citations.js";
import { parseJsonReply } from "./json-reply.js";
import { withRepairTurn } from "./repair-turn.js";
import { callMetaFor, verbRequest, type VerbContext } from "./verb-context.js";
import { failedPrecondition } from "./verb-errors.js";
import { VERB_VARIABLES } from "./templates/verb-template-rules.js";
import { checkTemplate, renderVerbPrompt, templateFor } from "./verb-prompt.js";
import { createUsageMeter, type VerbUsage } from "./verb-usage.js";

export type { AnswerSource, DroppedCitation, DropReason, VerifiedCitation } from "./answer-citations.js";

/** An Answer request. */
export interface AnswerInput {
  question: string;
  /** The sources to answer from; ids must be unique. */
  sources: readonly AnswerSource[];
  /** Require at least one valid citation, else the answer is "not answerable from the sources". */
  requireCitations?: boolean;
  /** Extra instructions. */
  instructions?: string;
}

/** An Answer result. */
export interface AnswerOutput {
  answer: string;
  /** False when the sources do not support an answer. */
  answerable: boolean;
  /** Citations whose quote was found in the cited source. */
  citations: VerifiedCitation[];
  /** Citations the model made that the sources do not support. */
  droppedCitations: DroppedCitation[];
  usage: VerbUsage;
}

/** Dependencies of the Answer verb. */
export interface AnswerDeps {
  pipeline: ModelPipeline;
}

/** The Answer verb. */
export type AnswerVerb = (input: AnswerInput, ctx: VerbContext) => Promise<AnswerOutput>;

/** The answer given when the sources do not support one. */
export const NOT_ANSWERABLE = "Not answerable from the sources: they do not contain the information needed to answer this question.";

const SHAPE = `{"answer": "<the answer>", "answerable": true, "citations": [{"source_id": "<id of the source>", "quote": "<text copied exactly from that source>"}]}`;

function checkInput(input: AnswerInput): void {
  if (input.question.trim() === "") throw fieldViolation("question", "must not be empty", "answer.question.not_blank");
  if (input.sources.length === 0) throw fieldViolation("sources", "at least one source is required", "answer.sources.required");
  const ids = input.sources.map((s) => s.id);
  ids.forEach((id, i) => {
    if (id === "") throw fieldViolation(`sources[${i}].id`, "must not be empty", "answer.sources.id_not_blank");
    if (ids.indexOf(id) !== i) throw fieldViolation(`sources[${i}].id`, `duplicate source id "${id}"`, "answer.sources.unique");
  });
}

function formatSources(sources: readonly AnswerSource[]): string {
  return sources
    .map((s) => {
      const title = s.title?.trim() ? ` title=${JSON.stringify(s.title.trim())}` : "";
      return `<source id=${JSON.stringify(s.id)}${title}>\n${s.text}\n</source>`;
    })
    .join("\n\n");
}

function read(reply: string): ModelAnswer | string {
  const parsed = parseJsonReply(reply);
  if (!parsed.ok) return parsed.error;
  const answer = readModelAnswer(parsed.value);
  if (answer === undefined) return `the reply has no "answer" string`;
  // An answer it calls answerable but leaves blank is no answer (`answer: ""` with OK, cached).
  if (answer.answerable && answer.answer.trim() === "") return `the reply's "answer" is empty although "answerable" is true`;
  return answer;
}

/**
 * Creates Answer. The model is asked for JSON with verbatim quotes; every quote is then looked
 * up in its source (exactly, else whitespace/quotation-mark normalized, mapped back to the
 * original text) and gets code-point offsets, or is dropped with the reason. A reply that is not
 * a usable answer gets one repair call, then FAILED_PRECONDITION. With `requireCitations` and no
 * citation left, the result is `answerable: false` with {@link NOT_ANSWERABLE}: an uncited
 * answer is never returned.
 */
export function createAnswerVerb(deps: AnswerDeps): AnswerVerb {
  return async (input, ctx) => {
    checkInput(input);
    const template = templateFor(ctx, "answer");
    checkTemplate(template, VERB_VARIABLES.answer.required);
    const native = ctx.capabilities.jsonSchema;
    const schema = answerSchema();
    const format = native
      ? `Reply with a JSON object of the form ${SHAPE}.`
      : `Reply with a JSON object of the form ${SHAPE} and nothing else: no code fences, no other text. It must validate against this JSON Schema:\n${JSON.stringify(schema)}`;
    const prompt = renderVerbPrompt(
      template,
      { question: input.question, sources: formatSources(input.sources), instructions: input.instructions?.trim() || "None.", output_format: format },
      ["question", "sources"],
    );
    const meter = createUsageMeter();
    const call = async (messages: ModelMessage[]): Promise<string> => {
      const result = await meter.chat(
        deps.pipeline.chat({
          meta: { ...callMetaFor(ctx, "answer", template, prompt.userContentMessages), acceptsAnswer: (r) => typeof read(r.text) !== "string" },
          request: verbRequest(ctx, messages, native ? { responseFormat: { type: "json_schema", name: "cited_answer", schema, strict: true } } : {}),
        }),
      );
      return result.response.text;
    };

    // A failure after a call was sent (the repair's, or the contract's) reports every call billed.
    let answer: ModelAnswer | string;
    try {
      const first = await call(prompt.messages);
      answer = read(first);
      if (typeof answer === "string") {
        const feedback = `Your reply could not be used: ${answer}. Reply again with only the JSON object ${SHAPE}: no code fences, no other text.`;
        answer = read(await call(withRepairTurn(prompt.messages, first, feedback)));
        if (typeof answer === "string") throw failedPrecondition(`the model did not return a usable answer, also after one repair: ${answer}`);
      }
    } catch (err) {
      throw meter.failure(err, ctx.route);
    }
    const { citations, dropped } = verifyCitations(answer.citations, input.sources);
    const usage = meter.total(template);
    if (input.requireCitations && citations.length === 0) {
      return { answer: NOT_ANSWERABLE, answerable: false, citations, droppedCitations: dropped, usage };
    }
    const text = answer.answer.trim();
    if (!answer.answerable) return { answer: text || NOT_ANSWERABLE, answerable: false, citations, droppedCitations: dropped, usage };
    return { answer: text, answerable: true, citations, droppedCitations: dropped, usage };
  };
}
