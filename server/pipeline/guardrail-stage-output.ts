import { evaluateText } from "../guardrails/evaluate.js";
import type { ExternalContent } from "../guardrails/external-rule.js";
import { createPlaceholders } from "../guardrails/placeholders.js";
import { runExternalRules } from "../guardrails/run-external.js";
import { createStreamScanner } from "../guardrails/stream-scanner.js";
import { guardrailViolation } from "../guardrails/violation.js";
import type { ModelChunk } from "../providers/model.js";
import { logExternal, logFindings, violationOf, type GuardrailStageDeps } from "./guardrail-stage.js";
import type { ModelCallResult, ModelStream, Stage } from "./model-call.js";

/**
 * The output guardrail stage: inside the cache stage (so an answer it blocks is an error there,
 * never stored) and outside the budget stage (the blocked answer was still paid for and is
 * billed). It checks the model's answer — text and tool-call arguments — with the output rules
 * of the call's policies: `block` refuses with PermissionDenied + GuardrailViolation (stage
 * OUTPUT), `redact` masks with placeholders, `log` logs; external output rules see the answer
 * last.
 *
 * Streams are scanned through a sliding window (`stream-scanner.ts`) as they pass: a blocked
 * phrase stops the stream before any of it is sent, with the same error thrown mid-stream, which
 * ChatStream turns into its `truncated` (reason guardrail) terminal event. Tool-call arguments and
 * external rules are checked when the stream ends, before its `finish` is passed on.
 */
export function createGuardrailOutputStage(deps: GuardrailStageDeps): Stage {
  return (next) => ({
    async chat(call) {
      const policies = await deps.policies.forCall(call.meta);
      if (policies.length === 0) return next.chat(call);
      const result: ModelCallResult = await next.chat(call);
      const placeholders = createPlaceholders();
      const check = (text: string, field: string) => {
        const verdict = evaluateText(text, policies, "output", placeholders);
        if (verdict.blocked !== undefined) throw violationOf(verdict.blocked, field, "output");
        logFindings(deps.logger, call.meta, "output", field, verdict.findings);
        return verdict.text;
      };
      const text = check(result.response.text, "output.text");
      const toolCalls = result.response.toolCalls.map((c, i) => ({ ...c, argumentsJson: check(c.argumentsJson, `output.tool_calls[${i}].arguments`) }));
      const contents: ExternalContent[] = [{ field: "output.text", text }, ...toolCalls.map((c, i) => ({ field: `output.tool_calls[${i}].arguments`, text: c.argumentsJson }))];
      const external = await runExternalRules(deps.external, policies, "output", contents.filter((c) => c.text !== ""), call.meta);
      logExternal(deps.logger, call.meta, external.logged);
      if (external.violation !== undefined) throw guardrailViolation(external.violation);
      return { ...result, response: { ...result.response, text, toolCalls } };
    },

    chatStream(call) {
      let settle!: (r: ReturnType<ModelStream["result"]>) => void;
      const result = new Promise<Awaited<ReturnType<ModelStream["result"]>>>((resolve) => (settle = resolve));
      const chunks = async function* (): AsyncGenerator<ModelChunk> {
        let policies: Awaited<ReturnType<GuardrailStageDeps["policies"]["forCall"]>>;
        try {
          policies = await deps.policies.forCall(call.meta);
        } catch (err) {
          settle(Promise.resolve({ provider: "", model: "", attempts: [], costMicrosUsd: 0n, cacheStatus: "bypass" }));
          throw err;
        }
        const inner = next.chatStream(call);
        settle(inner.result());
        if (policies.length === 0) {
          yield* inner.chunks;
          return;
        }
        const placeholders = createPlaceholders();
        const scanner = createStreamScanner(policies, "output", placeholders);
        const toolArgs = new Map<number, string>();
        let ended = false;
        /** The held-back text, the tool calls and the external rules, once the answer is complete. */
        const end = async function* (): AsyncGenerator<ModelChunk> {
          if (ended) return;
          ended = true;
          const rest = scanner.flush();
          if (rest.blocked !== undefined) throw violationOf(rest.blocked, "output.text", "output");
          if (rest.text !== "") yield { type: "text", text: rest.text };
          const contents: ExternalContent[] = scanner.seen === "" ? [] : [{ field: "output.text", text: scanner.seen }];
          for (const [index, args] of toolArgs) {
            const field = `output.tool_calls[${index}].arguments`;
            const verdict = evaluateText(args, policies, "output", placeholders);
            if (verdict.blocked !== undefined) throw violationOf(verdict.blocked, field, "output");
            contents.push({ field, text: args });
          }
          const external = await runExternalRules(deps.external, policies, "output", contents, call.meta);
          logExternal(deps.logger, call.meta, external.logged);
          if (external.violation !== undefined) throw guardrailViolation(external.violation);
        };
        for await (const chunk of inner.chunks) {
          if (chunk.type === "text") {
            const step = scanner.push(chunk.text);
            if (step.blocked !== undefined) throw violationOf(step.blocked, "output.text", "output");
            if (step.text !== "") yield { type: "text", text: step.text };
            continue;
          }
          if (chunk.type === "tool_call") toolArgs.set(chunk.index, (toolArgs.get(chunk.index) ?? "") + chunk.argumentsDelta);
          if (chunk.type === "finish" || chunk.type === "usage") yield* end();
          yield chunk;
        }
        yield* end();
      };
      return { chunks: chunks(), result: () => result };
    },

    embed: (call) => next.embed(call),
  });
}
