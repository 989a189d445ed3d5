import { applyFindings } from "../guardrails/evaluate.js";
import type { ExternalContent } from "../guardrails/external-rule.js";
import { detectorText } from "../guardrails/pii/json-text.js";
import { createPlaceholders, type Placeholders } from "../guardrails/placeholders.js";
import type { CompiledPolicy } from "../guardrails/policy.js";
import { runExternalRules } from "../guardrails/run-external.js";
import { createStreamScanner, type StreamScanner } from "../guardrails/stream-scanner.js";
import { guardrailViolation } from "../guardrails/violation.js";
import type { ModelChunk } from "../providers/model.js";
import { withAnswerBilledOnFailure } from "./billed-failure.js";
import { guardedAnalyzerOf, logExternal, logFindings, violationOf, type GuardrailStageDeps } from "./guardrail-stage.js";
import { type ModelCall, type ModelCallResult, type ModelStream, type Stage, UNSENT_STREAM_RESULT } from "./model-call.js";

/**
 * The output guardrail stage: inside the cache stage (so an answer it blocks is an error there,
 * never stored) and outside the budget stage (the blocked answer was still paid for and is
 * billed; its refusal reports the attempts and cost billed, as a provider failure after dispatch
 * does: `ProviderAttempts`, the access line, the observe stage). It checks the model's answer —
 * text and tool-call arguments — with the output rules of the call's policies: `block` refuses
 * with PermissionDenied + GuardrailViolation (stage OUTPUT), `redact` masks with placeholders,
 * `log` logs; external output rules see the answer last. When the analyzer fails, the answer is
 * refused (`Unavailable`) unless the policies fail open (`guardrails/analyzer.ts`), so an
 * unchecked answer is neither sent nor cached.
 *
 * Streams are scanned as they pass (`stream-scanner.ts`: only a deny-listed phrase in progress is
 * held back when deny lists are the stage's only rules, a fixed window otherwise), one scanner for
 * the text and one per tool call's argument deltas: a blocked phrase or value stops the stream
 * before any of it is sent, with the same error thrown mid-stream, which ChatStream turns into
 * its `truncated` (reason guardrail) terminal event; redacted values are masked in the deltas.
 * External rules are checked when the stream ends, before its `finish` is passed on.
 */
