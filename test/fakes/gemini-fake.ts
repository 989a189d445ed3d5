/**
 * A wire-faithful fake of the Gemini API (Generative Language API): `POST
 * /{v}/models/{model}:generateContent`, `:streamGenerateContent` (SSE with `?alt=sse`, a JSON array
 * without), `:embedContent` and `:batchEmbedContents`.
 *
 * What it reproduces: the API key check (`x-goog-api-key` header or `?key=`; none → 403);
 * Google's request validation for the mistakes an adapter can make (unknown fields → `400 Invalid
 * JSON payload received. Unknown name …`, JSON-Schema keywords outside Gemini's subset, roles other
 * than user/model, empty parts, function-response turns that do not follow a function-call turn or
 * do not match its call count, a top-level OBJECT `parameters` without properties, Gemini 3 function
 * calls replayed without `thoughtSignature`, more than 100 batch embeds); the JSON shapes
 * (`candidates`, `usageMetadata` with zero counts omitted as proto3 JSON does, `modelVersion`,
 * `responseId`); SSE frames `data: {…}\r\n\r\n` with no terminator event, each a whole
 * `GenerateContentResponse`, cumulative `usageMetadata` on every chunk and `finishReason` on the
 * last; `functionCall` parts whole; Google's error envelope with `RetryInfo` (no `retry-after`
 * header, as Google sends none) and an in-stream `{"error": …}` object for `mid_stream_error`.
 *
 * A status fault's `errorType` is a Google status name (`FAILED_PRECONDITION`) or one of the
 * hints `context_length`, `api_key_invalid`; `message` replaces Google's default message.
 */
import type { Fault, FakeProvider, Reply, ScriptStep, TruthEntry } from "./fake-types.js";
import { startScriptedServer, type WirePlan, type WireFormat, type WireRequest } from "../../server/sandbox/scripted-server.js";
import { countTokens, echoReply, hashedVector, filler, firstTokens, streamPieces } from "../../server/sandbox/word-text.js";

/** Starts the Gemini fake on a free loopback port. */
export function startGeminiFake(): Promise<FakeProvider> {
  return startScriptedServer(createGeminiWire());
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
  529: "UNAVAILABLE",
};

const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  400: "Request contains an invalid argument.",
  401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
  403: "The caller does not have permission",
  404: "Requested entity was not found.",
  429: "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
  500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
  502: "Bad Gateway",
  503: "The model is overloaded. Please try again later.",
  504: "Deadline expired before operation could complete.",
  529: "The model is overloaded. Please try again later.",
};

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const set = (...keys: string[]) => new Set(keys.map(snake));
const TOP_KEYS = set("model", "contents", "systemInstruction", "tools", "toolConfig", "safetySettings", "generationConfig", "cachedContent");
const GEN_KEYS = set(
  "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "_responseJsonSchema", "responseModalities",
  "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty", "frequencyPenalty",
  "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers", "speechConfig", "thinkingConfig", "imageConfig", "mediaResolution",
);
const CONTENT_KEYS = set("role", "parts");
const PART_KEYS = set(
  "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult",
  "thought", "thoughtSignature", "videoMetadata", "partMetadata", "mediaResolution",
);
const TOOL_KEYS = set("functionDeclarations", "googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext", "computerUse", "fileSearch", "googleMaps");
const DECL_KEYS = set("name", "description", "behavior", "parameters", "parametersJsonSchema", "response", "responseJsonSchema");
const SCHEMA_KEYS = set(
  "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required", "minProperties",
  "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
);
const EMBED_KEYS = set("model", "content", "taskType", "title", "outputDimensionality");

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
/** Reads a field by its JSON name, camelCase or snake_case (Google accepts both). */
const get = (o: Obj, camel: string): Json | undefined => o[camel] ?? o[snake(camel)];

/** A 400 the way Google words it; thrown inside `plan` and turned into the envelope. */
class WireReject extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly googleStatus = STATUS_NAMES[status] ?? "UNKNOWN",
    readonly details: Obj[] = [],
  ) {
    super(message);
  }
}

function checkKeys(o: Obj, allowed: Set<string>, at: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.has(snake(key))) {
      throw new WireReject(400, `Invalid JSON payload received. Unknown name "${key}"${at ? ` at '${at}'` : ""}: Cannot find field.`);
    }
  }
}

