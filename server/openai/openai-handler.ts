import { Code, ConnectError } from "@connectrpc/connect";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { refusedRoute } from "../auth/access-denial.js";
import { noReachableTarget, reachesSomeTarget } from "../auth/allowed-models.js";
import { UNAUTHENTICATED_MESSAGE, type Authenticator } from "../auth/authenticator.js";
import { clientAddressOf } from "../auth/client-address.js";
import type { Principal } from "../auth/principal.js";
import { scopeName } from "../auth/scopes.js";
import { answerAttempts } from "../dispatch/attempt-record.js";
import { ROUTE_ALIAS, ROUTE_ALIAS_RULE } from "../dispatch/route-spec.js";
import { responseGone } from "../http/write-backpressure.js";
import { bearerToken } from "../interceptors/auth.js";
import { codeName } from "../interceptors/telemetry.js";
import type { AuditLog } from "../audit/audit-log.js";
import { accessLogFields } from "../observability/access-log.js";
import { writeAccessLine } from "../observability/access-line.js";
import { callSummaryOf, type CallSummary } from "../observability/call-summary.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { ModelPipeline, ModelStream } from "../pipeline/model-call.js";
import { emptyUsage } from "../providers/model.js";
import { recordAfterThisTurn } from "../runtime/after-this-turn.js";
import { buildChatCall } from "../verbs/chat-request.js";
import { failureTerminal } from "../verbs/chat-stream-events.js";
import type { PromptTemplateVersion } from "../verbs/templates/prompt-template.js";
import type { TemplateRequest, TemplateResolver } from "../verbs/templates/template-resolver.js";
import { callMetaFor } from "../verbs/verb-context.js";
import { chatCallUsage, embedCallUsage, sumUsage } from "../verbs/verb-usage.js";
import { createAccessAudit } from "./access-audit.js";
import { headerValue, requestIdOf, templatePinOf, timeoutOf, verbContextFor, type SurfaceCall } from "./call-meta.js";
import { parseChatCompletionRequest } from "./chat-request.js";
import { chatCompletionOf } from "./chat-response.js";
import { writeChatCompletionStream, type StreamEnd } from "./chat-stream.js";
import { embeddingsResponseOf, parseEmbeddingsRequest } from "./embeddings.js";
import { openAIErrorOf } from "./error-mapping.js";
import { anthropicErrorOf } from "../messages/messages-errors.js";
import { createMessagesEndpoints } from "../messages/messages-endpoint.js";
import type { ModelRequest } from "../providers/model.js";
import { isBodyTimeout, readJsonBody, sendJson, type HttpRequest, type HttpResponse } from "./http-io.js";
import { mayUseRoute, modelListOf, modelObjectOf, type ListRoutes } from "./models.js";
import { OpenAIRequestError } from "./openai-request-error.js";
import { rateLimitHeaders } from "./rate-limit-headers.js";
import { usageHeaders } from "./usage-headers.js";

/** Dependencies of {@link createOpenAIHandler}. */
export interface OpenAIHandlerDeps {
  /** The same authenticator instance the Connect auth interceptor uses (one key cache per replica). */
  authenticator: Pick<Authenticator, "authenticate">;
  /** The composed model pipeline (server.ts): the same one the verbs call. */
  pipeline: ModelPipeline;
  /**
   * The models of route `alias`'s targets for callers of `orgId` (the resolver's snapshot), which a
   * key's allowed_models is checked against; undefined: no such route.
   */
  routeModels(alias: string, orgId: string): readonly string[] | undefined;
  /** The aliases callers of an org see (for `/v1/models`). */
  listRoutes: ListRoutes;
  /** Picks the Chat template attached to the caller or route, as for the Chat verb; absent: none. */
  templates?: Pick<TemplateResolver, "resolve">;
  logger: Logger;
  /** Where authentication failures and access denials are recorded (the Connect surface's audit log); absent: nowhere. */
  audit?: Pick<AuditLog, "appendLater">;
  /** The RPC series (`service="openai"`, `method` the endpoint: `POST /v1/chat/completions`, …); absent: none. */
  metrics?: Pick<Metrics, "rpcEnded">;
  /** Epoch ms for deadlines, `created` and retry delays (default `Date.now`, as dispatch uses). */
  now?: () => number;
}

