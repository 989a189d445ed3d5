import { laterTurn } from "../runtime/after-this-turn.testing.js";
import type { ModelChunk } from "../providers/model.js";
import type { ModelPipeline } from "./model-call.js";

/** `p` settled as it was, one turn later. */
const onALaterTurn = <T>(p: Promise<T>): Promise<T> =>
  p.then(
    async (value) => {
      await laterTurn();
      return value;
    },
    async (err: unknown) => {
      await laterTurn();
      throw err;
    },
  );

async function* endingOnALaterTurn(chunks: AsyncIterable<ModelChunk>): AsyncIterable<ModelChunk> {
  try {
    yield* chunks;
  } finally {
    await laterTurn();
  }
}

/**
 * `pipeline` as its caller sees it through a front door: an answer or a failure, and a stream's
 * end, arrive on a later turn of the event loop than the one they were made on — so the work the
 * stages owe after an answer (`afterThisTurn`: the budget's settle, the cache's store, the
 * observation) has started, as it has by the time a caller's next request is read.
 */
export function behindAFrontDoor(pipeline: ModelPipeline): ModelPipeline {
  return {
    chat: (call) => onALaterTurn(pipeline.chat(call)),
    embed: (call) => onALaterTurn(pipeline.embed(call)),
    chatStream(call) {
      const stream = pipeline.chatStream(call);
      return { chunks: endingOnALaterTurn(stream.chunks), result: () => onALaterTurn(stream.result()) };
    },
  };
}
