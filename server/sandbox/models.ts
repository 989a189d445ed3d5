/**
 * The sandbox's simulated models as data: what each serves, how fast, how verbose, and how often
 * it fails. Unknown model ids get OpenAI's 404 `model_not_found`.
 */

/**
 * A failure the sandbox can simulate: an HTTP status from 400 to 599 (answered with OpenAI's
 * error envelope; 429 carries `retry-after: 1`), `cut` (a stream, or a unary body, stops half-way
 * and the connection drops), `slow` (the first byte comes late, by the sandbox's `slowMs`), or
 * `hang` (no answer until the client gives up).
 */
export type SandboxFault = number | "cut" | "slow" | "hang";

/** One simulated model. */
export interface SandboxModelSpec {
  /** The model id requests name, e.g. `sandbox-fast`. */
  id: string;
  /** `chat` serves `/chat/completions`; `embedding` serves `/embeddings`. */
  type: "chat" | "embedding";
  /** Time to first byte of every answer, in ms (default 0). */
  latencyMs?: number;
  /** Chat: `brief` answers are one sentence, `detailed` ones a short paragraph (default `brief`). */
  verbosity?: "brief" | "detailed";
  /** Fraction of requests that fail, drawn from the seeded generator in request order (default 0). */
  failureRate?: number;
  /** What a failing request gets, picked by the same generator (default `[503]`). */
  failures?: readonly SandboxFault[];
  /** Embedding: the vectors' length unless the request asks for `dimensions` (default 256). */
  dimensions?: number;
}

/**
 * The models a sandbox serves unless told otherwise: `sandbox-fast` (instant, one sentence),
 * `sandbox-smart` (300 ms to first byte, a paragraph), `sandbox-flaky` (30% of requests answer
 * 503 or 429) and `sandbox-embed` (256-dimension vectors where similar texts land close).
 */
export const DEFAULT_SANDBOX_MODELS: readonly SandboxModelSpec[] = Object.freeze([
  Object.freeze({ id: "sandbox-fast", type: "chat", verbosity: "brief" }),
  Object.freeze({ id: "sandbox-smart", type: "chat", verbosity: "detailed", latencyMs: 300 }),
  Object.freeze({ id: "sandbox-flaky", type: "chat", verbosity: "brief", failureRate: 0.3, failures: Object.freeze([503, 429]) }),
  Object.freeze({ id: "sandbox-embed", type: "embedding", dimensions: 256 }),
] satisfies SandboxModelSpec[]);

/** Checks model specs, throwing one error that names every problem by its path (`models[2].failureRate: …`). */
export function validateSandboxModels(models: readonly SandboxModelSpec[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  models.forEach((m, i) => {
    const at = `models[${i}]`;
    if (typeof m.id !== "string" || m.id.trim() === "") problems.push(`${at}.id: must be a non-empty string`);
    else if (seen.has(m.id)) problems.push(`${at}.id: "${m.id}" is declared twice`);
    else seen.add(m.id);
    if (m.type !== "chat" && m.type !== "embedding") problems.push(`${at}.type: must be "chat" or "embedding", got ${JSON.stringify(m.type)}`);
    if (m.latencyMs !== undefined && !(Number.isFinite(m.latencyMs) && m.latencyMs >= 0)) problems.push(`${at}.latencyMs: must be a number ≥ 0`);
    if (m.failureRate !== undefined && !(m.failureRate >= 0 && m.failureRate <= 1)) problems.push(`${at}.failureRate: must be between 0 and 1`);
    if (m.dimensions !== undefined && !(Number.isInteger(m.dimensions) && m.dimensions > 0)) problems.push(`${at}.dimensions: must be a positive integer`);
    (m.failures ?? []).forEach((f, j) => {
      const ok = typeof f === "number" ? Number.isInteger(f) && f >= 400 && f <= 599 : f === "cut" || f === "slow" || f === "hang";
      if (!ok) problems.push(`${at}.failures[${j}]: must be a status from 400 to 599, "cut", "slow" or "hang", got ${JSON.stringify(f)}`);
    });
    if (m.failures !== undefined && m.failures.length === 0 && (m.failureRate ?? 0) > 0) problems.push(`${at}.failures: must name at least one failure when failureRate > 0`);
  });
  if (models.length === 0) problems.push("models: must declare at least one model");
  if (problems.length > 0) throw new Error(`sandbox: invalid models:\n  ${problems.join("\n  ")}`);
}
