import { fieldViolation } from "../errors/field-violation.js";
import type { ModelResponse } from "../providers/model.js";
import type { ModelPipeline } from "../pipeline/model-call.js";
import { mapWithConcurrency } from "./bounded-map.js";
import {
  combineRequirements,
  finalOutputTokens,
  finalRequirements,
  partOutputTokens,
  partRequirements,
  partWords,
  regroupRequirements,
  specVariables,
  type SummarySpec,
} from "./summarize-instructions.js";
import { hasWords, shapeSummary } from "./summarize-output.js";
import { splitIntoChunks } from "./text-chunks.js";
import { CHARS_PER_TOKEN, estimateMessagesTokens } from "./token-estimate.js";
import { callMetaFor, verbRequest, type VerbContext } from "./verb-context.js";
import { failedPrecondition } from "./verb-errors.js";
import { VERB_VARIABLES } from "./templates/verb-template-rules.js";
import { checkTemplate, renderVerbPrompt, templateFor } from "./verb-prompt.js";
import { createUsageMeter, type VerbUsage } from "./verb-usage.js";

export type { SummaryStyle, SummarySpec } from "./summarize-instructions.js";

/** A Summarize request. */
export interface SummarizeInput extends SummarySpec {
  text: string;
}

/** A Summarize result. */
export interface SummarizeOutput {
  summary: string;
  /** The bullets, for the bullet style. */
  bullets: string[];
  /** How many chunks the input was split into (1 when it fit in one call). */
  chunks: number;
  usage: VerbUsage;
}

/** Dependencies and settings of the Summarize verb. */
export interface SummarizeDeps {
  pipeline: ModelPipeline;
  /** Chunk summaries in flight at once (default 4). */
  concurrency?: number;
  /** Context window assumed when the context does not say (default 8192 tokens). */
  defaultContextTokens?: number;
  /** Combine rounds before giving up on an input (default 6). */
  maxCombineRounds?: number;
}

/** The Summarize verb. */
export type SummarizeVerb = (input: SummarizeInput, ctx: VerbContext) => Promise<SummarizeOutput>;

/** Smallest chunk worth a model call; below it the context is too small for the prompt. */
const MIN_CHUNK_TOKENS = 64;

/**
 * Creates Summarize. An input that fits the route's context window (with the prompt and the
 * output reserve) is summarized in one call. A longer one is summarized map-reduce: split on
 * paragraph, line, sentence or word boundaries into chunks that fit, each chunk summarized on
 * its own (at most `concurrency` at once), the partial summaries combined in a final call, and
 * regrouped and combined again first while they are still too long for one call. Every call
 * goes through the pipeline with `maxOutputTokens` set to the reserve it was sized with.
 */
