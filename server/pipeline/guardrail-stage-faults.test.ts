/**
 * The guardrail stages under the two gaps P22 names: tool-call arguments streamed as deltas are
 * scanned like text (a deny-listed phrase stops the stream before any of it is sent; PII is
 * masked in the deltas, split anywhere), and an analyzer that throws or hangs fails closed
 * (Unavailable, nothing forwarded) unless the policy says `analyzer_fail_open`.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GuardrailStage, GuardrailViolationSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import type { GuardrailAnalyzer } from "../guardrails/analyzer.js";
import { findViolations } from "../guardrails/evaluate.js";
import { emptyUsage, type ModelChunk } from "../providers/model.js";
import { promptText, type ScriptedStep } from "../verbs/testing/scripted-pipeline.js";
import type { ModelCall } from "./model-call.js";
import { guardrailCallMeta, guardrailPipeline } from "./guardrail-stage.testing.js";
import { pieces } from "../guardrails/stream-scanner.testing.js";

const pipelineWith = guardrailPipeline;

const meta = guardrailCallMeta([0]);
const call = (user: string): ModelCall => ({ meta, request: { model: "", messages: [{ role: "user", content: [{ type: "text", text: user }] }] } });

const REDACT_PII = { id: "pii", stage: GuardrailStage.BOTH, action: GuardrailAction.REDACT, check: { case: "pii" as const, value: { entities: [] } } };
const DENY = { id: "deny", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["project apollo"] } } };
const END: Array<{ chunk: ModelChunk }> = [{ chunk: { type: "finish", reason: "tool_calls" } }, { chunk: { type: "usage", usage: { ...emptyUsage(), inputTokens: 1, outputTokens: 1 } } }];

/** A streamed tool call whose arguments arrive in `parts`. */
function toolStream(parts: string[]): ScriptedStep {
  const first: ModelChunk = { type: "tool_call", index: 0, id: "call_1", name: "send_mail", argumentsDelta: "" };
  return { type: "stream", events: [{ chunk: { type: "start", model: "m" } }, { chunk: first }, ...parts.map((p) => ({ chunk: { type: "tool_call", index: 0, argumentsDelta: p } as ModelChunk })), ...END] };
}

/** Drains a stream: the tool-call arguments and text it sent, and the error it ended with. */
async function drain(chunks: AsyncIterable<ModelChunk>) {
  let args = "";
  let text = "";
  let named = false;
  let error: ConnectError | undefined;
  try {
    for await (const c of chunks) {
      if (c.type === "tool_call") {
        args += c.argumentsDelta;
        named ||= c.id === "call_1" && c.name === "send_mail";
      }
      if (c.type === "text") text += c.text;
    }
  } catch (err) {
    error = ConnectError.from(err);
  }
  return { args, text, named, error };
}

