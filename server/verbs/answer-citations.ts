import type { JsonObject, JsonValue } from "../providers/model.js";
import { isJsonObject } from "./json-reply.js";
import { codePointOffset, createQuoteLocator, type QuoteSpan } from "./quote-locator.js";

/** A document Answer may cite. */
export interface AnswerSource {
  /** Caller's id, quoted in citations; unique within a request. */
  id: string;
  title?: string;
  text: string;
  url?: string;
}

/** A citation whose quote was found in its source. */
export interface VerifiedCitation {
  sourceId: string;
  /** The quoted span exactly as it appears in the source. */
  quote: string;
  /** Offset of the span in the source text, in Unicode code points. */
  start: number;
  /** Offset just past the span, in Unicode code points. */
  end: number;
}

/** Why a citation was dropped. */
export type DropReason = "unknown_source" | "quote_not_found" | "empty_quote";

/** A citation the model made that the sources do not support. */
export interface DroppedCitation {
  sourceId: string;
  /** The quote as the model wrote it. */
  quote: string;
  reason: DropReason;
}

/** The model's answer, read from its JSON. */
export interface ModelAnswer {
  answer: string;
  answerable: boolean;
  citations: { sourceId: string; quote: string }[];
}

/** The JSON Schema of an answer (strict-mode compatible). */
export function answerSchema(): JsonObject {
  return {
    type: "object",
    properties: {
      answer: { type: "string" },
      answerable: { type: "boolean", description: "False when the sources do not contain the answer." },
      citations: {
        type: "array",
        items: {
          type: "object",
          properties: {
            source_id: { type: "string", description: "The id of the cited source." },
            quote: { type: "string", description: "An exact, contiguous span copied from that source's text." },
          },
          required: ["source_id", "quote"],
          additionalProperties: false,
        },
      },
    },
    required: ["answer", "answerable", "citations"],
    additionalProperties: false,
  };
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
}

/**
 * Reads `{"answer", "answerable", "citations": [{"source_id", "quote"}]}` leniently (camelCase
 * keys, `"true"`/`"false"` strings, citations without a list); `undefined` when there is no
 * answer text to read.
 */
export function readModelAnswer(value: JsonValue): ModelAnswer | undefined {
  if (!isJsonObject(value)) return undefined;
  const answer = str(value["answer"]);
  if (answer === undefined) return undefined;
  const flag = value["answerable"];
  const answerable = typeof flag === "boolean" ? flag : typeof flag === "string" ? flag.trim().toLowerCase() !== "false" : answer.trim() !== "";
  const raw = value["citations"];
  const list = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
  const citations = list.flatMap((c) => {
    if (!isJsonObject(c)) return [];
    const sourceId = str(c["source_id"] ?? c["sourceId"] ?? c["source"] ?? c["id"]);
    const quote = str(c["quote"] ?? c["text"]);
    return sourceId === undefined || quote === undefined ? [] : [{ sourceId, quote }];
  });
  return { answer, answerable, citations };
}

/**
 * Checks every citation against its source: the quote must occur in the cited source's text
 * (see `locateQuote`); found ones get offsets and the verbatim source span, the rest are dropped
 * with the reason. Duplicate verified spans are kept once.
 */
export function verifyCitations(
  cited: readonly { sourceId: string; quote: string }[],
  sources: readonly AnswerSource[],
): { citations: VerifiedCitation[]; dropped: DroppedCitation[] } {
  const byId = new Map(sources.map((s) => [s.id, s]));
  const locators = new Map<string, (quote: string) => QuoteSpan | undefined>();
  const citations: VerifiedCitation[] = [];
  const dropped: DroppedCitation[] = [];
  const seen = new Set<string>();
  for (const c of cited) {
    const source = byId.get(c.sourceId);
    if (source === undefined) {
      dropped.push({ ...c, reason: "unknown_source" });
      continue;
    }
    if (c.quote.trim() === "") {
      dropped.push({ ...c, reason: "empty_quote" });
      continue;
    }
    let locate = locators.get(source.id);
    if (locate === undefined) locators.set(source.id, (locate = createQuoteLocator(source.text)));
    const span = locate(c.quote);
    if (span === undefined) {
      dropped.push({ ...c, reason: "quote_not_found" });
      continue;
    }
    const key = `${c.sourceId}\u0000${span.start}\u0000${span.end}`;
    if (seen.has(key)) continue;
    seen.add(key);
    citations.push({
      sourceId: c.sourceId,
      quote: source.text.slice(span.start, span.end),
      start: codePointOffset(source.text, span.start),
      end: codePointOffset(source.text, span.end),
    });
  }
  return { citations, dropped };
}
