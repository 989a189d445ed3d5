import type { EmbedResponse, ModelFinishReason, ModelResponse } from "../providers/model.js";
import { utf8Bytes } from "../runtime/utf8-encoding.js";

/** What one cached answer holds: the answer and who produced it, for reporting. */
export type CacheEntry =
  | ({ kind: "chat"; response: ModelResponse } & EntryMeta)
  | ({ kind: "embed"; response: EmbedResponse } & EntryMeta);

interface EntryMeta {
  /** Epoch ms when it was stored (a request's max-age compares against it). */
  storedAt: number;
  /** Provider kind and model that answered (the model as the provider named it: what a hit reports). */
  provider: string;
  model: string;
  /**
   * The route target's model that answered, as the route spells it (`gpt-4o-mini` where the
   * provider named `gpt-4o-mini-2024-07-18`): what a key's `allowed_models` is compared with.
   * Absent in entries stored before it was kept: `model` stands in.
   */
  target?: string;
  /** What the answer cost when it was made (micro-USD): what each hit saves. */
  costMicrosUsd: bigint;
}

/**
 * Finish reasons of an answer that is complete and may be stored. `length` (cut by the token
 * limit), `content_filter` and `unknown` are not: P17 stores only normal finishes.
 */
export const STORABLE_FINISHES: ReadonlySet<ModelFinishReason> = new Set(["stop", "tool_calls"]);

const FORMAT = 1;
/** One per process: it keeps no state between calls. */
const decoder = new TextDecoder();

/** The entry as bytes for the StateBackend (versioned JSON; bigints as decimal strings). */
export function encodeEntry(entry: CacheEntry): Uint8Array {
  const { providerRequestId: _drop, ...response } = entry.response as ModelResponse;
  return utf8Bytes(
    JSON.stringify({ f: FORMAT, ...entry, response: entry.kind === "chat" ? response : entry.response, costMicrosUsd: entry.costMicrosUsd.toString() }),
  );
}

/**
 * The entry stored as `bytes`, or `undefined` when they are not an entry of this format (an
 * older layout, a foreign value): such a value is a miss, never an error.
 */
export function decodeEntry(bytes: Uint8Array): CacheEntry | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (r.f !== FORMAT || (r.kind !== "chat" && r.kind !== "embed") || typeof r.storedAt !== "number") return undefined;
  if (typeof r.provider !== "string" || typeof r.model !== "string" || typeof r.costMicrosUsd !== "string") return undefined;
  if (typeof r.response !== "object" || r.response === null) return undefined;
  let cost: bigint;
  try {
    cost = BigInt(r.costMicrosUsd);
  } catch {
    return undefined;
  }
  // One object per hit: no shared `meta` spread into it, no conditional spread for `target`.
  const entry: CacheEntry =
    r.kind === "chat"
      ? { kind: "chat", response: r.response as ModelResponse, storedAt: r.storedAt, provider: r.provider, model: r.model, costMicrosUsd: cost }
      : { kind: "embed", response: r.response as EmbedResponse, storedAt: r.storedAt, provider: r.provider, model: r.model, costMicrosUsd: cost };
  if (typeof r.target === "string") entry.target = r.target;
  return entry;
}
