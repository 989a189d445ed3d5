import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EmbedRequest } from "../providers/model.js";
import type { ProviderLimits } from "../providers/provider.js";
import type { Candidate } from "./capabilities.js";
import { targetsThatTakeOptions } from "./option-bounds.js";
import { chatRequest, route } from "./testing/harness.js";
import { answer, createScriptedProvider } from "./testing/scripted-provider.js";

/** Candidates on providers with these limits (each its own kind), in route order, every target on `model`. */
function candidates(limits: Array<ProviderLimits | undefined>, model = "m"): Candidate[] {
  const providers = limits.map((l, i) => createScriptedProvider({ kind: `p${i}`, ...(l === undefined ? {} : { limits: l }), script: [answer("x")] }));
  const r = route(providers.map((p, i) => ({ provider: p.kind, model, priority: i })));
  return r.targets.map((target, targetIndex) => ({ target, targetIndex, provider: providers[targetIndex]! }));
}

/** What `fn` threw. */
function thrown(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("nothing was thrown");
}

/** The fields a refusal's `buf.validate.Violations` detail names, with their rule ids. */
const violations = (err: ConnectError) =>
  err.findDetails(ViolationsSchema).flatMap((d) => d.violations.map((v) => [v.field?.elements.map((e) => e.fieldName).join("."), v.ruleId]));

const stops = (n: number) => chatRequest("x", { stop: Array.from({ length: n }, (_, i) => `END${i}`) });
const embed = (dimensions?: number): EmbedRequest => ({ model: "", inputs: ["a"], ...(dimensions === undefined ? {} : { dimensions }) });

describe("targetsThatTakeOptions: stop sequences", () => {
  it("keeps, in route order, exactly the targets whose provider takes that many stop sequences or declares no bound", () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 8 }), (maxes, n) => {
        const all = candidates(maxes.map((m) => (m === undefined ? {} : { maxStopSequences: m })));
        const expected = all.filter((_, i) => n === 0 || maxes[i] === undefined || n <= maxes[i]!).map((c) => c.targetIndex);
        if (expected.length === 0) {
          expect(thrown(() => targetsThatTakeOptions(all, stops(n), "r")).code).toBe(Code.InvalidArgument);
          return;
        }
        expect(targetsThatTakeOptions(all, stops(n), "r").map((c) => c.targetIndex)).toEqual(expected);
      }),
    );
  });

  it("skips a provider bounded at 4 for a request with 5, keeping one with no bound", () => {
    const all = candidates([{ maxStopSequences: 4 }, {}]);
    expect(targetsThatTakeOptions(all, stops(4), "r").map((c) => c.targetIndex)).toEqual([0, 1]);
    expect(targetsThatTakeOptions(all, stops(5), "r").map((c) => c.targetIndex)).toEqual([1]);
  });

  it("refuses with INVALID_ARGUMENT on `stop` when no target takes them, naming the count, the route and the most any target takes", () => {
    const err = thrown(() => targetsThatTakeOptions(candidates([{ maxStopSequences: 4 }, { maxStopSequences: 5 }]), stops(6), "mixed"));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violations(err)).toEqual([["stop", "stop.provider_max_items"]]);
    expect(err.rawMessage).toMatch(/^stop: /);
    expect(err.rawMessage).toContain("6 stop sequences");
    expect(err.rawMessage).toContain('"mixed"');
    expect(err.rawMessage).toContain("at most 5");
  });
});

describe("targetsThatTakeOptions: embedding dimensions", () => {
  const small = { embeddingModels: { m: { dimensions: 1536, minDimensions: 1 } } };
  const fixed = { embeddingModels: { m: { dimensions: 1536 } } };
  const floored = { embeddingModels: { m: { dimensions: 3072, minDimensions: 128 } } };

  it("takes any size from 1 to its own on a model that can shorten, and its own or none on any model", () => {
    for (const d of [1, 256, 1536]) expect(targetsThatTakeOptions(candidates([small]), embed(d), "r"), `${d}`).toHaveLength(1);
    expect(targetsThatTakeOptions(candidates([fixed]), embed(), "r")).toHaveLength(1);
    expect(targetsThatTakeOptions(candidates([floored]), embed(128), "r")).toHaveLength(1);
  });

  it("leaves models the provider does not list, and providers without a catalog, to the provider", () => {
    expect(targetsThatTakeOptions(candidates([small], "other-model"), embed(99_999), "r")).toHaveLength(1);
    expect(targetsThatTakeOptions(candidates([undefined]), embed(99_999), "r")).toHaveLength(1);
  });

  it("skips a target whose model cannot give that size, keeping one that can", () => {
    expect(targetsThatTakeOptions(candidates([fixed, small]), embed(256), "r").map((c) => c.targetIndex)).toEqual([1]);
    expect(targetsThatTakeOptions(candidates([small, floored]), embed(2048), "r").map((c) => c.targetIndex)).toEqual([1]);
    expect(targetsThatTakeOptions(candidates([floored, small]), embed(64), "r").map((c) => c.targetIndex)).toEqual([1]);
  });

  it("refuses with INVALID_ARGUMENT on `dimensions` above the model's own size, below its least, or on a model that cannot shorten", () => {
    for (const [limits, d, says] of [
      [small, 1537, "1 to 1536"],
      [floored, 64, "128 to 3072"],
      [fixed, 256, "cannot shorten"],
      [fixed, 1536, "cannot shorten"],
    ] as const) {
      const err = thrown(() => targetsThatTakeOptions(candidates([limits]), embed(d), "embed"));
      expect(err.code, `${d}`).toBe(Code.InvalidArgument);
      expect(violations(err)).toEqual([["dimensions", "dimensions.model_range"]]);
      expect(err.rawMessage).toMatch(/^dimensions: /);
      expect(err.rawMessage).toContain(`${d} dimensions`);
      expect(err.rawMessage).toContain("p0/m");
      expect(err.rawMessage).toContain(says);
    }
  });

  it("refuses a size that is not a positive whole number whatever the targets", () => {
    for (const d of [0, -3, 1.5]) {
      const err = thrown(() => targetsThatTakeOptions(candidates([undefined]), embed(d), "r"));
      expect(violations(err), `${d}`).toEqual([["dimensions", "dimensions.positive"]]);
    }
  });
});

