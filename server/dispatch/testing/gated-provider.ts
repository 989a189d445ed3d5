import { emptyUsage, type ModelChunk, type ModelRequest, type ModelResponse, type TokenUsage } from "../../providers/model.js";
import type { CallContext, Provider, ProviderCapabilities } from "../../providers/provider.js";
import { ProviderError } from "../../providers/provider-error.js";

/** One call to a {@link GatedProvider}, pending until the test settles it. */
export interface GatedCall {
  readonly model: string;
  readonly signal: AbortSignal;
  /** Whether the call has answered, failed or been aborted. */
  readonly settled: boolean;
  /** Answers at once (synchronously fulfils the call's promise) with `text` and the provider's `usage`. */
  answer(text: string, usage: Partial<TokenUsage>): void;
  /** Fails at once with `error`. */
  fail(error: ProviderError): void;
}

/**
 * A provider double whose unary calls answer only when the test says so, so that two hedged
 * attempts can be made to finish in the very same tick (a photo finish) or an answer can land in
 * the same tick as an abort. Like a real adapter it honours its signal: an abort rejects a
 * pending call with `cancelled`; an answer already given stays given.
 */
export interface GatedProvider extends Provider {
  readonly calls: GatedCall[];
  /** Resolves with the `n`-th call (1-based) once it has started. */
  started(n: number): Promise<GatedCall>;
}

const CAPABILITIES: ProviderCapabilities = {
  streaming: false,
  tools: true,
  parallelToolCalls: true,
  jsonSchema: true,
  jsonObject: true,
  embeddings: false,
  vision: true,
};

/** Creates a gated provider double of the given kind. */
export function createGatedProvider(kind: string): GatedProvider {
  const calls: GatedCall[] = [];
  const waiting = new Map<number, (call: GatedCall) => void>();

  const chat = (req: ModelRequest, ctx: CallContext): Promise<ModelResponse> =>
    new Promise<ModelResponse>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        ctx.signal.removeEventListener("abort", onAbort);
        fn();
      };
      const onAbort = (): void => settle(() => reject(new ProviderError("cancelled", "gated call aborted")));
      const call: GatedCall = {
        model: req.model,
        signal: ctx.signal,
        get settled() {
          return settled;
        },
        answer: (text, usage) =>
          settle(() => resolve({ text, toolCalls: [], finishReason: "stop", usage: { ...emptyUsage(), ...usage, estimated: false }, model: req.model })),
        fail: (error) => settle(() => reject(error)),
      };
      calls.push(call);
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener("abort", onAbort, { once: true });
      waiting.get(calls.length)?.(call);
      waiting.delete(calls.length);
    });

  return {
    kind,
    capabilities: CAPABILITIES,
    calls,
    chat,
    async *chatStream(): AsyncGenerator<ModelChunk> {
      throw new ProviderError("not_found", "the gated double serves unary calls only");
    },
    started(n) {
      const call = calls[n - 1];
      if (call) return Promise.resolve(call);
      return new Promise<GatedCall>((resolve) => waiting.set(n, resolve));
    },
  };
}