export function createGuardrailOutputStage(deps: GuardrailStageDeps): Stage {
  const analyze = guardedAnalyzerOf(deps);
  /** The answer as checked by the call's output rules (redacted), or the violation thrown. */
  const checked = async (call: ModelCall, policies: CompiledPolicy[], result: ModelCallResult): Promise<ModelCallResult> => {
    const placeholders = outputPlaceholders(call);
    const check = async (text: string, field: string, json = false) => {
      const verdict = applyFindings(text, await analyze(detectorText(text, json), policies, "output", field), placeholders);
      if (verdict.blocked !== undefined) throw violationOf(verdict.blocked, field, "output");
      logFindings(deps.logger, call.meta, "output", field, verdict.findings);
      return verdict.text;
    };
    const text = await check(result.response.text, "output.text");
    const toolCalls = [];
    for (const [i, c] of result.response.toolCalls.entries()) toolCalls.push({ ...c, argumentsJson: await check(c.argumentsJson, `output.tool_calls[${i}].arguments`, true) });
    const contents: ExternalContent[] = [{ field: "output.text", text }, ...toolCalls.map((c, i) => ({ field: `output.tool_calls[${i}].arguments`, text: c.argumentsJson }))];
    const external = await runExternalRules(deps.external, policies, "output", contents.filter((c) => c.text !== ""), call.meta);
    logExternal(deps.logger, call.meta, external.logged);
    if (external.violation !== undefined) throw guardrailViolation(external.violation);
    return { ...result, response: { ...result.response, text, toolCalls } };
  };
  return (next) => ({
    // Promise chains while the call is out, not an `async` function: no suspended frame per call in flight (`afterCall`).
    // A refusal of the answer reports what it was billed (`withAnswerBilledOnFailure`); a failure
    // of the call itself is passed on as it is (it reports its own attempts).
    chat: (call) =>
      deps.policies.forCall(call.meta).then((policies) =>
        policies.length === 0
          ? next.chat(call)
          : next.chat(call).then((result) =>
              checked(call, policies, result).catch((err: unknown) => {
                throw withAnswerBilledOnFailure(err, result, call.meta.route);
              }),
            ),
      ),

    chatStream(call) {
      // No policy covers the call: hand the stream through (a wrapping generator stays in memory while it is open).
      if (deps.policies.peek?.(call.meta)?.length === 0) return next.chatStream(call);
      let settle!: (r: ReturnType<ModelStream["result"]>) => void;
      const result = new Promise<Awaited<ReturnType<ModelStream["result"]>>>((resolve) => (settle = resolve));
      const chunks = async function* (): AsyncGenerator<ModelChunk> {
        let policies: Awaited<ReturnType<GuardrailStageDeps["policies"]["forCall"]>>;
        try {
          policies = await deps.policies.forCall(call.meta);
        } catch (err) {
          settle(Promise.resolve(UNSENT_STREAM_RESULT));
          throw err;
        }
        const inner = next.chatStream(call);
        settle(inner.result());
        if (policies.length === 0) {
          yield* inner.chunks;
          return;
        }
        const placeholders = outputPlaceholders(call);
        // A tool call's arguments are JSON text, read with their escapes as the breaks they stand for.
        const scannerFor = (field: string, json = false) =>
          createStreamScanner(policies, "output", placeholders, (text) => analyze(detectorText(text, json), policies, "output", field));
        const textScanner = scannerFor("output.text");
        const toolScanners = new Map<number, StreamScanner>();
        const toolField = (index: number) => `output.tool_calls[${index}].arguments`;
        let ended = false;
        /** The held-back text and arguments, then the external rules, once the answer is complete. */
        const end = async function* (): AsyncGenerator<ModelChunk> {
          if (ended) return;
          ended = true;
          const rest = await textScanner.flush();
          if (rest.blocked !== undefined) throw violationOf(rest.blocked, "output.text", "output");
          if (rest.text !== "") yield { type: "text", text: rest.text };
          const contents: ExternalContent[] = textScanner.seen === "" ? [] : [{ field: "output.text", text: textScanner.seen }];
          for (const [index, scanner] of toolScanners) {
            const tail = await scanner.flush();
            if (tail.blocked !== undefined) throw violationOf(tail.blocked, toolField(index), "output");
            if (tail.text !== "") yield { type: "tool_call", index, argumentsDelta: tail.text };
            contents.push({ field: toolField(index), text: scanner.seen });
          }
          const external = await runExternalRules(deps.external, policies, "output", contents, call.meta);
          logExternal(deps.logger, call.meta, external.logged);
          if (external.violation !== undefined) throw guardrailViolation(external.violation);
        };
        const source = inner.chunks[Symbol.asyncIterator]();
        let failedInside = false;
        try {
          for (;;) {
            let pulled: IteratorResult<ModelChunk>;
            try {
              pulled = await source.next();
            } catch (err) {
              failedInside = true;
              throw err;
            }
            if (pulled.done === true) break;
            const chunk = pulled.value;
            if (chunk.type === "text") {
              const step = await textScanner.push(chunk.text);
              if (step.blocked !== undefined) throw violationOf(step.blocked, "output.text", "output");
              if (step.text !== "") yield { type: "text", text: step.text };
              continue;
            }
            if (chunk.type === "tool_call") {
              let scanner = toolScanners.get(chunk.index);
              if (scanner === undefined) toolScanners.set(chunk.index, (scanner = scannerFor(toolField(chunk.index), true)));
              const step = await scanner.push(chunk.argumentsDelta);
              if (step.blocked !== undefined) throw violationOf(step.blocked, toolField(chunk.index), "output");
              // The call's id and name pass at once; its arguments as the window releases them.
              if (step.text !== "" || chunk.id !== undefined || chunk.name !== undefined) yield { ...chunk, argumentsDelta: step.text };
              continue;
            }
            if (chunk.type === "finish" || chunk.type === "usage") yield* end();
            yield chunk;
          }
          yield* end();
        } catch (err) {
          // The inner stream's own failure reports its own attempts: passed on as it is.
          if (failedInside) throw err;
          // This stage refused the answer (blocked, or its check failed): the stream inside is
          // closed first, so the stages there settle and record it, then the refusal reports
          // what they billed, as `chat` does.
          await source.return?.();
          throw withAnswerBilledOnFailure(err, await inner.result(), call.meta.route);
        } finally {
          // Stopped early (the caller left): the stream inside stops too.
          await source.return?.();
        }
      };
      return { chunks: chunks(), result: () => result };
    },

    embed: (call) => next.embed(call),
  });
}

/**
 * The placeholders the output stage masks an answer with: the call's registry from the input
 * stage when there is one (a value keeps its placeholder across the call, and a value only the
 * answer holds gets a number of its own, not one the input stage restores), else a fresh one.
 * What the output stage masks is never marked for restoring.
 */
function outputPlaceholders(call: ModelCall): Placeholders {
  const shared = call.placeholders;
  if (shared === undefined) return createPlaceholders();
  const view = Object.create(shared) as Placeholders;
  return Object.assign(view, { placeholderFor: (category: string, value: string) => shared.placeholderFor(category, value, false) });
}
