import {
  emptyUsage,
  type EmbedRequest,
  type EmbedResponse,
  type ModelChunk,
  type ModelRequest,
  type ModelResponse,
  type ModelToolCall,
  type TokenUsage,
} from "../../providers/model.js";
import type { CallContext, Provider, ProviderCapabilities, ProviderLimits } from "../../providers/provider.js";
import { ProviderError, type ProviderErrorKind, type ProviderErrorInit } from "../../providers/provider-error.js";

/**
 * One step of a scripted stream: after `delayMs`, a chunk, a failure, silence until aborted, or a
 * mid-stream usage report (`CallContext.reportUsage`, as Anthropic's `message_start` makes one).
 */
export type StreamEvent = { delayMs?: number } & ({ chunk: ModelChunk } | { fail: ProviderError } | { hang: true } | { report: Partial<TokenUsage> });

/** What the double does on one call. */
export type ScriptStep =
  /** Answers after `delayMs`: text (streams send it as one chunk per part) with usage. */
  | { type: "answer"; text?: string | string[]; delayMs?: number; usage?: Partial<TokenUsage>; toolCalls?: ModelToolCall[] }
  /** Fails after `delayMs` (streams: before the first chunk). */
  | { type: "fail"; error: ProviderError; delayMs?: number }
  /** Never answers; ends only when the call's signal aborts. */
  | { type: "hang" }
  /** Streams exactly these events (unary calls treat it as a failure of the script). */
  | { type: "stream"; events: StreamEvent[] };

/** Which call the script is asked about. */
export interface ScriptCall {
  /** 1-based count of calls to this double. */
  n: number;
  op: "chat" | "chatStream" | "embed";
  model: string;
}

/** What the double saw of one call, for assertions. */
export interface CallLog extends ScriptCall {
  apiKey?: string;
  startedAt: number;
  endedAt?: number;
  /** Whether the call's signal aborted while it was running. */
  aborted: boolean;
  abortedAt?: number;
  /** Chunks handed to the consumer (streams). */
  chunksSent: number;
}

/** Options of {@link createScriptedProvider}. */
export interface ScriptedProviderOptions {
  kind: string;
  capabilities?: Partial<ProviderCapabilities>;
  /** Bounds on request options (default: none). */
  limits?: ProviderLimits;
  /** A list consumed in order (its last step repeats), or a function of the call. */
  script: ScriptStep[] | ((call: ScriptCall) => ScriptStep);
  now?: () => number;
}

/** An in-memory `Provider` driven by a script, which honours the call's signal and logs calls. */
export interface ScriptedProvider extends Provider {
  readonly calls: CallLog[];
}

const ALL: ProviderCapabilities = {
  streaming: true,
  tools: true,
  parallelToolCalls: true,
  jsonSchema: true,
  jsonObject: true,
  embeddings: true,
  vision: true,
};

/** A classified failure for scripts: `fail("rate_limited", { retryAfterMs: 20 })`. */
export function fail(kind: ProviderErrorKind, init: ProviderErrorInit & { delayMs?: number } = {}): ScriptStep {
  const { delayMs, ...rest } = init;
  return { type: "fail", error: new ProviderError(kind, `scripted ${kind}`, rest), ...(delayMs === undefined ? {} : { delayMs }) };
}

/** A successful answer step. */
export function answer(text: string | string[], opts: { delayMs?: number; usage?: Partial<TokenUsage> } = {}): ScriptStep {
  return { type: "answer", text, ...opts };
}

/** A well-formed stream: start, one text chunk per part (each after `gapMs`), finish, usage. */
export function textStream(parts: string[], opts: { firstDelayMs?: number; gapMs?: number; model?: string } = {}): ScriptStep {
  const events: StreamEvent[] = [{ chunk: { type: "start", model: opts.model ?? "scripted" } }];
  parts.forEach((text, i) => events.push({ delayMs: i === 0 ? (opts.firstDelayMs ?? 0) : (opts.gapMs ?? 0), chunk: { type: "text", text } }));
  events.push({ chunk: { type: "finish", reason: "stop" } });
  events.push({ chunk: { type: "usage", usage: { ...emptyUsage(), inputTokens: 10, outputTokens: parts.length } } });
  return { type: "stream", events };
}

function usageOf(step: { usage?: Partial<TokenUsage> }, outputTokens: number): TokenUsage {
  return { ...emptyUsage(), inputTokens: 10, outputTokens, ...step.usage };
}

