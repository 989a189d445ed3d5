import { fieldViolation } from "../errors/field-violation.js";
import type { ModelPipeline } from "../pipeline/model-call.js";
import type { ModelMessage } from "../providers/model.js";
import { classificationSchema, readLabelScores, readPlainLabel, type ClassifyLabel, type LabelScore } from "./classify-labels.js";
import { parseJsonReply } from "./json-reply.js";
import { withRepairTurn } from "./repair-turn.js";
import { callMetaFor, verbRequest, type VerbContext } from "./verb-context.js";
import { failedPrecondition } from "./verb-errors.js";
import { VERB_VARIABLES } from "./templates/verb-template-rules.js";
import { checkTemplate, renderVerbPrompt, templateFor } from "./verb-prompt.js";
import { createUsageMeter, type VerbUsage } from "./verb-usage.js";

export type { ClassifyLabel, LabelScore } from "./classify-labels.js";

/** A Classify request. */
export interface ClassifyInput {
  text: string;
  /** The labels to choose from; names must be unique. */
  labels: readonly ClassifyLabel[];
  /** Allow several labels; otherwise exactly one is returned. */
  multiLabel?: boolean;
  /** Extra instructions for the classifier. */
  instructions?: string;
}

/** A Classify result. */
export interface ClassifyOutput {
  /** Labels of the set only, highest score first; exactly one unless `multiLabel`. */
  labels: LabelScore[];
  usage: VerbUsage;
}

/** Dependencies of the Classify verb. */
export interface ClassifyDeps {
  pipeline: ModelPipeline;
}

/** The Classify verb. */
export type ClassifyVerb = (input: ClassifyInput, ctx: VerbContext) => Promise<ClassifyOutput>;

const SHAPE = `{"labels": [{"name": "<label name>", "score": <number from 0 to 1>}]}`;

function checkLabels(labels: readonly ClassifyLabel[]): string[] {
  if (labels.length === 0) throw fieldViolation("labels", "at least one label is required", "classify.labels.required");
  const names = labels.map((l) => l.name);
  names.forEach((name, i) => {
    if (name.trim() === "") throw fieldViolation(`labels[${i}].name`, "must not be empty", "classify.labels.name_not_blank");
    if (names.indexOf(name) !== i) throw fieldViolation(`labels[${i}].name`, `duplicate label "${name}"`, "classify.labels.unique");
  });
  return names;
}

function labelList(labels: readonly ClassifyLabel[]): string {
  return labels.map((l) => `- ${JSON.stringify(l.name)}${l.description?.trim() ? `: ${l.description.trim()}` : ""}`).join("\n");
}

/**
 * Creates Classify. The label set is enforced twice: as a JSON Schema `enum` (native structured
 * output when the route's targets support it, else the schema written into the prompt), and by
 * reading the answer against the set, which drops every unknown label, so a label outside the
 * set is never returned. An answer with no valid label gets one repair call showing the model
 * its reply; if that still names none, FAILED_PRECONDITION.
 */
export function createClassifyVerb(deps: ClassifyDeps): ClassifyVerb {
  return async (input, ctx) => {
    const names = checkLabels(input.labels);
    const template = templateFor(ctx, "classify");
    checkTemplate(template, VERB_VARIABLES.classify.required);
    const schema = classificationSchema(names);
    const native = ctx.capabilities.jsonSchema;
    const mode = input.multiLabel
      ? "- Return every label that applies to the text, each with its own score. Return at least one label: when none clearly applies, the closest one with a low score."
      : `- Choose exactly one label: the one that fits the text best. Return it alone in "labels".`;
    const format = native
      ? `Reply with a JSON object of the form ${SHAPE}.`
      : `Reply with a JSON object of the form ${SHAPE} and nothing else: no code fences, no other text. It must validate against this JSON Schema:\n${JSON.stringify(schema)}`;
    const prompt = renderVerbPrompt(
      template,
      {
        text: input.text,
        labels: labelList(input.labels),
        requirements: mode,
        instructions: input.instructions?.trim() || "None.",
        output_format: format,
      },
      ["text"],
    );
    const meter = createUsageMeter();
    const call = async (messages: ModelMessage[]): Promise<string> => {
      const result = await meter.chat(
        deps.pipeline.chat({
          meta: { ...callMetaFor(ctx, "classify", template, prompt.userContentMessages), acceptsAnswer: (r) => read(r.text).length > 0 },
          request: verbRequest(ctx, messages, native ? { responseFormat: { type: "json_schema", name: "classification", schema, strict: true } } : {}),
        }),
      );
      return result.response.text;
    };
    const read = (reply: string): LabelScore[] => {
      const parsed = parseJsonReply(reply);
      // A bare name that is also a JSON literal (a label "4", "true") parses; read it as a name too.
      const fromJson = parsed.ok ? readLabelScores(parsed.value, names) : [];
      const scores = fromJson.length > 0 ? fromJson : readPlainLabel(reply, names);
      return input.multiLabel ? scores : scores.slice(0, 1);
    };

    // A failure after a call was sent (the repair's, or the contract's) reports every call billed.
    try {
      const first = await call(prompt.messages);
      let labels = read(first);
      if (labels.length === 0) {
        const allowed = names.map((n) => JSON.stringify(n)).join(", ");
        const feedback = `Your reply named no label from the allowed set. The allowed labels are exactly: ${allowed}. Reply again with only the JSON object ${SHAPE}, using these names exactly as written.`;
        labels = read(await call(withRepairTurn(prompt.messages, first, feedback)));
        if (labels.length === 0) throw failedPrecondition("the model did not assign any of the given labels, also after one repair");
      }
      return { labels, usage: meter.total(template) };
    } catch (err) {
      throw meter.failure(err, ctx.route);
    }
  };
}