/** Options of {@link createOpenAIHandler}. */
export interface OpenAIHandlerOptions {
  /** Largest request body, in bytes (the server's `maxRequestBytes`); larger ones get 413. */
  maxRequestBytes: number;
  /** Deadline of a call whose caller set none (default 120 000 ms, as for the verbs). */
  defaultTimeoutMs?: number;
  /** How long a stream's write may wait for the caller to read (the server's `writeStallTimeoutMs`). */
  writeStallMs?: number;
}

/** A handler for requests under `/v1/`. */
export type OpenAIHandler = (req: HttpRequest, res: HttpResponse) => void;

/** What an endpoint gets: the authenticated request. */
interface Exchange {
  req: HttpRequest;
  res: HttpResponse;
  principal: Principal;
  requestId: string;
  /** `METHOD /path`: the access log's procedure and the audit log's action. */
  action: string;
  /** Aborted when the caller goes away before the answer is complete. */
  signal: AbortSignal;
  deadline: number;
  /** For `GET /v1/models/{id}`. */
  pathParam?: string;
  /** Set by a model endpoint: the verb and what the call consumed, for the access-log line. */
  verb?: string;
  summary?: CallSummary;
}

/** An endpoint answers and returns; a failure after the answer began (mid-stream) is returned for the log. */
type Endpoint = (x: Exchange) => Promise<StreamEnd | void>;

/** The parts of an exchange every model call takes. */
function surfaceCall(x: Exchange, route: string, body: { metadata?: Readonly<Record<string, string>>; user?: string } = {}): SurfaceCall {
  return {
    route,
    requestId: x.requestId,
    signal: x.signal,
    deadline: x.deadline,
    principal: x.principal,
    headers: x.req.headers,
    rateStanding: {},
    ...(body.metadata === undefined ? {} : { metadata: body.metadata }),
    ...(body.user === undefined ? {} : { endUser: body.user }),
  };
}

/**
 * The OpenAI-compatible front door on plain `node:http` (HTTP/1.1, or h2c through the compat
 * API): `POST /v1/chat/completions` (unary and SSE), `POST /v1/embeddings`, `GET /v1/models` and
 * `GET /v1/models/{model}`. It is a second door to the same gateway, not a proxy in front of it:
 * the bearer key goes through the shared {@link Authenticator} and must hold `SCOPE_INVOKE`;
 * `model` names a route alias, checked against the key's allowed routes (403) and the org's
 * routes (404); the call goes straight into the composed model pipeline (rate limits, budgets,
 * cache, guardrails, dispatch) with a `CallMeta` built as `call-meta.ts` documents. Every failure
 * leaves through `error-mapping.ts`; every request writes one access-log line; authentication
 * failures and access denials are also audited (`access-audit.ts`), as on the Connect surface.
 *
 * The same door serves Anthropic's Messages API (`POST /v1/messages`, `/v1/messages/count_tokens`;
 * `server/messages/`) on the same steps — authentication (`x-api-key` too), route checks, the chat
 * call, the access-log line — with Anthropic's wire format and errors (the path's `Dialect`).
 */