/** Waits `ms`, or throws `cancelled` as soon as `signal` aborts (`ms` Infinity: until then). */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const aborted = (): void => {
      if (handle !== undefined) clearTimeout(handle);
      reject(new ProviderError("cancelled", "scripted call aborted"));
    };
    if (signal.aborted) return aborted();
    const handle = Number.isFinite(ms)
      ? setTimeout(() => {
          signal.removeEventListener("abort", aborted);
          resolve();
        }, ms)
      : undefined;
    signal.addEventListener("abort", aborted, { once: true });
  });
}

/** Creates a scripted provider double. */
export function createScriptedProvider(opts: ScriptedProviderOptions): ScriptedProvider {
  const now = opts.now ?? Date.now;
  const calls: CallLog[] = [];
  const stepFor = (call: ScriptCall): ScriptStep => {
    if (typeof opts.script === "function") return opts.script(call);
    const step = opts.script[Math.min(call.n, opts.script.length) - 1];
    if (!step) throw new Error("empty script");
    return step;
  };
  const begin = (op: ScriptCall["op"], model: string, ctx: CallContext): { log: CallLog; step: ScriptStep } => {
    const log: CallLog = { n: calls.length + 1, op, model, startedAt: now(), aborted: false, chunksSent: 0 };
    if (ctx.apiKey !== undefined) log.apiKey = ctx.apiKey;
    calls.push(log);
    const onAbort = (): void => {
      if (log.endedAt !== undefined) return;
      log.aborted = true;
      log.abortedAt = now();
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener("abort", onAbort, { once: true });
    return { log, step: stepFor({ n: log.n, op, model }) };
  };
  const unary = async <T>(op: ScriptCall["op"], model: string, ctx: CallContext, ok: (s: Extract<ScriptStep, { type: "answer" }>) => T): Promise<T> => {
    const { log, step } = begin(op, model, ctx);
    try {
      if (step.type === "hang") await wait(Infinity, ctx.signal);
      if (step.type === "stream") throw new Error("a stream step in a unary call");
      await wait(step.type === "hang" ? 0 : (step.delayMs ?? 0), ctx.signal);
      if (step.type === "fail") throw step.error;
      return ok(step as Extract<ScriptStep, { type: "answer" }>);
    } finally {
      log.endedAt = now();
    }
  };

  return {
    kind: opts.kind,
    capabilities: { ...ALL, ...opts.capabilities },
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    calls,
    chat(req: ModelRequest, ctx: CallContext): Promise<ModelResponse> {
      return unary("chat", req.model, ctx, (s) => {
        const text = Array.isArray(s.text) ? s.text.join("") : (s.text ?? "ok");
        return { text, toolCalls: s.toolCalls ?? [], finishReason: "stop", usage: usageOf(s, text.length), model: req.model };
      });
    },
    embed(req: EmbedRequest, ctx: CallContext): Promise<EmbedResponse> {
      return unary("embed", req.model, ctx, (s) => ({
        vectors: req.inputs.map((t) => [t.length, 1]),
        usage: usageOf(s, 0),
        model: req.model,
      }));
    },
    async *chatStream(req: ModelRequest, ctx: CallContext): AsyncGenerator<ModelChunk> {
      const { log, step } = begin("chatStream", req.model, ctx);
      try {
        let events: StreamEvent[];
        if (step.type === "stream") events = step.events;
        else if (step.type === "answer") {
          const parts = Array.isArray(step.text) ? step.text : [step.text ?? "ok"];
          events = (textStream(parts) as Extract<ScriptStep, { type: "stream" }>).events.map((e, i) => (i === 1 ? { ...e, delayMs: step.delayMs ?? 0 } : e));
        } else if (step.type === "fail") events = [{ delayMs: step.delayMs ?? 0, fail: step.error }];
        else events = [{ hang: true }];
        for (const e of events) {
          await wait("hang" in e ? Infinity : (e.delayMs ?? 0), ctx.signal);
          if ("fail" in e) throw e.fail;
          if ("report" in e) ctx.reportUsage?.({ ...emptyUsage(false), ...e.report });
          if ("chunk" in e) {
            log.chunksSent++;
            yield e.chunk;
          }
        }
      } finally {
        log.endedAt = now();
      }
    },
  };
}