describe("targetsThatTakeOptions: sampling penalties", () => {
  const penalties = { samplingPenalties: ["frequencyPenalty", "presencePenalty"] } as const;
  const everything = { samplingPenalties: ["frequencyPenalty", "presencePenalty", "logitBias"] } as const;

  it("skips a target that does not declare a penalty the request sets to a non-default value", () => {
    const all = candidates([{}, penalties, everything]);
    expect(targetsThatTakeOptions(all, chatRequest("x", { frequencyPenalty: 0.5 }), "r").map((c) => c.targetIndex)).toEqual([1, 2]);
    expect(targetsThatTakeOptions(all, chatRequest("x", { presencePenalty: -1 }), "r").map((c) => c.targetIndex)).toEqual([1, 2]);
    expect(targetsThatTakeOptions(all, chatRequest("x", { logitBias: { "50256": -100 } }), "r").map((c) => c.targetIndex)).toEqual([2]);
  });

  it("keeps every target for a penalty at its default (0) or an empty logit bias: nothing would change", () => {
    const all = candidates([{}, penalties]);
    const neutral = chatRequest("x", { frequencyPenalty: 0, presencePenalty: 0, logitBias: {} });
    expect(targetsThatTakeOptions(all, neutral, "r").map((c) => c.targetIndex)).toEqual([0, 1]);
  });

  it("refuses with INVALID_ARGUMENT naming the field when no target takes the penalty, instead of dropping it", () => {
    const err = thrown(() => targetsThatTakeOptions(candidates([{}, { maxStopSequences: 4 }]), chatRequest("x", { presencePenalty: 1.5 }), "claude-only"));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violations(err)).toEqual([["presence_penalty", "presence_penalty.provider_unsupported"]]);
    expect(err.rawMessage).toContain('no target of route "claude-only"');
    const bias = thrown(() => targetsThatTakeOptions(candidates([penalties]), chatRequest("x", { logitBias: { "1": 5 } }), "r"));
    expect(violations(bias)).toEqual([["logit_bias", "logit_bias.provider_unsupported"]]);
  });

  it("skips a target whose model takes no penalty or stop though its adapter sends them (OpenAI's reasoning models)", () => {
    const reasoning = (model: string) => (model.startsWith("o") ? { maxStopSequences: 0, samplingPenalties: [] } : undefined);
    const providers = [{ ...everything, forModel: reasoning }, everything];
    const onO3 = candidates([providers[0]!], "o3");
    const onGpt = candidates([providers[0]!], "gpt-4o");
    expect(targetsThatTakeOptions(onGpt, chatRequest("x", { presencePenalty: 1 }), "r")).toHaveLength(1);
    const err = thrown(() => targetsThatTakeOptions(onO3, chatRequest("x", { presencePenalty: 1 }), "reasoner"));
    expect(violations(err)).toEqual([["presence_penalty", "presence_penalty.provider_unsupported"]]);
    expect(err.rawMessage).toContain("o3");
    // Without a penalty set, the reasoning model is kept.
    expect(targetsThatTakeOptions(onO3, chatRequest("x", { presencePenalty: 0 }), "r")).toHaveLength(1);
    // No stop sequence either: refused naming the model, and kept beside a model that takes them.
    const stop = thrown(() => targetsThatTakeOptions(onO3, stops(1), "reasoner"));
    expect(violations(stop)).toEqual([["stop", "stop.provider_max_items"]]);
    expect(stop.rawMessage).toContain("p0/o3");
    const mixed = [...onO3, ...candidates([everything], "gpt-4o").map((c) => ({ ...c, targetIndex: 1 }))];
    expect(targetsThatTakeOptions(mixed, stops(2), "r").map((c) => c.targetIndex)).toEqual([1]);
  });

  it("applies the stop bound and the penalties together", () => {
    const all = candidates([{ maxStopSequences: 4, ...penalties }, {}]);
    const err = thrown(() => targetsThatTakeOptions(all, chatRequest("x", { stop: ["a", "b", "c", "d", "e"], frequencyPenalty: 1 }), "r"));
    expect(violations(err)).toEqual([["frequency_penalty", "frequency_penalty.provider_unsupported"]]);
  });
});
