/**
 * `Chat` and `ChatStream` without connect-node's client: the request framed by hand and the
 * response's envelopes parsed as they arrive, so a figure is the gateway's and not the measuring
 * client's — connect-node's client takes 0.7–1.0 ms longer to hand over the same delta
 * (bench/README.md, "ChatStream time to first token"), and on these 2 cores its CPU also lengthens
 * every call the gateway holds, which the gateway's own CPU per call then shows. Used by `run.ts`,
 * `path-cost.ts` and `ttft-split.ts`. Beside them, the same chat on the OpenAI wire, one request
 * shape for every script that sends it (`path-cost.ts`, `ablation.ts`, `inflight-memory.ts`,
 * `one-connection-timeline.ts`).
 */
import type { ClientHttp2Session, ClientHttp2Stream } from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Pool } from "undici";
import { ChatRequestSchema, ChatStreamRequestSchema, ChatStreamResponseSchema } from "../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../gen/ts/switchboard/v1/chat_pb.js";

export const CHAT_STREAM_PATH = "/switchboard.v1.CapabilityService/ChatStream";

/** The chat request the benchmarks send: route `bench`, one user message. */
export const benchChat = (text: string) => ({ options: { route: "bench" }, messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: text } }] }] });

/** A {@link benchChat} `Chat` over the Connect protocol (HTTP/1.1, binary): undici's request options but the method. */
export function connectChatRequest(authorization: string, text: string) {
  return {
    path: "/switchboard.v1.CapabilityService/Chat",
    headers: { "content-type": "application/proto", "connect-protocol-version": "1", authorization },
    body: toBinary(ChatRequestSchema, create(ChatRequestSchema, benchChat(text))),
  };
}

/** A {@link connectChatRequest} sent by undici; throws unless it answers 200. */
export async function connectChat(pool: Pool, authorization: string, text: string): Promise<void> {
  const res = await pool.request({ method: "POST", ...connectChatRequest(authorization, text) });
  if (res.statusCode !== 200) throw new Error(`Chat: ${res.statusCode} ${await res.body.text()}`);
  await res.body.arrayBuffer();
}

/** A chat completion on route `bench` over the OpenAI wire, one user message: undici's request options but the method. */
export function openaiChatRequest(authorization: string, text: string) {
  return {
    path: "/v1/chat/completions",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ model: "bench", messages: [{ role: "user", content: text }] }),
  };
}

/** An {@link openaiChatRequest} sent by undici; throws unless it answers 200. */
export async function openaiChat(pool: Pool, authorization: string, text: string): Promise<void> {
  const res = await pool.request({ method: "POST", ...openaiChatRequest(authorization, text) });
  if (res.statusCode !== 200) throw new Error(`openai: ${res.statusCode} ${await res.body.text()}`);
  await res.body.text();
}

/** A ChatStream request on route `bench` as one enveloped message (flags 0, 4-byte length): the framing of both Connect streams and gRPC. */
export function chatStreamEnvelope(text: string): Buffer {
  const bytes = toBinary(ChatStreamRequestSchema, create(ChatStreamRequestSchema, benchChat(text)));
  const out = Buffer.alloc(5 + bytes.length);
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

/** Feeds response bytes; says whether a delta message completed in them. */
export function deltaReader(): (chunk: Buffer) => boolean {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    let delta = false;
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const end = 5 + buf.readUInt32BE(1);
      const flags = buf[0]!;
      const body = buf.subarray(5, end);
      buf = buf.subarray(end);
      // Flag 2 marks Connect's end-stream message (JSON), not a ChatStreamResponse.
      if ((flags & 2) === 0 && fromBinary(ChatStreamResponseSchema, body).event.case === "delta") delta = true;
    }
    return delta;
  };
}

/**
 * A ChatStream over gRPC (h2c) on `session` without connect-node's client: one HTTP/2 stream with
 * the request's envelope; read it with {@link deltaReader} (gRPC ends a stream with trailers, so
 * every envelope is a message).
 */
export function grpcChatStream(session: ClientHttp2Session, authorization: string, text: string): ClientHttp2Stream {
  const stream = session.request({ ":method": "POST", ":path": CHAT_STREAM_PATH, "content-type": "application/grpc", te: "trailers", authorization });
  stream.end(chatStreamEnvelope(text));
  return stream;
}