export function createOpenAIHandler(deps: OpenAIHandlerDeps, opts: OpenAIHandlerOptions): OpenAIHandler {
  const clock = { now: deps.now ?? Date.now };
  const defaultTimeoutMs = opts.defaultTimeoutMs ?? 120_000;
  const auditAccess = createAccessAudit(deps.audit);

  /** Whether `principal`'s allowed_models reach at least one of route `alias`'s targets (`/v1/models`). */
  const reaches = (principal: Principal, alias: string): boolean => reachesSomeTarget(principal, deps.routeModels(alias, principal.orgId));

  const checkRoute = (x: Exchange, alias: string) => {
    const { principal } = x;
    // A `model` that cannot be an alias names no route, whatever the key may use: not an access
    // decision to audit, and not quoted whole (only the body limit bounds it; a Connect caller's
    // alias is capped at 63 characters by validation).
    if (!ROUTE_ALIAS.test(alias)) {
      const shown = alias.length > 64 ? `${alias.slice(0, 64)}… (${alias.length} characters)` : alias;
      throw new OpenAIRequestError(`\`model\` "${shown}" cannot name a route: ${ROUTE_ALIAS_RULE} (GET /v1/models lists them)`, Code.NotFound, {
        param: "model",
        errorCode: "model_not_found",
      });
    }
    if (!mayUseRoute(principal, alias)) {
      const err = new OpenAIRequestError(`the calling key may not use route "${alias}"`, Code.PermissionDenied, { param: "model", errorCode: "model_not_allowed" });
      auditAccess(x.req, { action: x.action, requestId: x.requestId, principal, request: refusedRoute(alias) }, err);
      throw err;
    }
    const models = deps.routeModels(alias, principal.orgId);
    if (models === undefined) {
      throw new OpenAIRequestError(`route "${alias}" is not defined: \`model\` must name a route alias (GET /v1/models lists them)`, Code.NotFound, {
        param: "model",
        errorCode: "model_not_found",
      });
    }
    // Refused before the pipeline: no budget reservation, no provider call.
    if (!reachesSomeTarget(principal, models)) {
      const err = new OpenAIRequestError(noReachableTarget(alias, principal.allowedModels).rawMessage, Code.PermissionDenied, { param: "model", errorCode: "model_not_allowed" });
      auditAccess(x.req, { action: x.action, requestId: x.requestId, principal, request: refusedRoute(alias) }, err);
      throw err;
    }
  };

  const readBody = (x: Exchange) => readJsonBody(x.req, opts.maxRequestBytes, x.deadline, clock.now);

  /**
   * The model call of a chat request on `route` (chat completions, Anthropic's messages): the
   * route checked, the attached or pinned template resolved, the verb context built from the
   * exchange and `body`'s metadata and end user.
   */
  const chatCall = async (x: Exchange, route: string, request: ModelRequest, body: { metadata?: Readonly<Record<string, string>>; user?: string }) => {
    checkRoute(x, route);
    const { model: _model, messages, maxOutputTokens, temperature, reasoningEffort, ...controls } = request;
    const pinned = templatePinOf(headerValue(x.req.headers, "x-switchboard-template"));
    const template = await resolveTemplate({ verb: "chat", caller: { orgId: x.principal.orgId, keyName: x.principal.keyName }, route, ...(pinned ? { pinned } : {}) });
    const ctx = verbContextFor({
      ...surfaceCall(x, route, body),
      ...(template === undefined ? {} : { template }),
      generation: {
        ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
        ...(temperature === undefined ? {} : { temperature }),
        ...(reasoningEffort === undefined ? {} : { reasoningEffort }),
      },
    });
    // The Chat verb's own mapping: an attached template goes before the conversation, and every
    // message of the request is user content.
    return { call: buildChatCall({ messages, ...controls }, ctx), ctx, rateStanding: ctx.rateStanding };
  };

  const chatCompletions: Endpoint = async (x) => {
    const parsed = parseChatCompletionRequest(await readBody(x));
    const { call, ctx } = await chatCall(x, parsed.route, parsed.request, parsed);
    const headers = { "x-request-id": x.requestId, "x-switchboard-route": parsed.route };
    if (!parsed.stream) {
      x.verb = "chat";
      const result = await deps.pipeline.chat(call);
      x.summary = callSummaryOf(parsed.route, sumUsage([chatCallUsage(result)]));
      sendJson(x.res, 200, chatCompletionOf(result, Math.floor(clock.now() / 1000)), { ...headers, ...usageHeaders(result), ...rateLimitHeaders(ctx.rateStanding) });
      return;
    }
    x.verb = "chat_stream";
    const stream = deps.pipeline.chatStream(call);
    const end = await writeChatCompletionStream({
      res: x.res,
      stream,
      route: parsed.route,
      includeUsage: parsed.includeUsage,
      headers,
      rateStanding: ctx.rateStanding,
      now: () => clock.now(),
      onUnexpected: (err) => deps.logger.error({ err, requestId: x.requestId }, "openai surface: unhandled error mid-stream"),
      ...(opts.writeStallMs === undefined ? {} : { writeStallMs: opts.writeStallMs }),
    });
    x.summary = await streamSummary(parsed.route, stream, end, clock.now() >= x.deadline);
    return end;
  };

  /** The resolver's answer; its refusal of a pinned template names the header, not `options.prompt`. */
  const resolveTemplate = async (request: TemplateRequest): Promise<PromptTemplateVersion | undefined> => {
    try {
      return await deps.templates?.resolve(request);
    } catch (err) {
      if (request.pinned === undefined || !(err instanceof ConnectError) || err.code !== Code.InvalidArgument) throw err;
      throw new OpenAIRequestError(`header x-switchboard-template: ${err.rawMessage.replace(/^options\.prompt: /, "")}`, Code.InvalidArgument, { param: "x-switchboard-template" });
    }
  };

  const embeddings: Endpoint = async (x) => {
    const parsed = parseEmbeddingsRequest(await readBody(x));
    checkRoute(x, parsed.route);
    if (templatePinOf(headerValue(x.req.headers, "x-switchboard-template")) !== undefined) {
      throw new OpenAIRequestError("header x-switchboard-template: embeddings render no prompt template", Code.InvalidArgument, { param: "x-switchboard-template" });
    }
    const ctx = verbContextFor(surfaceCall(x, parsed.route, parsed));
    const meta = callMetaFor(ctx, "embed", undefined, undefined);
    x.verb = "embed";
    const result = await deps.pipeline.embed({ meta, request: parsed.request });
    x.summary = callSummaryOf(parsed.route, sumUsage([embedCallUsage(result)]));
    if (result.response.vectors.length !== parsed.request.inputs.length) {
      throw new Error(`embeddings call returned ${result.response.vectors.length} vectors for ${parsed.request.inputs.length} inputs`);
    }
    sendJson(x.res, 200, embeddingsResponseOf(result, parsed.encoding), { "x-request-id": x.requestId, "x-switchboard-route": parsed.route, ...usageHeaders(result), ...rateLimitHeaders(ctx.rateStanding) });
  };

  const listModels: Endpoint = async (x) => {
    sendJson(x.res, 200, modelListOf(await deps.listRoutes(x.principal.orgId), x.principal, (alias) => reaches(x.principal, alias)), { "x-request-id": x.requestId });
  };

  const retrieveModel: Endpoint = async (x) => {
    const id = x.pathParam ?? "";
    const route = (await deps.listRoutes(x.principal.orgId)).find((r) => r.alias === id);
    if (route === undefined || !mayUseRoute(x.principal, id) || !reaches(x.principal, id)) {
      throw new OpenAIRequestError(`The model '${id}' does not exist or you do not have access to it.`, Code.NotFound, { param: "model", errorCode: "model_not_found" });
    }
    sendJson(x.res, 200, modelObjectOf(route), { "x-request-id": x.requestId });
  };

  // Anthropic's Messages API, on the same steps as chat completions.
  const anthropic = createMessagesEndpoints<Exchange>({
    pipeline: deps.pipeline,
    readBody,
    checkRoute,
    chatCall,
    streamSummary: (x, route, stream, end) => streamSummary(route, stream, end, clock.now() >= x.deadline),
    logger: deps.logger,
    now: () => clock.now(),
    ...(opts.writeStallMs === undefined ? {} : { writeStallMs: opts.writeStallMs }),
  });

  /** The endpoint for a method and path, or the error that answers it (404 unknown URL, 405). */
  const table: Readonly<Record<FixedPath, Readonly<Record<string, Endpoint>>>> = {
    "/v1/chat/completions": { POST: chatCompletions },
    "/v1/embeddings": { POST: embeddings },
    "/v1/models": { GET: listModels },
    "/v1/messages": { POST: anthropic.messages },
    "/v1/messages/count_tokens": { POST: anthropic.countTokens },
  };
  /** The endpoint, and its name in metrics (the path template: no model id in a label). */
  const endpointOf = (method: string, path: string): { endpoint: Endpoint; name: string; pathParam?: string } => {
    const template = openAIRouteOf(path);
    if (template === undefined) {
      throw new OpenAIRequestError(`Unknown request URL: ${method} ${path}.`, Code.NotFound, { errorCode: "unknown_url" });
    }
    const model = template === MODEL_TEMPLATE ? MODEL_PATH.exec(path) : null;
    const methods = model === null ? table[template as FixedPath] : { GET: retrieveModel };
    const pathParam = model === null ? undefined : safeDecode(model[1]!);
    const endpoint = methods[method];
    if (endpoint === undefined) {
      const allowed = Object.keys(methods).join(", ");
      throw new OpenAIRequestError(`${method} is not allowed on ${path}; use ${allowed}`, Code.InvalidArgument, {
        httpStatus: 405,
        headers: { allow: allowed },
        errorCode: "method_not_allowed",
      });
    }
    return { endpoint, name: `${method} ${template}`, ...(pathParam === undefined ? {} : { pathParam }) };
  };

  /** The caller's principal; a refusal (no, bad or revoked key; no SCOPE_INVOKE) is audited, then thrown. */
  const authenticate = async (req: HttpRequest, action: string, requestId: string): Promise<Principal> => {
    let principal: Principal | undefined;
    try {
      const token = presentedKey(req);
      if (token === undefined) throw new ConnectError(UNAUTHENTICATED_MESSAGE, Code.Unauthenticated);
      principal = await deps.authenticator.authenticate(token, clientAddressOf(req));
      if (!principal.scopes.has(Scope.INVOKE)) {
        throw new ConnectError(`the OpenAI-compatible API requires scope ${scopeName(Scope.INVOKE)}`, Code.PermissionDenied);
      }
      return principal;
    } catch (err) {
      auditAccess(req, { action, requestId, ...(principal === undefined ? {} : { principal }) }, err);
      throw err;
    }
  };

  return (req, res) => {
    const started = performance.now();
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    let requestId = "";
    let exchange: Exchange | undefined;
    // An unknown URL or method is one series, whatever the path.
    let endpointName = "unknown";
    // The wire format of errors and ids: Anthropic's under /v1/messages, OpenAI's elsewhere.
    const dialect = dialectOf(path);
    const caller = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) caller.abort(new ConnectError("the caller went away", Code.Canceled));
    });
    const run = async (): Promise<StreamEnd | void> => {
      requestId = requestIdOf(req.headers);
      const { endpoint, name, pathParam } = endpointOf(method, path);
      endpointName = name;
      const action = `${method} ${path}`;
      const principal = await authenticate(req, action, requestId);
      const deadline = clock.now() + (timeoutOf(req.headers) ?? defaultTimeoutMs);
      exchange = { req, res, principal, requestId, action, signal: caller.signal, deadline, ...(pathParam === undefined ? {} : { pathParam }) };
      return endpoint(exchange);
    };
    // The access-log line, with the fields of a Connect RPC's (`access-log.ts`) and the HTTP status
    // sent; its level follows the status the failure maps to (a stream cut mid-way was sent as a
    // 200, but it is a fault of ours or the provider's: warn). Written with the metrics just after
    // the answer, on its turn (`recordAfterThisTurn`), with the duration up to the answer.
    const log = (err: unknown, status: number, severity = status) => {
      const durationMs = performance.now() - started;
      recordAfterThisTurn(() => record(err, status, severity, durationMs));
    };
    const record = (err: unknown, status: number, severity: number, durationMs: number) => {
      const code = err === undefined ? "ok" : codeName(err instanceof ConnectError ? err.code : Code.Internal);
      const summary = exchange?.summary;
      const ttftMs = summary?.firstTokenAt === undefined ? undefined : summary.firstTokenAt - started;
      deps.metrics?.rpcEnded({
        service: "openai",
        method: endpointName,
        code,
        seconds: durationMs / 1000,
        ...(summary === undefined ? {} : { route: summary.route }),
        ...(ttftMs === undefined ? {} : { timeToFirstTokenSeconds: ttftMs / 1000 }),
      });
      const fields = accessLogFields({
        requestId,
        procedure: `${method} ${path}`,
        protocol: dialect.protocol,
        code,
        status,
        durationMs,
        ...(exchange?.verb === undefined ? {} : { verb: exchange.verb }),
        ...(exchange === undefined ? {} : { principal: exchange.principal }),
        ...(summary === undefined ? {} : { summary }),
        ...(ttftMs === undefined ? {} : { timeToFirstTokenMs: ttftMs }),
        ...(err === undefined ? {} : { error: err }),
      });
      writeAccessLine(deps.logger, err === undefined || (err instanceof ConnectError && severity < 500) ? "info" : "warn", fields, "rpc");
    };
    run().then(
      (end) => {
        if (end?.kind === "failed_mid_stream") log(end.error, res.statusCode, dialect.errorOf(end.error, clock.now(), requestId).status);
        else log(end?.kind === "caller_gone" ? new ConnectError("the caller went away", Code.Canceled) : undefined, res.statusCode);
      },
      (err: unknown) => {
        const answer = dialect.errorOf(err, clock.now(), requestId);
        log(err, answer.status);
        if (!(err instanceof ConnectError)) deps.logger.error({ err, requestId, procedure: `${method} ${path}` }, "unhandled error");
        if (responseGone(res)) return; // the caller is gone: nobody reads an answer
        if (res.headersSent) {
          res.destroy();
          return;
        }
        // A body that never finished: the connection cannot be reused (HTTP/1.1 only; HTTP/2 has no such header).
        const close: Record<string, string> = isBodyTimeout(err) && req.httpVersionMajor === 1 ? { connection: "close" } : {};
        sendJson(res, answer.status, answer.body, { ...answer.headers, ...close, ...(requestId === "" ? {} : dialect.idHeaders(requestId)) });
      },
    );
  };
}

