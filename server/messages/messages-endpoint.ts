import { estimateInputTokens } from "../limits/call-estimate.js";
import { callSummaryOf, type CallSummary } from "../observability/call-summary.js";
import type { Logger } from "../observability/logger.js";
import type { ModelCall, ModelPipeline, ModelStream } from "../pipeline/model-call.js";
import type { JsonObject, ModelRequest } from "../providers/model.js";
import type { RateStanding } from "../limits/rate-standing.js";
import { chatCallUsage, sumUsage } from "../verbs/verb-usage.js";
import type { StreamEnd } from "../openai/chat-stream.js";
import { sendJson } from "../openai/http-io.js";
import { rateLimitHeaders } from "../openai/rate-limit-headers.js";
import { usageHeaders } from "../openai/usage-headers.js";
import { parseMessagesRequest } from "./messages-request.js";
import { messageOf } from "./messages-response.js";
import { writeMessagesStream } from "./messages-stream.js";
import type { HttpRequest, HttpResponse } from "../openai/http-io.js";

/** What a Messages endpoint is given of an authenticated exchange of the `/v1/` front door. */
export interface MessagesExchange {
  req: HttpRequest;
  res: HttpResponse;
  requestId: string;
  /** Set by the endpoint: the verb and what the call consumed, for the access-log line. */
  verb?: string;
  summary?: CallSummary;
}

/** What the front door shares with the Messages endpoints: the same steps its chat completions take. */
export interface MessagesEndpointDeps<X extends MessagesExchange> {
  pipeline: Pick<ModelPipeline, "chat" | "chatStream">;
  /** Reads the body as one JSON object (the front door's limits, deadline and errors). */
  readBody(x: X): Promise<JsonObject>;
  /** Refuses a route the caller may not use or that does not exist (403, 404), audited as on chat completions. */
  checkRoute(x: X, alias: string): void;
  /**
   * The model call of a chat request on `route`, as chat completions make it: the route checked,
   * the attached or pinned template, the tags, cache mode and end user, the verb context.
   */
  chatCall(x: X, route: string, request: ModelRequest, body: { user?: string }): Promise<{ call: ModelCall; rateStanding: RateStanding }>;
  /** The call summary of a stream once it ended (`streamSummary` of the front door). */
  streamSummary(x: X, route: string, stream: ModelStream, end: StreamEnd): Promise<CallSummary>;
  logger: Logger;
  now: () => number;
  writeStallMs?: number;
}

/**
 * `POST /v1/messages` and `POST /v1/messages/count_tokens`: Anthropic's Messages API on the
 * gateway's pipeline. The body's `model` is a route alias, as on the OpenAI surface; the call is
 * the one chat completions make (`chatCall`), so rate limits, budgets, the cache, guardrails,
 * templates, dispatch and the usage ledger treat it exactly alike, whatever provider the route's
 * targets are. `count_tokens` answers the gateway's own estimate (`estimateInputTokens`, what
 * rate limits and budgets reserve with): no provider is called and nothing is billed.
 */
export function createMessagesEndpoints<X extends MessagesExchange>(deps: MessagesEndpointDeps<X>): { messages: (x: X) => Promise<StreamEnd | void>; countTokens: (x: X) => Promise<void> } {
  const idHeaders = (x: X, route: string) => ({ "request-id": x.requestId, "x-request-id": x.requestId, "x-switchboard-route": route });

  const messages = async (x: X): Promise<StreamEnd | void> => {
    const parsed = parseMessagesRequest(await deps.readBody(x));
    const { call, rateStanding } = await deps.chatCall(x, parsed.route, parsed.request, parsed);
    const headers = idHeaders(x, parsed.route);
    if (!parsed.stream) {
      x.verb = "chat";
      const result = await deps.pipeline.chat(call);
      x.summary = callSummaryOf(parsed.route, sumUsage([chatCallUsage(result)]));
      sendJson(x.res, 200, messageOf(result), { ...headers, ...usageHeaders(result), ...rateLimitHeaders(rateStanding) });
      return;
    }
    x.verb = "chat_stream";
    const stream = deps.pipeline.chatStream(call);
    const end = await writeMessagesStream({
      res: x.res,
      stream,
      route: parsed.route,
      headers,
      rateStanding,
      now: deps.now,
      onUnexpected: (err) => deps.logger.error({ err, requestId: x.requestId }, "messages surface: unhandled error mid-stream"),
      ...(deps.writeStallMs === undefined ? {} : { writeStallMs: deps.writeStallMs }),
    });
    x.summary = await deps.streamSummary(x, parsed.route, stream, end);
    return end;
  };

  const countTokens = async (x: X): Promise<void> => {
    // `max_tokens` is not part of a count request: a placeholder (above any thinking budget)
    // satisfies the parser's rule.
    const body = await deps.readBody(x);
    const parsed = parseMessagesRequest({ max_tokens: Number.MAX_SAFE_INTEGER, ...body, stream: false });
    deps.checkRoute(x, parsed.route);
    sendJson(x.res, 200, { input_tokens: estimateInputTokens(parsed.request) }, idHeaders(x, parsed.route));
  };

  return { messages, countTokens };
}