describe("tool-call arguments are scanned mid-stream", () => {
  const body = `{"subject":"status","body":"${"All systems nominal. ".repeat(20)}Reminder: project apollo ships Monday.","cc":[]}`;
  const phraseAt = body.toLowerCase().indexOf("project apollo");

  it("a deny-listed phrase in the argument deltas stops the stream before any of it is sent (property over chunking)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (cuts) => {
        const { pipeline } = pipelineWith({ rules: [DENY] }, [toolStream(pieces(body, cuts).filter((p) => p !== ""))]);
        const out = await drain(pipeline.chatStream(call("send the update")).chunks);
        expect(out.error?.code).toBe(Code.PermissionDenied);
        expect(out.error?.findDetails(GuardrailViolationSchema)[0]).toMatchObject({ category: "DENY_LIST", stage: GuardrailStage.OUTPUT, field: "output.tool_calls[0].arguments" });
        expect(out.args.length).toBeLessThanOrEqual(phraseAt);
        expect(out.args.toLowerCase()).not.toContain("apollo");
        expect(out.named).toBe(true); // the call's id and name were not held back
      }),
      { numRuns: 100 },
    );
  });

  it("PII in the argument deltas is masked wherever the chunks split it, and the arguments stay valid JSON (property)", async () => {
    const args = JSON.stringify({ to: "jane.doe@example.com", card: "4111 1111 1111 1111", note: "ok" });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 30 }), async (cuts) => {
        const { pipeline } = pipelineWith({ rules: [REDACT_PII] }, [toolStream(pieces(args, cuts).filter((p) => p !== ""))]);
        const out = await drain(pipeline.chatStream(call("mail jane")).chunks);
        expect(out.error).toBeUndefined();
        expect(JSON.parse(out.args)).toEqual({ to: "[EMAIL_1]", card: "[CREDIT_CARD_1]", note: "ok" });
        expect(out.named).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe("the analyzer fails (P22: fail closed)", () => {
  const throwing: GuardrailAnalyzer = {
    findViolations: () => {
      throw new Error("analyzer crashed");
    },
  };
  const hanging: GuardrailAnalyzer = { findViolations: () => new Promise(() => undefined) };
  const PLANTED = "my card is 4111 1111 1111 1111, mail jane.doe@example.com";

  it("a throwing analyzer refuses the call with Unavailable before the provider sees anything, and logs no content", async () => {
    const { inner, pipeline, log } = pipelineWith({ rules: [REDACT_PII] }, [{ type: "answer", text: "ok" }], { analyzer: throwing });
    const err = await pipeline.chat(call(PLANTED)).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.rawMessage).toContain("messages[0].content[0].text");
    expect(inner.calls).toHaveLength(0);
    expect(log.text()).toContain("fail closed");
    expect(log.text()).not.toContain("4111");
  });

  it("a hanging analyzer counts as failed after its timeout; streams and Embed are refused too", async () => {
    const { inner, pipeline } = pipelineWith({ rules: [REDACT_PII] }, [{ type: "answer", text: "ok" }], { analyzer: hanging, analyzerTimeoutMs: 50 });
    const started = Date.now();
    const out = await drain(pipeline.chatStream(call(PLANTED)).chunks);
    expect(out.error?.code).toBe(Code.Unavailable);
    expect(Date.now() - started).toBeLessThan(5_000);
    const embed = await pipeline.embed({ meta: { ...meta, verb: "embed" }, request: { model: "", inputs: [PLANTED] } }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(embed?.code).toBe(Code.Unavailable);
    expect(inner.calls).toHaveLength(0);
  });

  it("an analyzer that fails on the answer stops the stream before any unchecked text is sent", async () => {
    const outputOnly: GuardrailAnalyzer = {
      findViolations: (text, policies, stage) => {
        if (stage === "output") throw new Error("analyzer crashed");
        return findViolations(text, policies, stage);
      },
    };
    const events = ["Your card ", "4111 1111 ", "1111 1111 is on file."].map((t) => ({ chunk: { type: "text", text: t } as ModelChunk }));
    const { pipeline } = pipelineWith({ rules: [REDACT_PII] }, [{ type: "stream", events: [{ chunk: { type: "start", model: "m" } }, ...events, ...END] }], { analyzer: outputOnly });
    const out = await drain(pipeline.chatStream(call("what card?")).chunks);
    expect(out.error?.code).toBe(Code.Unavailable);
    expect(out.error?.rawMessage).toContain("output.text");
    expect(out.text).toBe("");
  });

  it("analyzer_fail_open lets the text through unchecked (logged); a log-only policy never refuses", async () => {
    const open = pipelineWith({ rules: [REDACT_PII], analyzerFailOpen: true }, [{ type: "answer", text: "ok" }], { analyzer: throwing });
    expect((await open.pipeline.chat(call(PLANTED))).response.text).toBe("ok");
    expect(promptText(open.inner.chatCalls()[0]!)).toContain("4111 1111 1111 1111");
    expect(open.log.text()).toContain("policies fail open");

    const logOnly = pipelineWith({ rules: [{ ...REDACT_PII, action: GuardrailAction.LOG }] }, [{ type: "answer", text: "ok" }], { analyzer: throwing });
    expect((await logOnly.pipeline.chat(call(PLANTED))).response.text).toBe("ok");
  });
});