function checkSchema(s: Json | undefined, at: string, topLevelObjectNeedsProperties: boolean): void {
  if (s === undefined) return;
  if (!isObj(s)) throw new WireReject(400, `Invalid JSON payload received. Invalid value at '${at}'.`);
  checkKeys(s, SCHEMA_KEYS, at);
  const props = get(s, "properties");
  if (topLevelObjectNeedsProperties && String(get(s, "type") ?? "").toUpperCase() === "OBJECT" && (!isObj(props) || Object.keys(props).length === 0)) {
    throw new WireReject(400, `* GenerateContentRequest.${at}.properties: should be non-empty for OBJECT type\n`);
  }
  if (isObj(props)) for (const [k, v] of Object.entries(props)) checkSchema(v, `${at}.properties[${JSON.stringify(k)}].value`, false);
  checkSchema(get(s, "items"), `${at}.items`, false);
  const anyOf = get(s, "anyOf");
  if (Array.isArray(anyOf)) anyOf.forEach((m, i) => checkSchema(m, `${at}.any_of[${i}]`, false));
  const e = get(s, "enum");
  if (Array.isArray(e) && !e.every((v) => typeof v === "string")) throw new WireReject(400, `Invalid JSON payload received. Invalid value at '${at}.enum' (TYPE_STRING).`);
}

/** Validates a generateContent body as Google would, for the mistakes an adapter can make. */
function validateGenerate(body: unknown, model: string): Obj {
  if (!isObj(body)) throw new WireReject(400, "Invalid JSON payload received.");
  checkKeys(body, TOP_KEYS, "");
  const contents = get(body, "contents");
  if (!Array.isArray(contents) || contents.length === 0) throw new WireReject(400, "* GenerateContentRequest.contents: contents is not specified\n");
  const sys = get(body, "systemInstruction");
  if (sys !== undefined) {
    if (!isObj(sys)) throw new WireReject(400, "Invalid JSON payload received. Invalid value at 'system_instruction'.");
    checkKeys(sys, CONTENT_KEYS, "system_instruction");
  }
  let previousCalls = -1; // function calls of the previous turn when it was a model turn
  let previousRole = "";
  contents.forEach((c, i) => {
    if (!isObj(c)) throw new WireReject(400, `Invalid JSON payload received. Invalid value at 'contents[${i}]'.`);
    checkKeys(c, CONTENT_KEYS, `contents[${i}]`);
    const role = get(c, "role") ?? "user";
    if (role !== "user" && role !== "model") throw new WireReject(400, "Please use a valid role: user, model.");
    const parts = get(c, "parts");
    if (!Array.isArray(parts) || parts.length === 0) throw new WireReject(400, `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`);
    let calls = 0;
    let responses = 0;
    let firstCallSigned = true;
    parts.forEach((p, j) => {
      if (!isObj(p)) throw new WireReject(400, `Invalid JSON payload received. Invalid value at 'contents[${i}].parts[${j}]'.`);
      checkKeys(p, PART_KEYS, `contents[${i}].parts[${j}]`);
      if (get(p, "functionCall") !== undefined) {
        if (calls === 0) firstCallSigned = typeof get(p, "thoughtSignature") === "string";
        calls++;
      }
      if (get(p, "functionResponse") !== undefined) responses++;
    });
    if (calls > 0 && !(previousRole === "user" || i === 0)) {
      throw new WireReject(400, "Please ensure that function call turn comes immediately after a user turn or after a function response turn.");
    }
    if (calls > 0 && /^gemini-3/.test(model) && !firstCallSigned) {
      throw new WireReject(400, "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly.");
    }
    if (responses > 0) {
      if (previousCalls <= 0) throw new WireReject(400, "Please ensure that function response turn comes immediately after a function call turn.");
      if (responses !== previousCalls) {
        throw new WireReject(400, "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.");
      }
    }
    previousCalls = role === "model" ? calls : -1;
    previousRole = String(role);
  });
  const tools = get(body, "tools");
  if (Array.isArray(tools)) {
    tools.forEach((t, i) => {
      if (!isObj(t)) throw new WireReject(400, `Invalid JSON payload received. Invalid value at 'tools[${i}]'.`);
      checkKeys(t, TOOL_KEYS, `tools[${i}]`);
      const decls = get(t, "functionDeclarations");
      if (Array.isArray(decls)) {
        decls.forEach((d, j) => {
          if (!isObj(d)) throw new WireReject(400, `Invalid JSON payload received. Invalid value at 'tools[${i}].function_declarations[${j}]'.`);
          checkKeys(d, DECL_KEYS, `tools[${i}].function_declarations[${j}]`);
          checkSchema(get(d, "parameters"), `tools[${i}].function_declarations[${j}].parameters`, true);
        });
      }
    });
  }
  const gen = get(body, "generationConfig");
  if (gen !== undefined) {
    if (!isObj(gen)) throw new WireReject(400, "Invalid JSON payload received. Invalid value at 'generation_config'.");
    checkKeys(gen, GEN_KEYS, "generation_config");
    checkSchema(get(gen, "responseSchema"), "generation_config.response_schema", false);
  }
  return body;
}

