/**
 * The four calls the soak's clients make — unary Chat over Connect (HTTP/1.1), ChatStream over
 * gRPC (h2c), and the OpenAI-compatible surface unary and streamed — each classified the Jepsen
 * way: `ok` with a success terminator, `fail` when the gateway itself answered with an error
 * (status, error event, error trailer), `info` when the outcome is unknown (reset, timeout, kill,
 * client abort).
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { chatMessage } from "../support/money.js";
import type { OpKind } from "./history.js";

/** One call's inputs. */
export interface CallInput {
  url: string;
  secret: string;
  requestId: string;
  prompt: string;
  maxTokens: number;
  route: string;
  timeoutMs: number;
  /** Client abort: after this many deltas (streams) or ms (unary). */
  abortAfter?: number;
}

/** One call's outcome. */
export interface CallResult {
  type: "ok" | "fail" | "info";
  code: string;
  text: string;
  bytes: number;
  tokens?: number;
  terminal?: "completed" | "error" | "none";
  details?: string[];
  message?: string;
}

/** Connect clients per replica URL (HTTP/1.1 Connect for unary, h2c gRPC for streams). */
export interface SoakClients {
  call(kind: OpKind, input: CallInput): Promise<CallResult>;
}

/** Creates the call functions, caching one transport pair per replica URL. */
export function createSoakClients(): SoakClients {
  const connect = new Map<string, Client<typeof CapabilityService>>();
  const grpc = new Map<string, Client<typeof CapabilityService>>();
  const connectOf = (url: string) => {
    let c = connect.get(url);
    if (c === undefined) connect.set(url, (c = createClient(CapabilityService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }))));
    return c;
  };
  const grpcOf = (url: string) => {
    let c = grpc.get(url);
    if (c === undefined) grpc.set(url, (c = createClient(CapabilityService, createGrpcTransport({ baseUrl: url }))));
    return c;
  };
  return {
    call(kind, input) {
      const abort = new AbortController();
      const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(input.timeoutMs)]);
      if (kind === "chat") return chat(connectOf(input.url), input, abort, signal);
      if (kind === "stream") return stream(grpcOf(input.url), input, abort, signal);
      return openai(kind === "openai_stream", input, abort, signal);
    },
  };
}

const headersOf = (input: CallInput) => ({ authorization: `Bearer ${input.secret}`, "x-request-id": input.requestId });

