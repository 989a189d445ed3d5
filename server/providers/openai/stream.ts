/**
 * Turns an OpenAI Chat Completions SSE body (`data: {chunk}` … `data: [DONE]`) into neutral
 * `ModelChunk`s, following the ordering contract in `model.ts`.
 */
import type { HttpResponse } from "../http/http-client.js";
import { parseSse, SseEventTooLargeError } from "../http/sse-parser.js";
import type { ModelChunk, ModelFinishReason, ModelRequest, TokenUsage } from "../model.js";
import { ProviderError, withUsage } from "../provider-error.js";
import { classifyStreamError, streamBroken } from "./errors.js";
import { estimateUsage, fromWireFinishReason, fromWireUsage, type WireChatChunk } from "./wire.js";

/**
 * Reads the stream. Content is yielded as it arrives; `finish` and `usage` are held back until
 * `data: [DONE]`, so a stream that breaks after its last chunk throws without having looked
 * finished. A stream without `[DONE]` throws `stream_error` (a connection dropped mid-stream
 * included); so does a malformed event. An
 * in-stream `{"error": …}` throws its classified kind. Without a usage chunk the usage is the
 * estimate of {@link estimateUsage}.
 */
export async function* readChatStream(providerKind: string, res: HttpResponse, req: ModelRequest, requestId: string | undefined): AsyncGenerator<ModelChunk> {
  let done = false;
  let started = false;
  let finish: ModelFinishReason | undefined;
  let usage: TokenUsage | undefined;
  let outputChars = 0;
  /** Per tool-call index: whether its id / name went out already. */
  const sentId = new Set<number>();
  const sentName = new Set<number>();

  try {
    for await (const ev of parseSse(res.body)) {
      // Events after [DONE] are ignored; the body is still drained so the connection is reused.
      if (done) continue;
      if (ev.data.trim() === "[DONE]") {
        done = true;
        continue;
      }
      let chunk: WireChatChunk;
      try {
        chunk = JSON.parse(ev.data) as WireChatChunk;
      } catch (err) {
        throw streamBroken(providerKind, "malformed event", err);
      }
      if (typeof chunk !== "object" || chunk === null || Array.isArray(chunk)) throw streamBroken(providerKind, "malformed event");
      if (chunk.error) throw classifyStreamError(providerKind, chunk.error);

      // Azure opens with a prompt-filter chunk whose model and id are empty: wait for the real one.
      if (!started && typeof chunk.model === "string" && chunk.model !== "") {
        started = true;
        const id = requestId ?? (chunk.id || undefined);
        yield { type: "start", model: chunk.model, ...(id === undefined ? {} : { providerRequestId: id }) };
      }
      if (chunk.usage) usage = fromWireUsage(chunk.usage);

      const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
      if (!choice) continue;
      const delta = choice.delta ?? {};
      for (const text of [delta.content, delta.refusal]) {
        if (typeof text === "string" && text !== "") {
          outputChars += text.length;
          yield { type: "text", text };
        }
      }
      for (const [position, call] of (delta.tool_calls ?? []).entries()) {
        const index = typeof call.index === "number" ? call.index : position;
        const argumentsDelta = call.function?.arguments ?? "";
        const id = typeof call.id === "string" && call.id !== "" && !sentId.has(index) ? call.id : undefined;
        const name = typeof call.function?.name === "string" && call.function.name !== "" && !sentName.has(index) ? call.function.name : undefined;
        if (id !== undefined) sentId.add(index);
        if (name !== undefined) sentName.add(index);
        if (id === undefined && name === undefined && argumentsDelta === "") continue;
        outputChars += argumentsDelta.length + (name?.length ?? 0);
        yield { type: "tool_call", index, ...(id === undefined ? {} : { id }), ...(name === undefined ? {} : { name }), argumentsDelta };
      }
      if (choice.finish_reason === "error") throw streamBroken(providerKind, "finished with an error");
      if (choice.finish_reason) finish = fromWireFinishReason(choice.finish_reason);
    }
  } catch (err) {
    // A connection dropped after the stream began is a cut stream; timeouts and cancels keep their kind.
    const failure =
      err instanceof ProviderError
        ? err.kind === "connection"
          ? streamBroken(providerKind, "connection dropped mid-stream", err)
          : err
        : streamBroken(providerKind, err instanceof SseEventTooLargeError ? "event too large" : "unreadable stream", err);
    throw withUsage(failure, usage);
  }
  if (!done) throw withUsage(streamBroken(providerKind, "ended without [DONE]"), usage);
  yield { type: "finish", reason: finish ?? "unknown" };
  yield { type: "usage", usage: usage ?? estimateUsage(req, outputChars) };
}