/** All the text the model reads, for token counting; and the last user text, for the echo. */
function readPrompt(body: Obj): { all: string; lastUser: string } {
  const texts: string[] = [];
  let lastUser = "";
  const partsOf = (c: Json | undefined): Obj[] => (isObj(c) && Array.isArray(get(c, "parts")) ? (get(c, "parts") as Json[]).filter(isObj) : []);
  const collect = (p: Obj) => {
    const text = get(p, "text");
    if (typeof text === "string") texts.push(text);
    const call = get(p, "functionCall");
    if (isObj(call)) texts.push(`${String(get(call, "name") ?? "")} ${JSON.stringify(get(call, "args") ?? {})}`);
    const res = get(p, "functionResponse");
    if (isObj(res)) texts.push(`${String(get(res, "name") ?? "")} ${JSON.stringify(get(res, "response") ?? {})}`);
  };
  for (const p of partsOf(get(body, "systemInstruction"))) collect(p);
  for (const c of get(body, "contents") as Json[]) {
    const parts = partsOf(c);
    parts.forEach(collect);
    const userText = parts.map((p) => get(p, "text")).filter((t): t is string => typeof t === "string");
    if (isObj(c) && (get(c, "role") ?? "user") === "user" && userText.length > 0) lastUser = userText.join(" ");
  }
  return { all: texts.join(" "), lastUser };
}

/** Drops zero counts, as proto3 JSON does. */
function counts(fields: Record<string, number>): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(fields)) if (v !== 0) out[k] = v;
  return out;
}

const FINISH: Readonly<Record<NonNullable<Reply["finishReason"]>, string>> = {
  stop: "STOP",
  length: "MAX_TOKENS",
  tool_calls: "STOP",
  content_filter: "SAFETY",
};

