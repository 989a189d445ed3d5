import { Code, ConnectError } from "@connectrpc/connect";
import { findViolations, type Finding } from "./evaluate.js";
import type { CompiledPolicy, GuardrailStageName } from "./policy.js";

/**
 * The engine that runs a call's in-process rules (PII detectors, deny lists, regexes, injection
 * heuristics) on one text. The default is {@link inProcessAnalyzer}; the seam exists so an
 * out-of-process analyzer (a Presidio-style service) can be plugged in, and so tests can make it
 * throw or hang (P22's analyzer-down fault).
 */
export interface GuardrailAnalyzer {
  findViolations(text: string, policies: readonly CompiledPolicy[], stage: GuardrailStageName): Finding[] | Promise<Finding[]>;
}

/** The built-in analyzer: linear-time detectors in this process. */
export const inProcessAnalyzer: GuardrailAnalyzer = { findViolations };

/** Default time one analysis may take before the analyzer counts as failed. */
export const DEFAULT_ANALYZER_TIMEOUT_MS = 2_000;

/** Runs the analyzer on one field of a call, failing closed or open as the policies say. */
export type GuardedAnalyze = (text: string, policies: readonly CompiledPolicy[], stage: GuardrailStageName, field: string) => Promise<Finding[]>;

/** What a failed analysis is reported with (never the text). */
export interface AnalyzerFailure {
  stage: GuardrailStageName;
  field: string;
  /** The policies that refused the call (fail closed), or none when every one failed open. */
  failClosed: string[];
  failOpen: string[];
}

/** Options of {@link createGuardedAnalyzer}. */
export interface GuardedAnalyzerOptions {
  /** Longest an analysis may take (default {@link DEFAULT_ANALYZER_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Told about every failure, with its cause. */
  onFailure?: (err: unknown, failure: AnalyzerFailure) => void;
}

/** Whether `policy` enforces something at `stage` in process: a redact or block rule that is not external. */
function enforces(policy: CompiledPolicy, stage: GuardrailStageName): boolean {
  return policy.rules.some((r) => r.stages.has(stage) && r.check.kind !== "external" && (r.action === "redact" || r.action === "block"));
}

/**
 * Wraps `analyzer` so that a throw, a rejection or an answer later than `timeoutMs` never lets
 * a text through silently (P22). When it fails, every policy that redacts or blocks at the stage
 * and does not set `analyzer_fail_open` refuses the call: `Unavailable`, naming the field, so
 * nothing unmasked is forwarded to a provider, stored (cache, logs) or streamed to the caller.
 * When every such policy fails open (or only log rules apply), the text passes unchecked and the
 * failure is reported to `onFailure`. A timeout cannot stop synchronous work already running; it
 * bounds what the call waits for an asynchronous analyzer.
 */
export function createGuardedAnalyzer(analyzer: GuardrailAnalyzer, opts: GuardedAnalyzerOptions = {}): GuardedAnalyze {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_ANALYZER_TIMEOUT_MS;
  return async (text, policies, stage, field) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`guardrail analyzer timed out after ${timeoutMs} ms`)), timeoutMs);
      });
      return await Promise.race([Promise.resolve().then(() => analyzer.findViolations(text, policies, stage)), timeout]);
    } catch (err) {
      const failClosed = policies.filter((p) => enforces(p, stage) && !p.analyzerFailOpen).map((p) => p.name);
      const failOpen = policies.filter((p) => enforces(p, stage) && p.analyzerFailOpen).map((p) => p.name);
      opts.onFailure?.(err, { stage, field, failClosed, failOpen });
      if (failClosed.length === 0) return [];
      throw new ConnectError(
        `guardrail analysis of ${field} failed and policy ${failClosed[0]} fails closed, so the request was refused rather than passed on unchecked; retry shortly`,
        Code.Unavailable,
      );
    } finally {
      clearTimeout(timer);
    }
  };
}