/**
 * The call summary of a streamed completion once it ended: the stream's reported tokens (else the
 * last attempt's, an estimate for a cut one), every attempt's cost, and how it ended — a Connect
 * ChatStream's terminal names, and `caller_gone` when the caller left first.
 */
async function streamSummary(route: string, stream: ModelStream, end: StreamEnd, deadlinePassed: boolean): Promise<CallSummary> {
  const r = await stream.result();
  const usage = sumUsage([
    { usage: end.tokens ?? answerAttempts(r.attempts).at(-1)?.usage ?? emptyUsage(true), provider: r.provider, model: r.model, attempts: r.attempts, costMicrosUsd: r.costMicrosUsd, cacheStatus: r.cacheStatus },
  ]);
  const terminal = end.kind === "failed_mid_stream" ? failureTerminal(end.error, deadlinePassed, usage).type : end.kind;
  return callSummaryOf(route, usage, { terminal, ...(end.firstTokenAt === undefined ? {} : { firstTokenAt: end.firstTokenAt }) });
}

/** `GET /v1/models/{model}`. */
const MODEL_PATH = /^\/v1\/models\/([^/]+)$/;

/** The surface's fixed paths: `table` in {@link createOpenAIHandler} has exactly these. */
const FIXED_PATHS = ["/v1/chat/completions", "/v1/embeddings", "/v1/models", "/v1/messages", "/v1/messages/count_tokens"] as const;
type FixedPath = (typeof FIXED_PATHS)[number];
const MODEL_TEMPLATE = "/v1/models/{model}";

