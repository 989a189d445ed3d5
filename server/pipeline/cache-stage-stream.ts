import type { CacheStatusName, ModelChunk, ModelResponse, ModelToolCall } from "../providers/model.js";
import { isHighSurrogate } from "../surrogates.js";

/** Characters of cached text per replayed chunk (cut at a space when one is near). */
const REPLAY_CHUNK_CHARS = 48;

/**
 * A cached answer as a stream that keeps the ModelChunk contract: `start`, the text in small
 * pieces, each tool call whole, then one `finish` and one `usage` — so a streaming caller cannot
 * tell a replay from a provider's stream except by `cache_status`.
 */
export function* replayChunks(response: ModelResponse, start: { model: string; provider: string; cacheStatus: CacheStatusName }): Generator<ModelChunk> {
  yield { type: "start", ...start };
  let rest = response.text;
  while (rest.length > 0) {
    let cut = Math.min(rest.length, REPLAY_CHUNK_CHARS);
    if (cut < rest.length) {
      const space = rest.lastIndexOf(" ", cut);
      if (space > REPLAY_CHUNK_CHARS / 2) cut = space + 1;
      // Never between the two halves of a surrogate pair: a lone half is not UTF-8 and arrives as U+FFFD.
      else if (isHighSurrogate(rest.charCodeAt(cut - 1))) cut -= 1;
    }
    yield { type: "text", text: rest.slice(0, cut) };
    rest = rest.slice(cut);
  }
  for (const [index, call] of response.toolCalls.entries()) {
    yield { type: "tool_call", index, id: call.id, name: call.name, argumentsDelta: call.argumentsJson };
  }
  yield { type: "finish", reason: response.finishReason };
  yield { type: "usage", usage: response.usage };
}

/** Collects a stream's chunks into the answer they spell, for storing a completed stream. */
export interface StreamAssembler {
  add(chunk: ModelChunk): void;
  /** The answer, or undefined when the stream did not finish (no `finish` or no `usage`). */
  response(): ModelResponse | undefined;
}

/** Creates a {@link StreamAssembler}. */
export function createStreamAssembler(): StreamAssembler {
  let text = "";
  let model = "";
  let finish: ModelResponse["finishReason"] | undefined;
  let usage: ModelResponse["usage"] | undefined;
  const calls = new Map<number, ModelToolCall>();
  return {
    add(chunk) {
      switch (chunk.type) {
        case "start":
          model = chunk.model;
          break;
        case "text":
          text += chunk.text;
          break;
        case "tool_call": {
          const call = calls.get(chunk.index) ?? { id: "", name: "", argumentsJson: "" };
          if (chunk.id !== undefined) call.id = chunk.id;
          if (chunk.name !== undefined) call.name = chunk.name;
          call.argumentsJson += chunk.argumentsDelta;
          calls.set(chunk.index, call);
          break;
        }
        case "finish":
          finish = chunk.reason;
          break;
        case "usage":
          usage = chunk.usage;
          break;
      }
    },
    response() {
      if (finish === undefined || usage === undefined) return undefined;
      const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
      return { text, toolCalls, finishReason: finish, usage, model };
    },
  };
}
