import { createGuardedAnalyzer, inProcessAnalyzer, type GuardedAnalyze, type GuardrailAnalyzer } from "../guardrails/analyzer.js";
import { applyFindings, type Finding } from "../guardrails/evaluate.js";
import type { ExternalChecker, ExternalContent } from "../guardrails/external-rule.js";
import { createPlaceholders, createStreamRestorer, type Placeholders } from "../guardrails/placeholders.js";
import type { CompiledPolicy } from "../guardrails/policy.js";
import { runExternalRules } from "../guardrails/run-external.js";
import { guardrailViolation, type ViolationFacts } from "../guardrails/violation.js";
import type { Logger } from "../observability/logger.js";
import type { ModelChunk, ModelMessage, ModelRequest, ModelResponse } from "../providers/model.js";
import { type CallMeta, type ModelCall, type ModelPipeline, type Stage, UNSENT_STREAM_RESULT } from "./model-call.js";

/** Dependencies of the guardrail stages. */
export interface GuardrailStageDeps {
  /**
   * The policies in force for a call (`createPolicyResolver`); `peek`, when given, answers from
   * memory (undefined when not known yet), so a stream no policy covers is handed through unwrapped.
   */
  policies: { forCall(meta: CallMeta): Promise<CompiledPolicy[]>; peek?(meta: CallMeta): CompiledPolicy[] | undefined };
  external: Pick<ExternalChecker, "check">;
  logger: Logger;
  /** The in-process rules' engine (default: the built-in detectors); failures fail closed (P22). */
  analyzer?: GuardrailAnalyzer | undefined;
  /** Longest one analysis may take before it counts as failed (default 2 s). */
  analyzerTimeoutMs?: number;
}

/** The stages' analyzer, guarded: a failure refuses the call unless its policies fail open, and is logged without content. */
export function guardedAnalyzerOf(deps: GuardrailStageDeps): GuardedAnalyze {
  return createGuardedAnalyzer(deps.analyzer ?? inProcessAnalyzer, {
    ...(deps.analyzerTimeoutMs === undefined ? {} : { timeoutMs: deps.analyzerTimeoutMs }),
    onFailure: (err, f) =>
      deps.logger.error(
        { err: err instanceof Error ? err.message : String(err), stage: f.stage, field: f.field, failClosed: f.failClosed, failOpen: f.failOpen },
        f.failClosed.length > 0 ? "guardrail analyzer failed; call refused (fail closed)" : "guardrail analyzer failed; text passed unchecked (policies fail open)",
      ),
  });
}

/** Logs what `log` and `redact` rules found: rule, category and field, never the text. */
export function logFindings(logger: Logger, meta: CallMeta, stage: "input" | "output", field: string, findings: readonly Finding[]): void {
  for (const f of findings) {
    if (f.action === "block") continue;
    logger.info({ requestId: meta.requestId, stage, policy: f.policy, rule: f.rule, category: f.category, field, action: f.action }, "guardrail match");
  }
}

/** Logs external rules' non-blocking matches. */
export function logExternal(logger: Logger, meta: CallMeta, logged: readonly ViolationFacts[]): void {
  for (const f of logged) logger.info({ requestId: meta.requestId, stage: f.stage, policy: f.policy, rule: f.rule, category: f.category, field: f.field, action: "log" }, "guardrail match");
}

/**
 * The input guardrail stage: outside the cache, so what is cached and what reaches a provider is
 * the redacted request. It inspects exactly the messages the verb flagged as user content
 * (`CallMeta.userContentMessages`; every input of an Embed call), text part by text part: a
 * `block` finding refuses the call with PermissionDenied + GuardrailViolation (naming policy,
 * rule, field and category, never the text); `redact` findings become typed placeholders
 * (`[EMAIL_1]`) before anything leaves the gateway; `log` findings are logged. External rules
 * then see the redacted texts. When a PII rule asks for it, the placeholders are put back into
 * the answer on the way out (streams too: a placeholder split across chunks is held back until
 * whole), JSON-escaped where the answer is JSON.
 */