/**
 * The path template of a path the surface serves (`/v1/models/{model}` for a model's), or
 * undefined for an unknown URL: what a span may be named by, as the metrics' `method` label is
 * (the raw path is the caller's text, one name per URL tried).
 */
export function openAIRouteOf(path: string): string | undefined {
  if ((FIXED_PATHS as readonly string[]).includes(path)) return path;
  return MODEL_PATH.test(path) ? MODEL_TEMPLATE : undefined;
}

/** How a path's answers are written: its errors, its request-id headers and its access-log protocol. */
interface Dialect {
  protocol: string;
  errorOf(err: unknown, now: number, requestId: string): { status: number; headers: Record<string, string>; body: unknown };
  idHeaders(requestId: string): Record<string, string>;
}

const OPENAI_DIALECT: Dialect = {
  protocol: "openai",
  errorOf: (err, now) => openAIErrorOf(err, now),
  idHeaders: (requestId) => ({ "x-request-id": requestId }),
};

/** Anthropic's: its error envelope, and its `request-id` header beside the gateway's `x-request-id`. */
const ANTHROPIC_DIALECT: Dialect = {
  protocol: "anthropic",
  errorOf: anthropicErrorOf,
  idHeaders: (requestId) => ({ "request-id": requestId, "x-request-id": requestId }),
};

function dialectOf(path: string): Dialect {
  return path === "/v1/messages" || path.startsWith("/v1/messages/") ? ANTHROPIC_DIALECT : OPENAI_DIALECT;
}

/**
 * The key a request presents: `authorization: Bearer <key>` (OpenAI's SDKs; Anthropic's with
 * `authToken`), else `x-api-key` (Anthropic's SDKs with `apiKey`, Claude Code).
 */
export function presentedKey(req: HttpRequest): string | undefined {
  const bearer = bearerToken(headerValue(req.headers, "authorization") ?? null);
  if (bearer !== undefined) return bearer;
  const key = headerValue(req.headers, "x-api-key");
  return key === undefined || key === "" ? undefined : key;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