/** The Gemini wire format for `startScriptedServer`. */
export function createGeminiWire(): WireFormat {
  let seq = 0;

  function envelope(status: number, message: string, googleStatus: string, details: Obj[]): WirePlan {
    const error: Obj = { code: status, message, status: googleStatus };
    if (details.length > 0) error.details = details;
    return { type: "json", status, headers: { "content-type": "application/json; charset=UTF-8", vary: "Origin, X-Origin, Referer" }, body: { error } };
  }

  function generate(req: WireRequest, step: ScriptStep, model: string, method: string): WirePlan {
    const body = validateGenerate(req.body, model);
    const fault = step.fault;
    const reply = step.reply ?? {};
    const prompt = readPrompt(body);
    const gen = isObj(get(body, "generationConfig")) ? (get(body, "generationConfig") as Obj) : {};
    const max = get(gen, "maxOutputTokens");
    const calls = reply.toolCalls ?? [];
    let text = reply.text ?? (calls.length > 0 || reply.finishReason === "content_filter" ? "" : echoReply(prompt.lastUser));
    let finish = reply.finishReason === undefined ? "STOP" : FINISH[reply.finishReason];
    if (typeof max === "number") {
      if (fault?.kind === "overrun_max_tokens") {
        const have = countTokens(text);
        if (have <= max) text = `${text} ${filler(max - have + 3)}`.trim();
      } else {
        const cut = firstTokens(text, max);
        if (cut.cut) {
          text = cut.text;
          finish = "MAX_TOKENS";
        }
      }
    }
    const usage = reply.usage ?? {};
    const input = usage.input ?? countTokens(prompt.all);
    const output = usage.output ?? countTokens(text) + calls.reduce((n, c) => n + countTokens(`${c.name} ${c.argumentsJson}`), 0);
    const reasoning = usage.reasoning ?? 0;
    const cached = usage.cachedInput ?? 0;
    const signed = /^gemini-3/.test(model);
    const callParts: Obj[] = calls.map((c, i) => {
      let args: Json = {};
      try {
        const parsed = JSON.parse(c.argumentsJson) as Json;
        if (isObj(parsed)) args = parsed;
      } catch {
        // Gemini always sends an object; a scripted invalid one becomes {}.
      }
      const part: Obj = { functionCall: { name: c.name, args } };
      if (signed && i === 0) part.thoughtSignature = Buffer.from(`sig-${seq}-${c.name}`).toString("base64");
      return part;
    });
    // Thinking comes before the answer, so every chunk already reports all thought tokens.
    const usageOf = (candidates: number): Obj => ({
      ...counts({ promptTokenCount: input, candidatesTokenCount: candidates, totalTokenCount: input + candidates + reasoning }),
      promptTokensDetails: [{ modality: "TEXT", tokenCount: input }],
      ...counts({ cachedContentTokenCount: cached, thoughtsTokenCount: reasoning }),
    });
    const responseId = `fake-${(++seq).toString(36).padStart(6, "0")}`;
    const candidate = (parts: Obj[], finishReason?: string): Obj => {
      const c: Obj = {};
      if (parts.length > 0) c.content = { parts, role: "model" };
      if (finishReason !== undefined) {
        c.finishReason = finishReason;
        if (finishReason === "SAFETY") c.safetyRatings = [{ category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true }];
      }
      c.index = 0;
      return c;
    };
    const chunk = (parts: Obj[], candidates: number, finishReason?: string): Obj => ({
      candidates: [candidate(parts, finishReason)],
      ...(fault?.kind === "missing_usage" ? {} : { usageMetadata: usageOf(candidates) }),
      modelVersion: model,
      responseId,
    });
    const truth: Omit<TruthEntry, "delivered"> = {
      path: req.path,
      model,
      stream: method === "streamGenerateContent",
      inputTokens: input,
      outputTokens: output,
      cachedInputTokens: cached,
      cacheWriteInputTokens: 0,
      reasoningTokens: reasoning,
    };
    const finalCandidates = Math.max(0, output - reasoning);
    const headers = { vary: "Origin, X-Origin, Referer", "x-content-type-options": "nosniff" };
    const textPart = text === "" ? [] : [{ text }];

    if (method === "generateContent") {
      return { type: "json", status: 200, headers: { ...headers, "content-type": "application/json; charset=UTF-8" }, body: chunk([...textPart, ...callParts], finalCandidates, finish), truth };
    }
    // streamGenerateContent: text deltas, then the calls and finishReason on the last chunk.
    const pieces = text === "" ? [] : streamPieces(text);
    const chunks: Obj[] = [];
    let sent = 0;
    pieces.forEach((piece, i) => {
      const last = i === pieces.length - 1;
      sent += countTokens(piece);
      chunks.push(last ? chunk([{ text: piece }, ...callParts], finalCandidates, finish) : chunk([{ text: piece }], Math.min(sent, finalCandidates)));
    });
    if (pieces.length === 0) chunks.push(chunk(callParts, finalCandidates, finish));
    if (req.query.get("alt") !== "sse") return { type: "json", status: 200, headers: { ...headers, "content-type": "application/json; charset=UTF-8" }, body: chunks, truth };
    const events = chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`);
    const sseHeaders = { ...headers, "content-type": "text/event-stream" };
    if (fault?.kind === "mid_stream_error") {
      // The first chunk, then Google's in-stream error object (overloaded), and the body ends.
      const error = { error: { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" } };
      const generated = reasoning + (pieces.length > 0 ? countTokens(pieces[0]!) : output - reasoning);
      return { type: "sse", headers: sseHeaders, events: [events[0]!, `data: ${JSON.stringify(error)}\r\n\r\n`], truth: { ...truth, outputTokens: generated }, endsEarly: true };
    }
    return { type: "sse", headers: sseHeaders, events, truth };
  }

  function embed(req: WireRequest, step: ScriptStep, model: string, method: string): WirePlan {
    const body = req.body;
    if (!isObj(body)) throw new WireReject(400, "Invalid JSON payload received.");
    const one = (r: Json | undefined, at: string): { text: string; dims: number } => {
      if (!isObj(r)) throw new WireReject(400, `Invalid JSON payload received. Invalid value at '${at}'.`);
      checkKeys(r, EMBED_KEYS, at);
      const content = get(r, "content");
      const parts = isObj(content) ? get(content, "parts") : undefined;
      if (!Array.isArray(parts) || parts.length === 0) throw new WireReject(400, `* ${at || "EmbedContentRequest"}.content: content is not specified\n`);
      const text = parts.map((p) => (isObj(p) && typeof get(p, "text") === "string" ? (get(p, "text") as string) : "")).join(" ");
      const dims = get(r, "outputDimensionality");
      return { text, dims: typeof dims === "number" ? dims : (step.reply?.dimensions ?? 8) };
    };
    let items: Array<{ text: string; dims: number }>;
    if (method === "embedContent") {
      items = [one(body, "")];
    } else {
      checkKeys(body, set("requests"), "");
      const requests = get(body, "requests");
      if (!Array.isArray(requests) || requests.length === 0) throw new WireReject(400, "* BatchEmbedContentsRequest.requests: requests is not specified\n");
      if (requests.length > 100) throw new WireReject(400, "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n");
      items = requests.map((r, i) => {
        if (isObj(r) && get(r, "model") !== `models/${model}`) {
          throw new WireReject(400, `* BatchEmbedContentsRequest.requests[${i}].model: unexpected model name format\n`);
        }
        return one(r, `requests[${i}]`);
      });
    }
    const truth: Omit<TruthEntry, "delivered"> = {
      path: req.path,
      model,
      stream: false,
      inputTokens: items.reduce((n, it) => n + countTokens(it.text), 0),
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteInputTokens: 0,
      reasoningTokens: 0,
    };
    const vectors = items.map((it) => ({ values: hashedVector(it.text, it.dims) }));
    const out = method === "embedContent" ? { embedding: vectors[0]! } : { embeddings: vectors };
    return { type: "json", status: 200, headers: { "content-type": "application/json; charset=UTF-8" }, body: out, truth };
  }

  return {
    kind: "gemini",
    plan(req, step) {
      const m = /^\/(v1beta|v1|v1alpha)\/(?:models|tunedModels)\/([^/:]+):([A-Za-z]+)$/.exec(req.path);
      const method = m?.[3] ?? "";
      const model = m?.[2] ?? "";
      try {
        if (!m || req.method !== "POST" || !["generateContent", "streamGenerateContent", "embedContent", "batchEmbedContents"].includes(method)) {
          throw new WireReject(404, `models/${model} is not found for API version ${m?.[1] ?? "v1beta"}, or is not supported for ${method || "this method"}. Call ListModels to see the list of available models and their supported methods.`);
        }
        const key = req.headers["x-goog-api-key"] ?? req.query.get("key");
        if (key === undefined || key === null || key === "") {
          throw new WireReject(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API key or other form of API consumer identity to call this API.");
        }
        return method === "embedContent" || method === "batchEmbedContents" ? embed(req, step, model, method) : generate(req, step, model, method);
      } catch (err) {
        if (err instanceof WireReject) return envelope(err.status, err.message, err.googleStatus, err.details);
        throw err;
      }
    },
    error(status, fault: Extract<Fault, { kind: "status" }>) {
      let googleStatus = STATUS_NAMES[status] ?? "UNKNOWN";
      let message = DEFAULT_MESSAGES[status] ?? "Unknown error.";
      const details: Obj[] = [];
      if (fault.errorType === "context_length") {
        googleStatus = "INVALID_ARGUMENT";
        message = "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).";
      } else if (fault.errorType === "api_key_invalid") {
        googleStatus = "INVALID_ARGUMENT";
        message = "API key not valid. Please pass a valid API key.";
        details.push({ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } });
      } else if (fault.errorType !== undefined) {
        googleStatus = fault.errorType;
      }
      if (fault.message !== undefined) message = fault.message;
      if (status === 429) {
        details.push({
          "@type": "type.googleapis.com/google.rpc.QuotaFailure",
          violations: [{ quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests", quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier" }],
        });
        details.push({ "@type": "type.googleapis.com/google.rpc.Help", links: [{ description: "Learn more about Gemini API quotas", url: "https://ai.google.dev/gemini-api/docs/rate-limits" }] });
      }
      const delayMs = fault.retryAfterMs ?? (fault.retryAfterSeconds === undefined ? undefined : fault.retryAfterSeconds * 1000);
      if (delayMs !== undefined) details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${delayMs / 1000}s` });
      return envelope(status, message, googleStatus, details);
    },
    malformedEvent() {
      return 'data: {"candidates": [{"content": {"parts": [{"text": \r\n\r\n';
    },
  };
}
