import { emptyUsage, type EmbedRequest, type ModelRequest, type TokenUsage } from "../providers/model.js";
import { estimatedUsage, estimateUsage, usageSoFar } from "../providers/usage-estimate.js";
import { ProviderError } from "../providers/provider-error.js";

/** What an estimator sees of a failed attempt. */
export interface UsageEstimateInput {
  request: ModelRequest | EmbedRequest;
  /** Text (and tool-call arguments) the attempt produced before it failed. */
  outputText: string;
}

/** Estimates the tokens of an attempt the provider reported no usage for; `estimated` is true. */
export type UsageEstimator = (input: UsageEstimateInput) => TokenUsage;

/**
 * A tokenizer-free estimate (about four characters a token, the providers' own rule in
 * `providers/usage-estimate.ts`) for attempts that may have been billed without a usage report:
 * timeouts, cancels, cut streams, hedge losers. A real tokenizer can be injected in its place.
 */
export const estimateUsageByLength: UsageEstimator = ({ request, outputText }) =>
  "inputs" in request
    ? estimatedUsage(request.inputs.reduce((n, s) => n + s.length, 0), outputText.length)
    : estimateUsage(request, outputText.length);

/**
 * The usage recorded for a failed attempt: what the adapter attached, else what the provider had
 * reported of a stream dispatch cut itself (`reported`, with the output that arrived: `usageSoFar`),
 * else zero when the provider answered with an error status before generating (it bills nothing
 * for a 429 or a 400), otherwise the estimate.
 */
export function failedAttemptUsage(err: unknown, input: UsageEstimateInput, estimate: UsageEstimator, reported?: TokenUsage): TokenUsage {
  // The adapter saw the wire: what it says a broken stream consumed beats a guess from here.
  if (err instanceof ProviderError && err.usage !== undefined) return err.usage;
  // P3: the provider's own count of the prompt (cache reads and writes priced as such), not characters / 4.
  if (reported !== undefined) return usageSoFar(reported, input.outputText.length);
  if (err instanceof ProviderError && err.httpStatus !== undefined && err.httpStatus >= 400 && input.outputText === "") {
    return emptyUsage(false);
  }
  return estimate(input);
}
