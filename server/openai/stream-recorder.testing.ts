import { EventEmitter } from "node:events";
import type { ModelStream } from "../pipeline/model-call.js";
import type { ModelChunk } from "../providers/model.js";
import type { HttpResponse } from "./http-io.js";

/** Test doubles of the SSE writers' two ends (`chat-stream.ts`, `messages/messages-stream.ts`). */

/** A response that records what was written; `gone` makes it behave like a closed socket. */
export function recorder(opts: { goneAfterWrites?: number } = {}) {
  const events = new EventEmitter();
  const out = { status: 0, headers: {} as Record<string, unknown>, body: "", trailers: {} as Record<string, unknown>, ended: false, writes: 0, destroyed: false };
  const res: HttpResponse = {
    writeHead(status, headers) {
      out.status = status;
      out.headers = { ...headers };
    },
    write(chunk) {
      out.writes++;
      if (opts.goneAfterWrites !== undefined && out.writes > opts.goneAfterWrites) {
        out.destroyed = true;
        queueMicrotask(() => events.emit("close"));
        return false;
      }
      out.body += String(chunk);
      return true;
    },
    end(chunk?: string) {
      if (chunk !== undefined) out.body += chunk;
      out.ended = true;
    },
    addTrailers(h) {
      out.trailers = { ...h };
    },
    destroy() {
      out.destroyed = true;
    },
    get headersSent() {
      return out.status !== 0;
    },
    get destroyed() {
      return out.destroyed;
    },
    get writableEnded() {
      return out.ended;
    },
    get writableFinished() {
      return out.ended;
    },
    get statusCode() {
      return out.status;
    },
    on: (e, l) => events.on(e, l),
    once: (e, l) => events.once(e, l),
    off: (e, l) => events.off(e, l),
  };
  return { res, out };
}

/** A model stream yielding `chunks`, then throwing `failure` if given; records whether it was cancelled. */
export function modelStream(chunks: ModelChunk[], failure?: unknown) {
  const state = { cancelled: false };
  const stream: ModelStream = {
    chunks: {
      [Symbol.asyncIterator]() {
        let i = 0;
        return {
          async next() {
            if (i < chunks.length) return { done: false, value: chunks[i++]! };
            if (failure !== undefined) throw failure;
            return { done: true, value: undefined };
          },
          async return() {
            state.cancelled = true;
            return { done: true, value: undefined };
          },
        };
      },
    },
    result: async () => ({ provider: "openai", model: "m", attempts: [], costMicrosUsd: 42n, cacheStatus: "miss" }),
  };
  return { stream, state };
}
