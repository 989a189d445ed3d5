/**
 * The output guardrail stage refuses answers the stages inside it were given and billed: its
 * refusal — a block, or a check that failed — reports that answer's attempts and cost, as a
 * provider failure after dispatch does (`failedCallAccounting`, the `ProviderAttempts` detail),
 * unary and streamed (the stream inside closed and settled first). A failure of the call inside
 * is passed on as it is, and a refused answer nothing was billed for (a cache hit) adds nothing.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GuardrailStage, ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import type { GuardrailAnalyzer } from "../guardrails/analyzer.js";
import { findViolations } from "../guardrails/evaluate.js";
import { compilePolicy } from "../guardrails/policy.js";
import { emptyUsage, type ModelChunk } from "../providers/model.js";
import type { ScriptedStep } from "../verbs/testing/scripted-pipeline.js";
import { failedCallAccounting } from "./dispatch-pipeline.js";
import { createGuardrailOutputStage } from "./guardrail-stage-output.js";
import { guardrailCallMeta, guardrailPipeline } from "./guardrail-stage.testing.js";
import type { ModelCall, ModelPipeline } from "./model-call.js";

const DENY = { id: "deny", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["project apollo"] } } };
const call: ModelCall = { meta: guardrailCallMeta([0]), request: { model: "", messages: [{ role: "user", content: [{ type: "text", text: "what launches?" }] }] } };
const billing = { costMicrosUsd: 75n, failedAttempts: 1, model: "m" };

async function refusal(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("the call succeeded");
    },
    (e: unknown) => e,
  );
}
const unary = (pipeline: ModelPipeline) => refusal(pipeline.chat(call));
const streamed = (pipeline: ModelPipeline) =>
  refusal(
    (async () => {
      for await (const _ of pipeline.chatStream(call).chunks);
    })(),
  );
const listed = (err: unknown) => (ConnectError.from(err).findDetails(ProviderAttemptsSchema)[0]?.attempts ?? []).map((a) => [a.index, a.outcome !== 1 ? "failed" : "ok"]);
const words = (text: string): ScriptedStep => ({
  type: "stream",
  ...billing,
  events: [{ chunk: { type: "start", model: "m" } as ModelChunk }, ...text.split(/(?<= )/).map((w) => ({ chunk: { type: "text", text: w } as ModelChunk })), { chunk: { type: "finish", reason: "stop" } }],
});

describe("the output guardrail stage's refusal reports the answer it refused as billed", () => {
  it.each([
    ["unary", unary, { type: "answer", text: "Sure: Project Apollo launches Monday.", ...billing } as ScriptedStep],
    ["streamed", streamed, words(`${"fine words ".repeat(20)}and now project apollo details`)],
  ])("a block (%s): every attempt of the answer and their cost", async (_, run, step) => {
    const { pipeline } = guardrailPipeline({ rules: [DENY] }, [step]);
    const err = await run(pipeline);
    expect(ConnectError.from(err).code).toBe(Code.PermissionDenied);
    expect(failedCallAccounting(err)).toMatchObject({ attempts: [{ index: 1, outcome: "unavailable" }, { index: 2, outcome: "success" }], costMicrosUsd: 75n });
    expect(listed(err)).toEqual([
      [1, "failed"],
      [2, "ok"],
    ]);
  });

  it("an analyzer that fails on the answer (Unavailable, fail closed): the answer's attempts too", async () => {
    const analyzer: GuardrailAnalyzer = {
      findViolations(text, policies, stage) {
        if (stage === "output") throw new Error("analyzer crashed");
        return findViolations(text, policies, stage);
      },
    };
    for (const [run, step] of [
      [unary, { type: "answer", text: "fine", ...billing }],
      [streamed, words("fine words")],
    ] as const) {
      const { pipeline } = guardrailPipeline({ rules: [DENY] }, [step], { analyzer });
      const err = await run(pipeline);
      expect(ConnectError.from(err).code).toBe(Code.Unavailable);
      expect(failedCallAccounting(err)?.costMicrosUsd).toBe(75n);
    }
  });

  it("a failure of the stream inside is passed on as it is", async () => {
    const failure = new ConnectError("the provider failed", Code.Unavailable);
    const { pipeline } = guardrailPipeline({ rules: [DENY] }, [{ type: "stream", ...billing, events: [{ chunk: { type: "text", text: "fine " } }, { throw: failure }] }]);
    const err = await streamed(pipeline);
    expect(err).toBe(failure);
    expect(failedCallAccounting(err)).toBeUndefined();
    expect(failure.findDetails(ProviderAttemptsSchema)).toEqual([]);
  });

  it("a refused cache hit (nothing billed) reports nothing", async () => {
    const compiled = compilePolicy(create(GuardrailPolicySchema, { name: "orgs/acme/guardrail-policies/p", rules: [DENY] }));
    const hit: ModelPipeline = {
      chatStream: () => {
        throw new Error("unused");
      },
      embed: () => Promise.reject(new Error("unused")),
      chat: () => Promise.resolve({ response: { text: "Project Apollo, cached.", toolCalls: [], finishReason: "stop", usage: emptyUsage(), model: "m" }, provider: "openai", model: "m", attempts: [], costMicrosUsd: 0n, cacheStatus: "hit_exact" }),
    };
    const err = await unary(createGuardrailOutputStage({ policies: { forCall: async () => [compiled] }, external: { check: async () => ({ decision: "allow" }) }, logger: createLogCapture().logger })(hit));
    expect(ConnectError.from(err).code).toBe(Code.PermissionDenied);
    expect(failedCallAccounting(err)).toBeUndefined();
    expect(ConnectError.from(err).findDetails(ProviderAttemptsSchema)).toEqual([]);
  });
});