export function createSummarizeVerb(deps: SummarizeDeps): SummarizeVerb {
  const concurrency = deps.concurrency ?? 4;
  const maxRounds = deps.maxCombineRounds ?? 6;
  return async (input, ctx) => {
    if (input.text.trim() === "") throw fieldViolation("text", "nothing to summarize", "summarize.text.not_blank");
    const template = templateFor(ctx, "summarize");
    checkTemplate(template, VERB_VARIABLES.summarize.required);
    const contextTokens = ctx.capabilities.contextTokens ?? deps.defaultContextTokens ?? 8192;
    const callerMax = ctx.generation?.maxOutputTokens ?? Infinity;
    const finalOut = Math.min(finalOutputTokens(input), callerMax, Math.floor(contextTokens / 2));
    const partOut = Math.min(partOutputTokens(contextTokens), callerMax);
    const words = partWords(partOut);
    const meter = createUsageMeter();
    const extra = specVariables(input);

    const render = (text: string, requirements: string) => renderVerbPrompt(template, { ...extra, text, requirements }, ["text"]);
    const promptTokens = (text: string, requirements: string): number => estimateMessagesTokens(render(text, requirements).messages);
    /** Characters of text a call can take beside this prompt and output reserve. */
    const roomChars = (requirements: string, outputTokens: number): number => {
      const room = contextTokens - promptTokens("", requirements) - outputTokens;
      if (room < MIN_CHUNK_TOKENS) {
        throw failedPrecondition(`the route's context window (${contextTokens} tokens) is too small for the summarize prompt of template "${template.name}"`);
      }
      return room * CHARS_PER_TOKEN;
    };
    /** What the caller is given of a reply, which must hold a word: a partial summary as written, the final one in the response's shape. */
    const asPartial = (reply: string): string => reply.trim();
    const asFinal = (reply: string): string => shapeSummary(reply, input).summary;
    const summarize = async (text: string, requirements: string, outputTokens: number, clean: (reply: string) => string = asPartial): Promise<string> => {
      const prompt = render(text, requirements);
      const result = await meter.chat(
        deps.pipeline.chat({
          // A reply that is no summary fails the RPC; it is not stored, so a repeat asks the model again.
          meta: { ...callMetaFor(ctx, "summarize", template, prompt.userContentMessages), acceptsAnswer: (r) => hasWords(clean(r.text)) },
          request: verbRequest(ctx, prompt.messages, { maxOutputTokens: outputTokens }),
        }),
      );
      return summaryText(result.response, clean);
    };
    // When one chunk call fails, the calls already in flight are waited for, not cancelled
    // (`mapWithConcurrency`): each is billed whether it finishes or not (a cancelled attempt at an
    // estimate of its input), and the failure reports every call billed — only once they have
    // settled are their attempts and cost known, so what the error reports is what the ledger
    // holds. The wait is bounded: each call has the RPC's deadline and is cancelled with it, or
    // when the caller goes away, and at most `concurrency - 1` calls are left in flight.
    const summarizeAll = (texts: string[], requirements: (i: number) => string): Promise<string[]> =>
      mapWithConcurrency(texts, concurrency, (t, i) => summarize(t, requirements(i), partOut));

    const combine = async (partials: string[], round: number): Promise<string> => {
      const joined = partials.join("\n\n");
      const requirements = combineRequirements(input, partials.length);
      if (promptTokens(joined, requirements) + finalOut <= contextTokens) return summarize(joined, requirements, finalOut, asFinal);
      const regroup = regroupRequirements(input, words);
      const groups = nonBlank(splitIntoChunks(joined, roomChars(regroup, partOut)));
      if (round >= maxRounds || groups.length >= partials.length) {
        throw failedPrecondition(`the input is too long to summarize within the route's context window (${contextTokens} tokens)`);
      }
      return combine(await summarizeAll(groups, () => regroup), round + 1);
    };

    let reply: string;
    let chunks = 1;
    const single = finalRequirements(input);
    // A failure after calls were sent (a chunk's, a combine's, or too long still) reports every call billed.
    try {
      if (promptTokens(input.text, single) + finalOut <= contextTokens) {
        reply = await summarize(input.text, single, finalOut, asFinal);
      } else {
        // Size chunks for the longest part label the prompt could carry.
        const pieces = nonBlank(splitIntoChunks(input.text, roomChars(partRequirements(input, 99_999, 99_999, words), partOut)));
        chunks = pieces.length;
        const partials = await summarizeAll(pieces, (i) => partRequirements(input, i + 1, pieces.length, words));
        reply = await combine(partials, 1);
      }
    } catch (err) {
      throw meter.failure(err, ctx.route);
    }
    return { ...shapeSummary(reply, input), chunks, usage: meter.total(template) };
  };
}

/**
 * The text of one summarize call. A reply the provider's content filter stopped, or one that
 * `clean`s to no words (blank, or markup alone such as a headline's lone `#`), is no summary:
 * answered as FAILED_PRECONDITION (as the other verbs answer output they cannot use), not as
 * `summary: ""` with OK, which a caller cannot tell from a real one and an idempotency key would
 * replay for its lifetime. The call is billed either way.
 */
function summaryText(response: ModelResponse, clean: (reply: string) => string): string {
  if (response.finishReason === "content_filter") throw failedPrecondition("the provider's content filter stopped the summary");
  const cleaned = clean(response.text);
  if (cleaned.trim() === "") throw failedPrecondition("the model returned an empty summary");
  if (!hasWords(cleaned)) throw failedPrecondition("the model's summary has no words, only markup");
  return response.text.trim();
}

function nonBlank(chunks: string[]): string[] {
  return chunks.map((c) => c.trim()).filter((c) => c !== "");
}
