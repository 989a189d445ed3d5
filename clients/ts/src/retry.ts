import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { SwitchboardError } from "./errors.js";

/** When and how often calls are retried. */
export interface RetryPolicy {
  /** Retries after the first attempt (default 2: at most 3 attempts); 0 disables retrying. */
  retries: number;
  /** Ceiling of the first backoff (default 250 ms); it doubles per retry up to `maxBackoffMs`. */
  initialBackoffMs: number;
  /** Largest backoff ceiling (default 5 000 ms). */
  maxBackoffMs: number;
  /** A server-requested delay longer than this is not waited for: the error is returned (default 30 000 ms). */
  maxServerDelayMs: number;
  /** Uniform in [0, 1); `Math.random` outside tests. */
  random: () => number;
}

/** The defaults of {@link RetryPolicy} (the same as the Go and Python clients'). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 2, initialBackoffMs: 250, maxBackoffMs: 5_000, maxServerDelayMs: 30_000, random: Math.random };

/**
 * The one decision whether a failed attempt is retried, and after how long: only `Unavailable`
 * (the gateway or the network could not serve the call, so trying again may work) — never
 * `ResourceExhausted`, whose budget does not come back by itself and whose rate limit names its
 * own delay. The wait is "full jitter" (uniform in [0, min(initial·2^(retry-1), max))), or the
 * server's delay when longer; none when the server said not to retry, asked for more than
 * `maxServerDelayMs`, or the wait would outlast the call's deadline (`remainingMs`).
 */
export function retryDelay(policy: RetryPolicy, retry: number, err: unknown, remainingMs: number | undefined): number | undefined {
  if (retry > policy.retries || !(err instanceof ConnectError) || err.code !== Code.Unavailable) return undefined;
  const ceiling = Math.min(policy.initialBackoffMs * 2 ** (retry - 1), policy.maxBackoffMs);
  let wait = policy.random() * ceiling;
  const server = SwitchboardError.fromError(err).retryDelayMs;
  if (server !== undefined) {
    if (server < 0 || server > policy.maxServerDelayMs) return undefined;
    wait = Math.max(wait, server);
  }
  if (remainingMs !== undefined && remainingMs <= wait) return undefined;
  return wait;
}

/**
 * Retries unary calls, and server streams that failed before their first message (nothing has
 * reached the caller then, so the retry is invisible), as {@link retryDelay} decides. Every
 * attempt shares the call's one deadline: the timeout header is re-sent with what is left, and a
 * backoff never outlasts it. Client and bidi streams are not retried.
 */
export function createRetryInterceptor(policy: RetryPolicy): Interceptor {
  return (next) => async (req) => {
    if (policy.retries <= 0) return next(req);
    const deadline = deadlineOf(req.header);
    const remaining = () => (deadline === undefined ? undefined : deadline - Date.now());
    const fresh = () => {
      const header = new Headers(req.header);
      const left = remaining();
      if (left !== undefined) setTimeoutHeader(header, Math.max(1, Math.floor(left)));
      return header;
    };
    if (!req.stream) {
      for (let retry = 1; ; retry++) {
        try {
          return await next({ ...req, header: retry === 1 ? req.header : fresh() });
        } catch (err) {
          const wait = retryDelay(policy, retry, err, remaining());
          if (wait === undefined) throw err;
          await sleep(wait, req.signal);
        }
      }
    }
    if (req.method.methodKind !== "server_streaming") return next(req);
    const inputs: Message[] = [];
    for await (const m of req.message) inputs.push(m);
    for (let retry = 1; ; retry++) {
      try {
        const res = await next({ ...req, header: retry === 1 ? req.header : fresh(), message: replay(inputs) });
        return res.stream ? await withFirstMessage(res) : res;
      } catch (err) {
        const wait = retryDelay(policy, retry, err, remaining());
        if (wait === undefined) throw err;
        await sleep(wait, req.signal);
      }
    }
  };
}

/** Waits for the stream's first message (so a failure before it can be retried), then hands on the whole stream. */
async function withFirstMessage<R extends { message: AsyncIterable<unknown> }>(res: R): Promise<R> {
  const it = res.message[Symbol.asyncIterator]();
  const first = await it.next();
  const rest = (async function* () {
    if (first.done === true) return;
    yield first.value;
    for (;;) {
      const step = await it.next();
      if (step.done === true) return;
      yield step.value;
    }
  })();
  return { ...res, message: rest };
}

/** The request's messages again, for a retried stream. */
async function* replay<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

/** The absolute deadline (epoch ms) the transport put in the timeout header, if any. */
function deadlineOf(header: Headers): number | undefined {
  const connectMs = header.get("connect-timeout-ms");
  if (connectMs !== null && /^\d+$/.test(connectMs)) return Date.now() + Number(connectMs);
  const grpc = header.get("grpc-timeout");
  const m = grpc === null ? null : /^(\d+)([HMSmun])$/.exec(grpc);
  if (m === null) return undefined;
  const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };
  return Date.now() + Number(m[1]) * unitMs[m[2]!]!;
}

function setTimeoutHeader(header: Headers, ms: number): void {
  if (header.has("connect-timeout-ms")) header.set("connect-timeout-ms", String(ms));
  if (header.has("grpc-timeout")) header.set("grpc-timeout", `${ms}m`);
}

/** Waits `ms`, or rejects with the call's own error (deadline or cancellation) when `signal` fires. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal.reason ?? new ConnectError("the call was cancelled", Code.Canceled)));
    };
    if (signal.aborted) return abort();
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal.addEventListener("abort", abort, { once: true });
  });
}
