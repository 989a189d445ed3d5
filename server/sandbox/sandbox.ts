/**
 * The built-in sandbox provider: a deterministic simulator of OpenAI's Chat Completions and
 * Embeddings wire format, served in-process on a loopback port of its own (never the gateway's),
 * so a newcomer can try keys, budgets, caching, guardrails and fallback without a provider
 * account. It runs on the same scripted server as the test fakes.
 *
 * What it simulates: seeded templated answers that quote the prompt (same prompt, same answer),
 * SSE streams with `include_usage`, tool calls with schema-conforming arguments, `json_schema`
 * replies that validate against the requested schema, 256-dimension bag-of-words embeddings,
 * realistic usage (about 1.3 tokens a word), per-model latency and failure rates, and the
 * prompt directives of `directives.ts` (`[[sandbox:429]]`, `[[sandbox:500]]`, `[[sandbox:cut]]`,
 * `[[sandbox:slow]]`, `[[sandbox:hang]]`).
 */
import { createSandboxDirector } from "./director.js";
import { bagOfWordsVector } from "./embedding.js";
import { DEFAULT_SANDBOX_MODELS, validateSandboxModels, type SandboxModelSpec } from "./models.js";
import { createOpenAIWire } from "./openai-wire.js";
import { startScriptedServer } from "./scripted-server.js";
import type { ScriptedServer } from "./script-types.js";
import { SUBWORD_TOKENS } from "./subword-tokens.js";

export type { SandboxFault, SandboxModelSpec } from "./models.js";
export { DEFAULT_SANDBOX_MODELS } from "./models.js";

/** Options of {@link startSandbox}. */
export interface SandboxOptions {
  /** The models served (default {@link DEFAULT_SANDBOX_MODELS}). */
  models?: readonly SandboxModelSpec[];
  /** Seeds answers, failure draws and embeddings (default 1): the same seed replays the same run. */
  seed?: number;
  /** Loopback only. */
  host?: "127.0.0.1";
  /** Extra time to first byte of a `slow` request, in ms (default 2 000). */
  slowMs?: number;
}

/** A running sandbox. */
export interface Sandbox {
  /** OpenAI-style base URL including `/v1`, e.g. `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  /** The models it serves. */
  readonly models: readonly SandboxModelSpec[];
  /**
   * The scripted server underneath, for tests: a scripted step overrides the simulation for one
   * request. It keeps only the last {@link HISTORY_LIMIT} requests and truth entries.
   */
  readonly server: ScriptedServer;
  /** Stops it: drops open connections, cancels pending delays, leaves no handle behind. */
  close(): Promise<void>;
}

/** Requests and truth entries a sandbox remembers (a long-running gateway must not grow without bound). */
export const HISTORY_LIMIT = 256;

/** Largest request body the sandbox reads. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Starts a sandbox on a free loopback port. Invalid model specs throw, naming each problem's path. */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const models = opts.models ?? DEFAULT_SANDBOX_MODELS;
  validateSandboxModels(models);
  const seed = opts.seed ?? 1;
  const wire = createOpenAIWire({ label: "sandbox", tokens: SUBWORD_TOKENS, vector: (text, dims) => bagOfWordsVector(text, dims, seed) });
  const server = await startScriptedServer(wire, {
    host: opts.host ?? "127.0.0.1",
    director: createSandboxDirector({ models, seed, slowMs: opts.slowMs ?? 2_000 }),
    historyLimit: HISTORY_LIMIT,
    maxBodyBytes: MAX_BODY_BYTES,
  });
  return { url: `${server.url}/v1`, models, server, close: () => server.close() };
}
