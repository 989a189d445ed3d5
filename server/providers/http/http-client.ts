import { finished, type Readable } from "node:stream";
import { Agent, errors as undiciErrors } from "undici";
import { EgressRefusedError, type Egress } from "../../http/egress-connect.js";
import { ProviderError } from "../provider-error.js";
import { notePending, trackWrites } from "./send-progress.js";

/** One upstream HTTP request. */
export interface HttpRequest {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  /** Aborts the request at once; the error is a `ProviderError` of kind `cancelled`. */
  signal: AbortSignal;
  /** Longest wait for response headers (default 60 s). */
  headersTimeoutMs?: number;
  /** Longest silence between body chunks (default 60 s). */
  bodyTimeoutMs?: number;
}

/** An upstream HTTP response whose body has not been read yet. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body; failures while reading are `ProviderError`s (timeout, connection, cancelled). */
  body: AsyncIterable<Uint8Array>;
  /** Reads the body as text, at most `maxBytes` (default 1 MiB); the rest is discarded. */
  text(maxBytes?: number): Promise<string>;
}

/** The timeouts a provider adapter is configured with (`headersTimeoutMs`, `idleTimeoutMs`). */
export interface AdapterTimeouts {
  headersTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/** A `POST` of a JSON `body` (already serialised), with an adapter's timeouts. */
export function jsonPost(url: string, headers: Record<string, string>, body: string, signal: AbortSignal, timeouts: AdapterTimeouts): HttpRequest {
  return {
    url,
    method: "POST",
    headers,
    body,
    signal,
    ...(timeouts.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: timeouts.headersTimeoutMs }),
    ...(timeouts.idleTimeoutMs === undefined ? {} : { bodyTimeoutMs: timeouts.idleTimeoutMs }),
  };
}

/** Sends requests over keep-alive connection pools, one pool per origin. */
export interface HttpClient {
  send(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /**
   * Connections per origin (default 1024). Size it to peak concurrency: a stream holds its
   * connection for its whole life, so a smaller pool queues the next stream behind the open ones
   * (with 128, the 129th concurrent stream to one provider waited). Idle pools cost nothing.
   */
  connections?: number;
  /** Longest TCP/TLS connect (default 5 s, Envoy's). */
  connectTimeoutMs?: number;
  /** How long an idle connection is kept (default 30 s). */
  keepAliveTimeoutMs?: number;
  /**
   * Connects only where this egress policy allows (`http/egress-connect.ts`): the client of
   * endpoints an admin set through the API (a credential's `base_url`). Unset: anywhere (the
   * operator's own endpoints).
   */
  egress?: Egress;
}

/**
 * Creates the HTTP client adapters share: undici with keep-alive pools (WHATWG `fetch` costs
 * 5–7× more CPU per request here). Every transport failure becomes a classified `ProviderError`;
 * HTTP error statuses are returned, for the adapter to classify with its own envelope.
 */
export function createHttpClient(opts: HttpClientOptions = {}): HttpClient {
  const connect = { timeout: opts.connectTimeoutMs ?? 5_000 };
  const agent = new Agent({
    connections: opts.connections ?? 1024,
    connect: opts.egress === undefined ? connect : opts.egress.connector(connect),
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
  });
  // Marks each request written when a connection takes it (`send-progress.ts`): a call cancelled
  // before that never reached the provider and is billed nothing.
  const dispatcher = agent.compose(trackWrites);
  return {
    // A promise chain, not an `async` function: no suspended frame per request in flight.
    send(req) {
      notePending(req.signal);
      if (req.signal.aborted) return Promise.reject(new ProviderError("cancelled", "the call was cancelled"));
      let pending;
      try {
        const { origin, path } = targetOf(req.url);
        pending = dispatcher.request({
          origin,
          path,
          method: req.method,
          headers: req.headers,
          body: req.body,
          signal: req.signal,
          headersTimeout: req.headersTimeoutMs ?? 60_000,
          bodyTimeout: req.bodyTimeoutMs ?? 60_000,
        });
      } catch (err) {
        return Promise.reject(classifyTransportError(err, req.signal));
      }
      return pending.then(
        (res) => responseOf(res.statusCode, res.headers, res.body, req.signal),
        (err: unknown) => {
          throw classifyTransportError(err, req.signal);
        },
      );
    },
    close: () => agent.close(),
  };
}

/** The response over undici's body, its failures classified. */
function responseOf(status: number, headers: HttpResponse["headers"], raw: Readable, signal: AbortSignal): HttpResponse {
  const body: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      try {
        for await (const chunk of raw) yield chunk as Uint8Array;
      } catch (err) {
        throw classifyTransportError(err, signal);
      }
    },
  };
  // Straight from undici's body (its chunks are Buffers): no generator layer, no async iterator
  // (its promise per chunk and its listeners), no copy of a chunk, no concat for the usual
  // one-chunk answer. `finished` reports the end, an error and a premature close alike.
  const text = (maxBytes = 1024 * 1024) =>
    new Promise<string>((resolve, reject) => {
      const parts: Buffer[] = [];
      let size = 0;
      raw.on("data", (chunk: Buffer) => {
        if (size < maxBytes) parts.push(chunk.byteLength <= maxBytes - size ? chunk : chunk.subarray(0, maxBytes - size));
        size += chunk.byteLength;
      });
      finished(raw, (err) => {
        if (err) reject(classifyTransportError(err, signal));
        else resolve((parts.length === 1 ? parts[0]! : Buffer.concat(parts)).toString("utf8"));
      });
    });
  return { status, headers, body, text };
}

/** Origin and path of each URL sent to, parsed once (a provider's URLs are a handful). */
const targets = new Map<string, { origin: string; path: string }>();

/**
 * `url` split as undici's `request(url)` splits it, without a WHATWG `URL` built per call. A URL
 * with a query is parsed every time and not kept: a query may carry a credential.
 */
function targetOf(url: string): { origin: string; path: string } {
  let target = targets.get(url);
  if (target === undefined) {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new TypeError(`unsupported URL protocol ${parsed.protocol}`);
    target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    if (parsed.search === "" && targets.size < 256) targets.set(url, target);
  }
  return target;
}

/** Maps undici and socket errors to the provider error kinds; the cause stays for the log. */
export function classifyTransportError(err: unknown, signal: AbortSignal): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal.aborted) return new ProviderError("cancelled", "the call was cancelled", { cause: err });
  if (
    err instanceof undiciErrors.ConnectTimeoutError ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError
  ) {
    return new ProviderError("timeout", "the provider did not answer in time", { cause: err });
  }
  // Told apart by its cause: dispatch does not retry it on the same target (the policy refuses it
  // again) but falls back to the next, which may be reachable (`dispatch/retryable.ts`).
  if (err instanceof EgressRefusedError) return new ProviderError("connection", "the connection to the provider failed: the egress policy refuses its address", { cause: err });
  return new ProviderError("connection", "the connection to the provider failed", { cause: err });
}
