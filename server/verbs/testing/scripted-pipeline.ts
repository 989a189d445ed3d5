import type { AttemptRecord } from "../../dispatch/attempt-record.js";
import type { CacheStatusName, EmbedCall, ModelCall, ModelPipeline, ModelStream } from "../../pipeline/model-call.js";
import { emptyUsage, type ModelChunk, type ModelFinishReason, type ModelToolCall, type TokenUsage } from "../../providers/model.js";

/** What the billing side of a scripted call reports. */
export interface ScriptedBilling {
  /** Default: 10 input, 5 output tokens. */
  usage?: Partial<TokenUsage>;
  /** Default 0. */
  costMicrosUsd?: bigint;
  /** Default `scripted`. */
  provider?: string;
  /** Default `scripted-model`. */
  model?: string;
  /** Failed attempts on other targets before the answering one (fallbacks; default 0). */
  failedAttempts?: number;
  /** Default `miss`. */
  cacheStatus?: CacheStatusName;
}

/** How the scripted pipeline answers one call. */
export type ScriptedStep =
  /** A complete chat answer (`chat`), or the same streamed as one text chunk (`chatStream`). */
  | ({ type: "answer"; text?: string; toolCalls?: ModelToolCall[]; finishReason?: ModelFinishReason } & ScriptedBilling)
  /** The call throws `error` (streams: from the first `next()`). */
  | { type: "fail"; error: unknown }
  /** Streams exactly these events; a `throw` ends the stream with that error. */
  | ({ type: "stream"; events: ({ chunk: ModelChunk } | { throw: unknown })[] } & ScriptedBilling)
  /** An embeddings answer. */
  | ({ type: "embed"; vectors: number[][] } & ScriptedBilling);

/** One call the pipeline received. */
export type RecordedCall = { op: "chat" | "chatStream"; call: ModelCall } | { op: "embed"; call: EmbedCall };

/** Decides the step for a call: a queue consumed in order, or a function of the call. */
export type Script = ScriptedStep[] | ((call: ModelCall | EmbedCall, n: number) => ScriptedStep | Promise<ScriptedStep>);

/** A fake `ModelPipeline` for verb tests: records every call and answers from a script. */
export interface ScriptedPipeline extends ModelPipeline {
  /** Every call received, in order of arrival. */
  readonly calls: RecordedCall[];
  /** The chat calls (`chat` and `chatStream`) received. */
  chatCalls(): ModelCall[];
}

function usageOf(b: ScriptedBilling): TokenUsage {
  return { ...emptyUsage(), inputTokens: 10, outputTokens: 5, ...b.usage };
}

function attemptsOf(b: ScriptedBilling, usage: TokenUsage): AttemptRecord[] {
  const provider = b.provider ?? "scripted";
  const model = b.model ?? "scripted-model";
  const failed = b.failedAttempts ?? 0;
  const records: AttemptRecord[] = [];
  for (let i = 0; i < failed; i++) {
    records.push({ index: i + 1, targetIndex: i, provider, model, outcome: "unavailable", latencyMs: 1, usage: emptyUsage(), hedged: false, httpStatus: 503 });
  }
  records.push({ index: failed + 1, targetIndex: failed, provider, model, outcome: "success", latencyMs: 1, usage, hedged: false });
  return records;
}

function billed(b: ScriptedBilling, usage: TokenUsage) {
  return {
    provider: b.provider ?? "scripted",
    model: b.model ?? "scripted-model",
    attempts: attemptsOf(b, usage),
    costMicrosUsd: b.costMicrosUsd ?? 0n,
    cacheStatus: b.cacheStatus ?? ("miss" as const),
  };
}

function unexpected(step: ScriptedStep, op: string): Error {
  return new Error(`scripted pipeline: a "${step.type}" step cannot answer ${op}`);
}

/** Creates a scripted pipeline. An exhausted queue fails the call with a descriptive error. */
export function createScriptedPipeline(script: Script): ScriptedPipeline {
  const calls: RecordedCall[] = [];
  const queue = Array.isArray(script) ? [...script] : undefined;
  const next = async (call: ModelCall | EmbedCall): Promise<ScriptedStep> => {
    if (typeof script === "function") return script(call, calls.length);
    const step = queue?.shift();
    if (step === undefined) throw new Error(`scripted pipeline: no step left for call ${calls.length}`);
    return step;
  };

  async function* streamOf(step: ScriptedStep, done: (r: Awaited<ReturnType<ModelStream["result"]>>) => void): AsyncGenerator<ModelChunk> {
    if (step.type === "fail") {
      done({ ...billed({}, emptyUsage()), attempts: [] });
      throw step.error;
    }
    if (step.type === "embed") throw unexpected(step, "chatStream");
    const usage = usageOf(step);
    const events = step.type === "stream" ? step.events : [
      { chunk: { type: "start", model: step.model ?? "scripted-model" } as ModelChunk },
      ...(step.text ? [{ chunk: { type: "text", text: step.text } as ModelChunk }] : []),
      { chunk: { type: "finish", reason: step.finishReason ?? "stop" } as ModelChunk },
      { chunk: { type: "usage", usage } as ModelChunk },
    ];
    try {
      for (const e of events) {
        if ("throw" in e) throw e.throw;
        yield e.chunk;
      }
    } finally {
      done(billed(step, usage));
    }
  }

  return {
    calls,
    chatCalls: () => calls.flatMap((c) => (c.op === "embed" ? [] : [c.call])),
    async chat(call) {
      calls.push({ op: "chat", call });
      const step = await next(call);
      if (step.type === "fail") throw step.error;
      if (step.type !== "answer") throw unexpected(step, "chat");
      const usage = usageOf(step);
      return {
        response: { text: step.text ?? "", toolCalls: step.toolCalls ?? [], finishReason: step.finishReason ?? "stop", usage, model: step.model ?? "scripted-model" },
        ...billed(step, usage),
      };
    },
    chatStream(call) {
      calls.push({ op: "chatStream", call });
      let resolve!: (r: Awaited<ReturnType<ModelStream["result"]>>) => void;
      const result = new Promise<Awaited<ReturnType<ModelStream["result"]>>>((r) => (resolve = r));
      const chunks = (async function* () {
        yield* streamOf(await next(call), resolve);
      })();
      return { chunks, result: () => result };
    },
    async embed(call) {
      calls.push({ op: "embed", call });
      const step = await next(call);
      if (step.type === "fail") throw step.error;
      if (step.type !== "embed") throw unexpected(step, "embed");
      const usage = usageOf(step);
      return { response: { vectors: step.vectors, usage, model: step.model ?? "scripted-model" }, ...billed(step, usage) };
    },
  };
}

/** The text of every message of a call, joined (for assertions on prompts). */
export function promptText(call: ModelCall): string {
  return call.request.messages.map((m) => m.content.map((p) => (p.type === "text" ? p.text : "")).join("")).join("\n");
}