/** A Connect error as a result: known (`fail`) when the gateway's status reached us, else `info`. */
function fromConnectError(e: unknown, abort: AbortController, text = "", bytes = 0): CallResult {
  const err = ConnectError.from(e);
  const known = err.metadata.has("grpc-status") || err.metadata.has("x-request-id");
  const details = err.details.map((d) => ("desc" in d ? d.desc.typeName : d.type).split(".").pop() ?? "");
  if (abort.signal.aborted) return { type: "info", code: "client_abort", text, bytes, message: err.rawMessage };
  const name = Code[err.code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
  return { type: known ? "fail" : "info", code: known ? name : "transport", text, bytes, details, message: err.rawMessage };
}

async function chat(client: Client<typeof CapabilityService>, input: CallInput, abort: AbortController, signal: AbortSignal): Promise<CallResult> {
  const timer = input.abortAfter === undefined ? undefined : setTimeout(() => abort.abort(), input.abortAfter);
  try {
    const res = await client.chat(
      { options: { route: input.route, maxOutputTokens: input.maxTokens }, messages: chatMessage(input.prompt) },
      { headers: headersOf(input), signal },
    );
    const text = (res.message?.content ?? []).map((p) => (p.part.case === "text" ? p.part.value : "")).join("");
    return { type: "ok", code: "ok", text, bytes: Buffer.byteLength(text), tokens: Number(res.usage?.outputTokens ?? 0n), terminal: "completed" };
  } catch (e) {
    return fromConnectError(e, abort);
  } finally {
    clearTimeout(timer);
  }
}

async function stream(client: Client<typeof CapabilityService>, input: CallInput, abort: AbortController, signal: AbortSignal): Promise<CallResult> {
  let text = "";
  let deltas = 0;
  try {
    const events = client.chatStream(
      { options: { route: input.route, maxOutputTokens: input.maxTokens }, messages: chatMessage(input.prompt) },
      { headers: headersOf(input), signal },
    );
    for await (const ev of events) {
      const e = ev.event;
      if (e.case === "delta") {
        text += e.value.text;
        if (++deltas === input.abortAfter) abort.abort();
      } else if (e.case === "completed") {
        return { type: "ok", code: "ok", text, bytes: Buffer.byteLength(text), tokens: Number(e.value.usage?.outputTokens ?? 0n), terminal: "completed" };
      } else if (e.case === "upstreamError" || e.case === "truncated" || e.case === "budgetExhausted") {
        const code = e.case === "upstreamError" ? e.value.code : e.case;
        return { type: "fail", code, text, bytes: Buffer.byteLength(text), terminal: "error" };
      }
    }
    return { type: "info", code: "transport", text, bytes: Buffer.byteLength(text), terminal: "none", message: "stream ended without a terminal event" };
  } catch (e) {
    const r = fromConnectError(e, abort, text, Buffer.byteLength(text));
    return { ...r, terminal: r.type === "fail" ? "error" : "none" };
  }
}

interface OpenAIChunk {
  choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: { completion_tokens?: number } | null;
  error?: { code?: string; message?: string };
}

async function openai(streamed: boolean, input: CallInput, abort: AbortController, signal: AbortSignal): Promise<CallResult> {
  const timer = !streamed && input.abortAfter !== undefined ? setTimeout(() => abort.abort(), input.abortAfter) : undefined;
  let text = "";
  try {
    const res = await fetch(`${input.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...headersOf(input), "content-type": "application/json" },
      body: JSON.stringify({
        model: input.route,
        max_completion_tokens: input.maxTokens,
        messages: [{ role: "user", content: input.prompt }],
        ...(streamed ? { stream: true, stream_options: { include_usage: true } } : {}),
      }),
      signal,
    });
    if (res.status !== 200) {
      const body = (await res.json().catch(() => ({}))) as OpenAIChunk;
      return { type: "fail", code: body.error?.code ?? `http_${res.status}`, text: "", bytes: 0, message: body.error?.message ?? "" };
    }
    if (!streamed) {
      const body = (await res.json()) as { choices: Array<{ message: { content: string | null } }>; usage?: { completion_tokens: number } };
      text = body.choices[0]?.message.content ?? "";
      return { type: "ok", code: "ok", text, bytes: Buffer.byteLength(text), tokens: body.usage?.completion_tokens ?? 0, terminal: "completed" };
    }
    let buffer = "";
    let deltas = 0;
    let tokens: number | undefined;
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
        if (data === "") continue;
        if (data === "[DONE]") return { type: "ok", code: "ok", text, bytes: Buffer.byteLength(text), tokens: tokens ?? 0, terminal: "completed" };
        const json = JSON.parse(data) as OpenAIChunk;
        if (json.error !== undefined) {
          return { type: "fail", code: json.error.code ?? "error", text, bytes: Buffer.byteLength(text), terminal: "error", message: json.error.message ?? "" };
        }
        const piece = json.choices?.[0]?.delta?.content;
        if (typeof piece === "string" && piece !== "") {
          text += piece;
          if (++deltas === input.abortAfter) abort.abort();
        }
        if (json.usage) tokens = json.usage.completion_tokens;
      }
    }
    return { type: "info", code: "transport", text, bytes: Buffer.byteLength(text), terminal: "none", message: "stream ended without [DONE] or an error event" };
  } catch (e) {
    const code = abort.signal.aborted ? "client_abort" : "transport";
    return { type: "info", code, text, bytes: Buffer.byteLength(text), terminal: "none", message: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
