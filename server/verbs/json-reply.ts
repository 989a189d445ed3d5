import type { JsonValue } from "../providers/model.js";

/** A model's reply read as JSON: the value and the exact JSON text it was parsed from. */
export type JsonReply = { ok: true; value: JsonValue; json: string } | { ok: false; error: string };

const FENCE = /```[a-zA-Z0-9_-]*[ \t]*\r?\n?([\s\S]*?)```/;

/**
 * The first balanced `{...}` or `[...]` in `text`, skipping brackets inside JSON strings; for
 * replies that wrap the JSON in prose ("Here is the result: {...}").
 */
function balancedJson(text: string): string | undefined {
  const start = text.search(/[{[]/);
  if (start < 0) return undefined;
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{") stack.push("}");
    else if (c === "[") stack.push("]");
    else if (c === "}" || c === "]") {
      if (stack.pop() !== c) return undefined;
      if (stack.length === 0) return text.slice(start, i + 1);
    }
  }
  return undefined;
}

/**
 * Reads a model's reply as JSON, robustly: the whole reply, else the content of its first code
 * fence, else the first balanced object or array in it. The JSON text is kept as the model wrote
 * it (Extract returns it so integers stay exact).
 */
export function parseJsonReply(text: string): JsonReply {
  const trimmed = text.trim();
  const candidates = [trimmed, FENCE.exec(trimmed)?.[1]?.trim(), balancedJson(trimmed)];
  let firstError: string | undefined;
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === "") continue;
    try {
      return { ok: true, value: JSON.parse(candidate) as JsonValue, json: candidate };
    } catch (err) {
      firstError ??= err instanceof Error ? err.message : String(err);
    }
  }
  return { ok: false, error: trimmed === "" ? "the reply was empty" : `the reply is not valid JSON (${firstError ?? "no JSON found"})` };
}

/** Whether a JSON value is an object (not an array, not null). */
export function isJsonObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
