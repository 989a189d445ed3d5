import { Code, ConnectError } from "@connectrpc/connect";
import { estimateInputTokens } from "../limits/call-estimate.js";
import type { EmbedRequest, ModelRequest } from "../providers/model.js";
import type { Candidate } from "./capabilities.js";

/**
 * The candidates whose context window can hold the request's prompt (RELIABILITY P23: a prompt
 * over the window is rejected before the upstream call, not sent to be refused and billed). The
 * prompt is estimated without a tokenizer (`estimateInputTokens`, characters / 4), and only the
 * prompt is compared, not prompt + max output, so a borderline prompt still reaches the provider,
 * which decides. Targets without a declared window always fit, and embeddings are not checked
 * (each input has the window to itself, and an embedding model's is not the chat model's). Throws `InvalidArgument` naming
 * the estimate and the largest window when no candidate is left.
 */
export function targetsThatFit(candidates: readonly Candidate[], request: ModelRequest | EmbedRequest, route: string): readonly Candidate[] {
  if ("inputs" in request || candidates.every((c) => c.target.contextWindowTokens === undefined)) return candidates;
  const prompt = estimateInputTokens(request);
  const fit = candidates.filter((c) => c.target.contextWindowTokens === undefined || prompt <= c.target.contextWindowTokens);
  if (fit.length > 0) return fit;
  const largest = Math.max(...candidates.map((c) => c.target.contextWindowTokens ?? 0));
  throw new ConnectError(
    `the prompt (about ${prompt} tokens) is longer than the context window of every target of route "${route}" (largest ${largest} tokens); shorten it`,
    Code.InvalidArgument,
  );
}
