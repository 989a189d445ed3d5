import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { callSafely } from "../../after-call.js";
import { kCallSummary } from "../../interceptors/context-keys.js";
import { callSummaryOf, type StreamFacts } from "../../observability/call-summary.js";
import {
  CapabilityService,
  ChatStreamResponseSchema,
  EmbeddingInputType,
  SummaryStyle,
  TruncationReason,
  type ChatRequest,
  type ChatStreamRequest,
  type ChatStreamResponse,
} from "../../../gen/ts/switchboard/v1/capability_service_pb.js";
import type { ModelPipeline, VerbName } from "../../pipeline/model-call.js";
import type { EmbedInputType } from "../../providers/model.js";
import { createAnswerVerb } from "../../verbs/answer-verb.js";
import type { ChatInput } from "../../verbs/chat-request.js";
import { createChatStreamVerb, type ChatStreamEvent } from "../../verbs/chat-stream-verb.js";
import { createChatVerb } from "../../verbs/chat-verb.js";
import { createClassifyVerb } from "../../verbs/classify-verb.js";
import { createEmbedVerb } from "../../verbs/embed-verb.js";
import { createExtractVerb } from "../../verbs/extract-verb.js";
import { createSummarizeVerb, type SummaryStyle as VerbSummaryStyle } from "../../verbs/summarize-verb.js";
import type { VerbUsage } from "../../verbs/verb-usage.js";
import { callerOf } from "../caller.js";
import { finishReasonToProto, messagesFromProto, messageToProto, responseFormatFromProto, structToJson, toolChoiceFromProto, toolsFromProto } from "./chat-mapping.js";
import { CACHE_STATUS, usageToProto } from "./usage-to-proto.js";
import type { TemplateResolver } from "../../verbs/templates/template-resolver.js";
import type { VerbContext } from "../../verbs/verb-context.js";
import { verbContextOf, type RouteCapabilities, type VerbContextDefaults } from "./verb-context-of.js";

/** Dependencies of {@link createCapabilityService}. */
export interface CapabilityServiceDeps {
  /** The composed model pipeline (server.ts). */
  pipeline: ModelPipeline;
  /** What a route's targets can do, for the caller's org; undefined for an unknown route. */
  capabilities: RouteCapabilities;
  /** Route and deadline defaults; Embed uses `embedRoute`. */
  defaults: VerbContextDefaults & { embedRoute: string };
  /** Picks each call's prompt template (pinned, attached or built-in). */
  templates: TemplateResolver;
}

const STYLES: Record<number, VerbSummaryStyle> = {
  [SummaryStyle.UNSPECIFIED]: "paragraph",
  [SummaryStyle.PARAGRAPH]: "paragraph",
  [SummaryStyle.BULLETS]: "bullets",
  [SummaryStyle.HEADLINE]: "headline",
};
const TRUNCATION_REASONS: Record<Extract<ChatStreamEvent, { type: "truncated" }>["reason"], TruncationReason> = {
  deadline: TruncationReason.DEADLINE,
  idle_timeout: TruncationReason.IDLE_TIMEOUT,
  guardrail: TruncationReason.GUARDRAIL,
};
const INPUT_TYPES: Record<number, EmbedInputType | undefined> = {
  [EmbeddingInputType.DOCUMENT]: "document",
  [EmbeddingInputType.QUERY]: "query",
};

/**
 * CapabilityService: maps each verb's RPC to its domain verb and back. Policy lives in the verbs
 * and the model pipeline; this file only translates and attaches the summed `Usage`.
 */
