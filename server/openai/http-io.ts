import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { Code } from "@connectrpc/connect";
import type { JsonObject } from "../providers/model.js";
import { readBody } from "../http/read-body.js";
import { isObject } from "./json-fields.js";
import { OpenAIRequestError } from "./openai-request-error.js";

/** A request on either protocol the listener serves (HTTP/1.1, or h2c through the compat API). */
export type HttpRequest = IncomingMessage | Http2ServerRequest;
/**
 * What the surface uses of a response: the common part of HTTP/1.1's `ServerResponse` and
 * HTTP/2's compat `Http2ServerResponse` (and of connect-node's patched union of both).
 */
export interface HttpResponse {
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  write(chunk: string | Uint8Array): boolean;
  end(): unknown;
  end(chunk: string): unknown;
  addTrailers(headers: OutgoingHttpHeaders): void;
  destroy(): unknown;
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  readonly statusCode: number;
  on(event: "drain" | "close", listener: () => void): unknown;
  once(event: "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

const tooLarge = (maxBytes: number) =>
  new OpenAIRequestError(`the request body is larger than ${maxBytes} bytes`, Code.InvalidArgument, { httpStatus: 413, errorCode: "request_too_large" });

/**
 * Reads the body as one JSON object, refusing it as soon as it passes `maxBytes` (413, also when
 * `content-length` announces more) and answering 400 for a body that is not a JSON object. The
 * rest of a refused body is read and dropped rather than the connection reset, so the refusal
 * reaches the caller.
 */
export async function readJsonBody(req: HttpRequest, maxBytes: number): Promise<JsonObject> {
  const body = await readBody(req, maxBytes, () => tooLarge(maxBytes));
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new OpenAIRequestError("We could not parse the JSON body of your request. Send a JSON object with content-type application/json.", Code.InvalidArgument, {
      errorCode: "invalid_json",
    });
  }
  if (!isObject(parsed)) throw new OpenAIRequestError("the request body must be a JSON object", Code.InvalidArgument, { errorCode: "invalid_json" });
  return parsed;
}

/** Sends `body` as a complete JSON answer. */
export function sendJson(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}
