import { expect } from "vitest";
import type { ModelChunk } from "./model.js";
import { ProviderError } from "./provider-error.js";

/** Every chunk of a model stream, in order. */
export async function collect(stream: AsyncIterable<ModelChunk>): Promise<ModelChunk[]> {
  const out: ModelChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

/** The ProviderError a call failed with; fails the test when it succeeded or threw anything else. */
export async function providerFailure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

/**
 * Reads `stream`, aborting `controller` at each text chunk: `read` settles as the stream ends
 * (rejected by the abort), and `abortedAt` is when the last abort was asked for (ms epoch).
 */
export function abortAtText(stream: AsyncIterable<ModelChunk>, controller: AbortController): { read: Promise<void>; abortedAt: number } {
  const cut = { read: Promise.resolve(), abortedAt: 0 };
  cut.read = (async () => {
    for await (const c of stream) {
      if (c.type === "text") {
        cut.abortedAt = Date.now();
        controller.abort();
      }
    }
  })();
  return cut;
}