export function createCapabilityService(deps: CapabilityServiceDeps): ServiceImpl<typeof CapabilityService> {
  const verbs = {
    summarize: createSummarizeVerb({ pipeline: deps.pipeline }),
    classify: createClassifyVerb({ pipeline: deps.pipeline }),
    extract: createExtractVerb({ pipeline: deps.pipeline }),
    answer: createAnswerVerb({ pipeline: deps.pipeline }),
    chat: createChatVerb({ pipeline: deps.pipeline }),
    chatStream: createChatStreamVerb({ pipeline: deps.pipeline }),
    embed: createEmbedVerb({ pipeline: deps.pipeline }),
  };
  const contextFor = (verb: VerbName, options: Parameters<typeof verbContextOf>[0], ctx: HandlerContext, route?: string) =>
    verbContextOf(options, ctx, callerOf(ctx), deps.capabilities, route === undefined ? deps.defaults : { ...deps.defaults, route }, {
      verb,
      resolver: deps.templates,
    });
  // Every response's Usage; it is also the RPC's call summary for the access log and metrics.
  const usage = (u: VerbUsage, vctx: VerbContext, ctx: HandlerContext, stream?: StreamFacts) => {
    ctx.values.set(kCallSummary, callSummaryOf(vctx.route, u, stream));
    return usageToProto(u, vctx.requestId, vctx.route);
  };

  return {
    async summarize(req, ctx) {
      const vctx = await contextFor("summarize", req.options, ctx);
      const out = await verbs.summarize(
        { text: req.text, style: STYLES[req.style] ?? "paragraph", maxWords: req.maxWords, bulletCount: req.bulletCount, focus: req.focus, language: req.language },
        vctx,
      );
      return { summary: out.summary, bullets: out.bullets, chunks: out.chunks, usage: usage(out.usage, vctx, ctx) };
    },
    async classify(req, ctx) {
      const vctx = await contextFor("classify", req.options, ctx);
      const out = await verbs.classify(
        { text: req.text, labels: req.labels.map((l) => ({ name: l.name, ...(l.description ? { description: l.description } : {}) })), multiLabel: req.multiLabel, instructions: req.instructions },
        vctx,
      );
      return { labels: out.labels, usage: usage(out.usage, vctx, ctx) };
    },
    async extract(req, ctx) {
      const vctx = await contextFor("extract", req.options, ctx);
      const out = await verbs.extract({ text: req.text, jsonSchema: structToJson(req.jsonSchema) ?? {}, instructions: req.instructions }, vctx);
      return { data: out.data, json: out.json, repaired: out.repaired, usage: usage(out.usage, vctx, ctx) };
    },
    async answer(req, ctx) {
      const vctx = await contextFor("answer", req.options, ctx);
      const out = await verbs.answer(
        {
          question: req.question,
          sources: req.sources.map((s) => ({ id: s.id, text: s.text, ...(s.title ? { title: s.title } : {}), ...(s.url ? { url: s.url } : {}) })),
          requireCitations: req.requireCitations,
          instructions: req.instructions,
        },
        vctx,
      );
      const cite = (c: { sourceId: string; quote: string; start?: number; end?: number }) => ({ sourceId: c.sourceId, quote: c.quote, start: c.start ?? 0, end: c.end ?? 0 });
      return { answer: out.answer, answerable: out.answerable, citations: out.citations.map(cite), droppedCitations: out.droppedCitations.map(cite), usage: usage(out.usage, vctx, ctx) };
    },
    // Chat, the one verb a call usually is, chains promises rather than awaiting in an `async`
    // frame: no suspended frame per call in flight (`afterCall`).
    chat: (req, ctx) =>
      callSafely(() => contextFor("chat", req.options, ctx)).then((vctx) =>
        verbs.chat(chatInput(req), vctx).then((out) => ({ message: messageToProto(out.message), finishReason: finishReasonToProto(out.finishReason), usage: usage(out.usage, vctx, ctx) })),
      ),
    async *chatStream(req, ctx): AsyncGenerator<ChatStreamResponse> {
      const vctx = await contextFor("chat", req.options, ctx);
      let firstTokenAt: number | undefined;
      const facts = (terminal: string): StreamFacts => ({ terminal, ...(firstTokenAt === undefined ? {} : { firstTokenAt }) });
      for await (const e of verbs.chatStream(chatInput(req), vctx)) {
        switch (e.type) {
          case "started":
            yield create(ChatStreamResponseSchema, { event: { case: "started", value: { requestId: e.requestId, provider: e.provider, model: e.model, cacheStatus: CACHE_STATUS[e.cacheStatus] } } });
            break;
          case "text":
            firstTokenAt ??= performance.now();
            yield create(ChatStreamResponseSchema, { event: { case: "delta", value: { text: e.text } } });
            break;
          case "tool_call":
            firstTokenAt ??= performance.now();
            yield create(ChatStreamResponseSchema, {
              event: { case: "toolCallDelta", value: { index: e.index, id: e.id ?? "", name: e.name ?? "", argumentsDelta: e.argumentsDelta } },
            });
            break;
          case "completed":
            yield create(ChatStreamResponseSchema, {
              event: { case: "completed", value: { finishReason: finishReasonToProto(e.finishReason), usage: usage(e.usage, vctx, ctx, facts(e.type)) } },
            });
            break;
          case "truncated":
            yield create(ChatStreamResponseSchema, {
              event: {
                case: "truncated",
                value: {
                  reason: TRUNCATION_REASONS[e.reason],
                  usage: usage(e.usage, vctx, ctx, facts(e.type)),
                  ...(e.guardrail ? { guardrail: e.guardrail } : {}),
                },
              },
            });
            break;
          case "upstream_error":
            yield create(ChatStreamResponseSchema, { event: { case: "upstreamError", value: { code: e.code, message: e.message, usage: usage(e.usage, vctx, ctx, facts(e.type)) } } });
            break;
          case "budget_exhausted":
            yield create(ChatStreamResponseSchema, {
              event: { case: "budgetExhausted", value: { usage: usage(e.usage, vctx, ctx, facts(e.type)), ...(e.budget ? { budget: e.budget } : {}) } },
            });
            break;
        }
      }
    },
    async embed(req, ctx) {
      const vctx = await contextFor("embed", req.options, ctx, req.options?.route || deps.defaults.embedRoute);
      const inputType = INPUT_TYPES[req.inputType];
      const out = await verbs.embed({ inputs: req.inputs, ...(req.dimensions > 0 ? { dimensions: req.dimensions } : {}), ...(inputType ? { inputType } : {}) }, vctx);
      return {
        embeddings: out.vectors.map((values, index) => ({ index, values })),
        dimensions: out.dimensions,
        usage: usage({ ...out.usage, model: out.usage.model || out.model }, vctx, ctx),
      };
    },
  };
}

function chatInput(req: ChatRequest | ChatStreamRequest): ChatInput {
  const toolChoice = toolChoiceFromProto(req.toolChoice);
  const responseFormat = responseFormatFromProto(req.responseFormat);
  return {
    messages: messagesFromProto(req.messages),
    ...(req.tools.length > 0 ? { tools: toolsFromProto(req.tools) } : {}),
    ...(toolChoice ? { toolChoice } : {}),
    ...(responseFormat ? { responseFormat } : {}),
    ...(req.topP === undefined ? {} : { topP: req.topP }),
    ...(req.stop.length > 0 ? { stop: [...req.stop] } : {}),
    ...(req.seed === undefined ? {} : { seed: Number(req.seed) }),
    ...(req.parallelToolCalls === undefined ? {} : { parallelToolCalls: req.parallelToolCalls }),
    ...(req.frequencyPenalty === undefined ? {} : { frequencyPenalty: req.frequencyPenalty }),
    ...(req.presencePenalty === undefined ? {} : { presencePenalty: req.presencePenalty }),
  };
}
