import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { timeoutWithin } from "../runtime/node-timer.js";
import type { JsonObject } from "../providers/model.js";
import { readBody } from "../http/read-body.js";
import { MAX_REQUEST_VALUES, overJsonValueBudget } from "../http/value-budget.js";
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
  /** HTTP/1.1's only: HTTP/2's compat response has none (`responseGone` asks its stream). */
  readonly destroyed?: boolean;
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
 * reaches the caller. A caller that hangs up mid-body is a caller gone (`canceled`), not a fault
 * of ours; a body still incomplete at `deadline` (epoch ms, by `now`) gets 408, and an HTTP/1.1
 * connection is closed after it (the rest of that body is not waited for).
 */
export async function readJsonBody(req: HttpRequest, maxBytes: number, deadline: number, now: () => number = Date.now): Promise<JsonObject> {
  const reading = readBody(req, maxBytes, () => tooLarge(maxBytes)).catch((err: unknown) => {
    throw err instanceof ConnectError ? err : new ConnectError("the caller went away", Code.Canceled);
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = timeoutWithin(() => reject(bodyTimeout()), deadline - now());
  });
  let body: Buffer;
  try {
    body = await Promise.race([reading, late]);
  } catch (err) {
    reading.catch(() => {}); // settles when the connection goes; nobody waits for it then
    throw err;
  } finally {
    clearTimeout(timer);
  }
  // JSON.parse makes an object of every `{},` (3 bytes): a body of the default 32 MiB could take
  // gigabytes of heap. Counted first, as an RPC's JSON message is (server/http/value-budget.ts).
  if (overJsonValueBudget(body)) {
    throw new OpenAIRequestError(`the request body holds more than ${MAX_REQUEST_VALUES} JSON values (objects, arrays and their items)`, Code.InvalidArgument, {
      httpStatus: 413,
      errorCode: "request_too_large",
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new OpenAIRequestError("We could not parse the JSON body of your request. Send a JSON object with content-type application/json.", Code.InvalidArgument, {
      errorCode: "invalid_json",
    });
  }
  if (!isObject(parsed)) throw new OpenAIRequestError("the request body must be a JSON object", Code.InvalidArgument, { errorCode: "invalid_json" });
  if (!nestedWithin(parsed, MAX_JSON_DEPTH)) {
    throw new OpenAIRequestError(`the request body is nested deeper than ${MAX_JSON_DEPTH} levels`, Code.InvalidArgument, { errorCode: "invalid_json" });
  }
  return parsed;
}

/**
 * How deep a request body's objects and arrays may nest. JSON.parse takes any depth, but the
 * pipeline's recursive walks (JSON.stringify of a tool's parameters, among others) overflow the
 * stack at a few thousand levels — an internal error for bad input. Connect's JSON codec refuses
 * a Struct nested deeper than 100; a body's own levels come on top.
 */
export const MAX_JSON_DEPTH = 128;

/** Whether `value`'s objects and arrays nest at most `max` levels deep (iterative: any depth is safe to check). */
function nestedWithin(value: object, max: number): boolean {
  const stack: Array<[object, number]> = [[value, 1]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [node, depth] = next;
    if (depth > max) return false;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push([child as object, depth + 1]);
    }
  }
  return true;
}

/** The refusal of a body that did not arrive before the call's deadline: 408, OpenAI's retryable timeout status. */
const bodyTimeout = () =>
  new OpenAIRequestError("the request body did not arrive before the call's deadline", Code.DeadlineExceeded, { httpStatus: 408, errorCode: "request_timeout" });

/** Whether `err` is {@link readJsonBody}'s refusal of a body that came too late (its connection is then closed). */
export function isBodyTimeout(err: unknown): boolean {
  return err instanceof OpenAIRequestError && err.errorCode === "request_timeout";
}

/** Sends `body` as a complete JSON answer. */
export function sendJson(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}