export function createGuardrailInputStage(deps: GuardrailStageDeps): Stage {
  const analyze = guardedAnalyzerOf(deps);
  /** One text at `field`: redacted, or the violation thrown. */
  const inspect = async (call: { meta: CallMeta }, text: string, policies: Awaited<ReturnType<GuardrailStageDeps["policies"]["forCall"]>>, field: string, placeholders: Placeholders, contents: ExternalContent[]) => {
    const verdict = applyFindings(text, await analyze(text, policies, "input", field), placeholders);
    if (verdict.blocked !== undefined) throw violationOf(verdict.blocked, field);
    logFindings(deps.logger, call.meta, "input", field, verdict.findings);
    contents.push({ field, text: verdict.text });
    return verdict.text;
  };
  /** The guarded request, or undefined when no policy applies. Throws the violation. */
  const guard = async (call: ModelCall): Promise<{ request: ModelRequest; placeholders: Placeholders } | undefined> => {
    const policies = await deps.policies.forCall(call.meta);
    if (policies.length === 0) return undefined;
    const placeholders = createPlaceholders();
    const flagged = new Set(call.meta.userContentMessages ?? []);
    const contents: ExternalContent[] = [];
    const messages: ModelMessage[] = [];
    let redacted = false;
    for (const [i, message] of call.request.messages.entries()) {
      if (!flagged.has(i)) {
        messages.push(message);
        continue;
      }
      const content: ModelMessage["content"] = [];
      for (const [j, part] of message.content.entries()) {
        if (part.type !== "text") {
          content.push(part);
          continue;
        }
        const text = await inspect(call, part.text, policies, `messages[${i}].content[${j}].text`, placeholders, contents);
        redacted ||= text !== part.text;
        content.push(text === part.text ? part : { ...part, text });
      }
      messages.push({ ...message, content });
    }
    const external = await runExternalRules(deps.external, policies, "input", contents, call.meta);
    logExternal(deps.logger, call.meta, external.logged);
    if (external.violation !== undefined) throw guardrailViolation(external.violation);
    // Nothing redacted: the request itself goes on, so the stages inside (the cache's key) can
    // tell it is unchanged.
    return { request: redacted ? { ...call.request, messages } : call.request, placeholders };
  };

  return (next) => ({
    // Promise chains rather than an `async` function: no suspended frame per call in flight (`afterCall`).
    chat: (call) =>
      guard(call).then((guarded) => {
        if (guarded === undefined) return next.chat(call);
        const answered = next.chat({ ...call, request: guarded.request, placeholders: guarded.placeholders });
        if (!guarded.placeholders.restoring) return answered;
        return answered.then((result) => ({ ...result, response: restoreResponse(result.response, guarded.placeholders, isJson(call.request)) }));
      }),

    chatStream(call) {
      // No policy covers the call: hand the stream through (a wrapping generator stays in memory while it is open).
      if (deps.policies.peek?.(call.meta)?.length === 0) return next.chatStream(call);
      let settle!: (r: ReturnType<ReturnType<ModelPipeline["chatStream"]>["result"]>) => void;
      const result = new Promise<Awaited<ReturnType<ReturnType<ModelPipeline["chatStream"]>["result"]>>>((resolve) => (settle = resolve));
      const chunks = async function* (): AsyncGenerator<ModelChunk> {
        let guarded: Awaited<ReturnType<typeof guard>>;
        try {
          guarded = await guard(call);
        } catch (err) {
          settle(Promise.resolve(UNSENT_STREAM_RESULT));
          throw err;
        }
        const inner = next.chatStream(guarded === undefined ? call : { ...call, request: guarded.request, placeholders: guarded.placeholders });
        settle(inner.result());
        if (guarded === undefined || !guarded.placeholders.restoring) {
          yield* inner.chunks;
          return;
        }
        yield* restoreStream(inner.chunks, guarded.placeholders, isJson(call.request));
      };
      return { chunks: chunks(), result: () => result };
    },

    async embed(call) {
      const policies = await deps.policies.forCall(call.meta);
      if (policies.length === 0) return next.embed(call);
      const placeholders = createPlaceholders();
      const contents: ExternalContent[] = [];
      const inputs: string[] = [];
      for (const [i, text] of call.request.inputs.entries()) inputs.push(await inspect(call, text, policies, `inputs[${i}]`, placeholders, contents));
      const external = await runExternalRules(deps.external, policies, "input", contents, call.meta);
      logExternal(deps.logger, call.meta, external.logged);
      if (external.violation !== undefined) throw guardrailViolation(external.violation);
      return next.embed({ ...call, request: { ...call.request, inputs } });
    },
  });
}

/** The violation error of a blocking finding at `field`. */
export function violationOf(f: Finding, field: string, stage: "input" | "output" = "input") {
  return guardrailViolation({ policy: f.policy, rule: f.rule, stage, field, category: f.category });
}

function isJson(request: ModelRequest): boolean {
  return request.responseFormat?.type === "json_object" || request.responseFormat?.type === "json_schema";
}

function restoreResponse(response: ModelResponse, placeholders: Placeholders, json: boolean): ModelResponse {
  return {
    ...response,
    text: placeholders.restore(response.text, { json }),
    toolCalls: response.toolCalls.map((c) => ({ ...c, argumentsJson: placeholders.restore(c.argumentsJson, { json: true }) })),
  };
}

/** Restores placeholders in a chunk stream, flushing held-back text before the stream's end events. */
async function* restoreStream(chunks: AsyncIterable<ModelChunk>, placeholders: Placeholders, json: boolean): AsyncGenerator<ModelChunk> {
  const text = createStreamRestorer(placeholders, { json });
  const tools = new Map<number, ReturnType<typeof createStreamRestorer>>();
  let flushed = false;
  const flush = function* (): Generator<ModelChunk> {
    if (flushed) return;
    flushed = true;
    const rest = text.flush();
    if (rest !== "") yield { type: "text", text: rest };
    for (const [index, restorer] of tools) {
      const tail = restorer.flush();
      if (tail !== "") yield { type: "tool_call", index, argumentsDelta: tail };
    }
  };
  for await (const chunk of chunks) {
    if (chunk.type === "text") {
      const out = text.push(chunk.text);
      if (out !== "") yield { type: "text", text: out };
    } else if (chunk.type === "tool_call") {
      let restorer = tools.get(chunk.index);
      if (restorer === undefined) tools.set(chunk.index, (restorer = createStreamRestorer(placeholders, { json: true })));
      yield { ...chunk, argumentsDelta: restorer.push(chunk.argumentsDelta) };
    } else {
      if (chunk.type === "finish" || chunk.type === "usage") yield* flush();
      yield chunk;
    }
  }
  yield* flush();
}
