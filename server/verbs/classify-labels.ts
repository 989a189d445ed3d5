import type { JsonObject, JsonValue } from "../providers/model.js";
import { isJsonObject } from "./json-reply.js";

/** A class Classify may assign. */
export interface ClassifyLabel {
  name: string;
  /** What the label means, for the model. */
  description?: string;
}

/** An assigned label with the model's confidence in [0, 1]. */
export interface LabelScore {
  name: string;
  score: number;
}

/**
 * The JSON Schema of a classification over `names`: `{"labels": [{"name", "score"}]}` with the
 * names as an `enum`, strict-mode compatible (every property required, no extras), so targets
 * with native structured output cannot produce a label outside the set.
 */
export function classificationSchema(names: readonly string[]): JsonObject {
  return {
    type: "object",
    properties: {
      labels: {
        type: "array",
        items: {
          type: "object",
          properties: {
            name: { type: "string", enum: [...names] },
            score: { type: "number", description: "Confidence from 0 to 1 that the label applies." },
          },
          required: ["name", "score"],
          additionalProperties: false,
        },
      },
    },
    required: ["labels"],
    additionalProperties: false,
  };
}

/** Resolves a name the model wrote to a label of the set: exactly, else trimmed and case-blind if unambiguous. */
function resolveName(raw: string, names: readonly string[]): string | undefined {
  if (names.includes(raw)) return raw;
  const folded = raw.trim().toLowerCase();
  const hits = names.filter((n) => n.trim().toLowerCase() === folded);
  return hits.length === 1 ? hits[0] : undefined;
}

function readScore(v: JsonValue | undefined): number {
  const n = typeof v === "number" ? v : typeof v === "string" ? Number.parseFloat(v) : Number.NaN;
  // A label listed without a usable score was still chosen: full confidence.
  if (!Number.isFinite(n)) return 1;
  return Math.min(1, Math.max(0, n));
}

function readItem(item: JsonValue): { name: string; score: number } | undefined {
  if (typeof item === "string") return { name: item, score: 1 };
  if (!isJsonObject(item)) return undefined;
  const name = item["name"] ?? item["label"];
  if (typeof name !== "string") return undefined;
  return { name, score: readScore(item["score"] ?? item["confidence"] ?? item["probability"]) };
}

/** The raw (name, score) pairs of the shapes models produce for a classification. */
function readItems(value: JsonValue): { name: string; score: number }[] {
  if (Array.isArray(value)) return value.flatMap((v) => readItem(v) ?? []);
  if (!isJsonObject(value)) return typeof value === "string" ? [{ name: value, score: 1 }] : [];
  const labels = value["labels"] ?? value["label"];
  if (labels === undefined) {
    const one = readItem(value);
    return one === undefined ? [] : [one];
  }
  if (Array.isArray(labels) || typeof labels === "string") return readItems(labels);
  if (isJsonObject(labels)) {
    const one = readItem(labels);
    if (one !== undefined) return [one];
    // {"labels": {"billing": 0.9, "bug": 0.2}}
    return Object.entries(labels).map(([name, score]) => ({ name, score: readScore(score) }));
  }
  return [];
}

/**
 * The labels of the set that a model's answer assigns, read robustly from the usual shapes
 * (`{"labels": [{"name","score"}]}`, a bare array, one object, a name → score map, plain
 * names). Names outside the set are dropped; scores are clamped to [0, 1]; a label named twice
 * keeps its highest score. Sorted by score, highest first (ties in the set's order).
 */
export function readLabelScores(value: JsonValue, names: readonly string[]): LabelScore[] {
  const best = new Map<string, number>();
  for (const { name, score } of readItems(value)) {
    const label = resolveName(name, names);
    if (label === undefined) continue;
    best.set(label, Math.max(score, best.get(label) ?? 0));
  }
  return names.filter((n) => best.has(n)).map((name) => ({ name, score: best.get(name) ?? 0 })).sort((a, b) => b.score - a.score);
}

/** A plain-text reply that is just one label name (a model that ignored the JSON format). */
export function readPlainLabel(reply: string, names: readonly string[]): LabelScore[] {
  const bare = reply.trim().replace(/^["'`“‘]+|["'`”’.]+$/g, "");
  const name = resolveName(bare, names);
  return name === undefined ? [] : [{ name, score: 1 }];
}
