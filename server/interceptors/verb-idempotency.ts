import { createHash } from "node:crypto";
import { clone, fromBinary, toBinary, toJson, type DescMessage, type DescService, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type HandlerContext, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "../observability/logger.js";
import { withRetryInfo } from "../errors/retry-info.js";
import type { VerbIdempotencyStore } from "../store/verb-idempotency-store.js";
import { kPrincipal } from "./context-keys.js";
import { startLeaseHeartbeat } from "./lease-heartbeat.js";

/** Dependencies of {@link createVerbIdempotencyInterceptor}. */
export interface VerbIdempotencyDeps {
  store: VerbIdempotencyStore;
  logger: Logger;
}

/** Options of {@link createVerbIdempotencyInterceptor}. */
export interface VerbIdempotencyOptions {
  /** Services whose requests carry `options.idempotency_key` (the capability verbs). */
  services: readonly DescService[];
  /** How long a stored result is returned for a repeat (default 24 h). */
  retentionMs?: number;
  /**
   * How long a claim lasts unless renewed (default 30 s; `idempotency.leaseMs`). A running call
   * renews it every third of that, however long it runs, so only a call whose replica died (or
   * lost the database for a whole lease) loses its key to a repeat — within one lease.
   */
  leaseMs?: number;
}

/** The response header that says whether an answer is a stored one. */
export const REPLAYED_HEADER = "idempotent-replayed";

const DAY = 86_400_000;
/** The default claim lease: a dead replica's key is free within it, at one renewal per 10 s per running call. */
const DEFAULT_LEASE_MS = 30_000;

/**
 * The refusal of a repeat while a call with its key runs. Its retry delay is the claim's remaining
 * lease, but at most a renewal period (a third of this replica's lease): a claim whose replica died
 * is free when its lease ends, so the last delay lands there; a live call may end any time, so its
 * caller looks again each period rather than only once per lease.
 */
function inFlight(leaseLeftMs: number, leaseMs: number): ConnectError {
  const retryAfterMs = Math.min(leaseLeftMs, Math.ceil(leaseMs / 3));
  return withRetryInfo(
    new ConnectError(`idempotency_key: a request with this key is still in progress; retry after it has finished (check again in ${retryAfterMs} ms)`, Code.Aborted),
    retryAfterMs,
  );
}

/**
 * Idempotency keys for the verbs (`RequestOptions.idempotency_key`), after Stripe and the IETF
 * `Idempotency-Key` draft, per org:
 *
 * - the first call with a key runs; its response (every message, for ChatStream) is stored;
 * - a repeat with the same key and the same request returns that response, and no provider is
 *   called again (header `idempotent-replayed: true`);
 * - the same key with a different request (or method), or from another virtual key of the org,
 *   is `FailedPrecondition` (the draft's 422): a replay runs none of the verb's checks;
 * - a repeat while the first call still runs is `Aborted` (the draft's 409), with a RetryInfo
 *   delay of at most the claim's remaining lease (see `inFlight`).
 *
 * Only successes are stored: a call that fails gives its key back, so the caller can retry the
 * same key after a failure (a failure may still have been billed for its attempts; see Usage).
 * Results are kept `retentionMs` (24 h). A running call renews its claim's lease (`leaseMs`)
 * every third of it until it ends or its caller goes away, so a long call keeps its key; a claim
 * whose replica died is not renewed and is taken over once its lease ends. A call that lost its
 * claim anyway (its renewals failed for a whole lease) still answers its caller but neither
 * stores its answer nor gives the key back: the key belongs to the call that took it over. If the
 * store cannot be reached, the call is refused with `Unavailable` rather than run without its
 * guarantee.
 */
export function createVerbIdempotencyInterceptor(deps: VerbIdempotencyDeps, opts: VerbIdempotencyOptions): Interceptor {
  const services = new Set(opts.services.map((s) => s.typeName));
  const retentionMs = opts.retentionMs ?? DAY;
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  let lastPurge = 0;

  const purge = (): void => {
    if (Date.now() - lastPurge < 3_600_000) return;
    lastPurge = Date.now();
    deps.store.purgeExpired(retentionMs).catch((err: unknown) => deps.logger.warn({ err }, "purging expired idempotency records failed"));
  };

  return (next) => async (req) => {
    if (!services.has(req.service.typeName)) return next(req);
    const principal = req.contextValues.get(kPrincipal);
    // A server stream's single request is read here and handed on unchanged.
    const message = req.stream ? await first(req.message) : req.message;
    const forward = req.stream ? { ...req, message: once(message) } : req;
    const key = (message as { options?: { idempotencyKey?: string } }).options?.idempotencyKey ?? "";
    if (principal === undefined || key === "") return next(forward);
    const id = { orgId: principal.orgId, key, method: req.method.name, fingerprint: requestFingerprint(principal.keyId, req.method.input, message) };
    let claim;
    try {
      claim = await deps.store.claim(id, { leaseMs, retentionMs });
    } catch (err) {
      deps.logger.warn({ err }, "idempotency store unreachable");
      throw new ConnectError("idempotency keys cannot be checked right now; retry shortly", Code.Unavailable);
    }
    purge();
    switch (claim.kind) {
      case "mismatch":
        throw new ConnectError("idempotency_key: already used for a different request; use a new key", Code.FailedPrecondition);
      case "in_flight":
        throw inFlight(claim.leaseLeftMs, leaseMs);
      case "done": {
        // Answered by the handler (see `withIdempotentReplay`), so the protocol's own response
        // headers are kept; the verb itself does not run.
        req.contextValues.set(kReplay, unframe(claim.response).map((bytes) => fromBinary(req.method.output, bytes)));
        const res = await next(forward);
        res.header.set(REPLAYED_HEADER, "true");
        return res;
      }
      case "claimed":
        break;
    }
    const { held } = claim;
    // Only claimed calls pay for this: one timer and one UPDATE per third of the lease. It stops
    // before the result is stored or the key given back, and with the RPC (`req.signal` aborts
    // when the call ends or its caller goes away), so a stream never read to its end stops too.
    const stopRenewing = startLeaseHeartbeat({
      renew: () => deps.store.renew(held, { leaseMs }),
      everyMs: leaseMs / 3,
      signal: req.signal,
      onError: (err) => deps.logger.warn({ err, orgId: id.orgId, method: id.method }, "renewing an idempotency key's lease failed; retrying at the next renewal"),
    });
    // A call whose renewals failed for a whole lease may have lost the key to a repeat, which now
    // runs and owns it: this call's result is then not stored and its failure gives nothing back
    // (the store matches the claim's token), or the repeat's answer would be overwritten, or a
    // third call run.
    const lost = (what: string) => deps.logger.warn({ orgId: id.orgId, method: id.method, leaseMs }, `an idempotent call outlived its lease and its key was taken over; its ${what}`);
    const release = () =>
      deps.store.release(held).then(
        (released) => {
          if (!released) lost("failure gave nothing back");
        },
        (err: unknown) => deps.logger.warn({ err }, "releasing an idempotency key failed"),
      );
    const store = (messages: readonly MessageShape<DescMessage>[]) =>
      deps.store.complete(held, frame(messages.map((m) => toBinary(req.method.output, m)))).then(
        (stored) => {
          if (!stored) lost("result was not stored");
        },
        (err: unknown) => {
          // The claim stays in flight until its lease ends: repeats are refused meanwhile, never re-run.
          deps.logger.error({ err }, "storing an idempotent result failed");
        },
      );
    let res;
    try {
      res = await next(forward);
    } catch (err) {
      stopRenewing();
      await release();
      throw err;
    }
    res.header.set(REPLAYED_HEADER, "false");
    if (!res.stream) {
      stopRenewing();
      await store([res.message]);
      return res;
    }
    const inner = res.message;
    return {
      ...res,
      message: (async function* () {
        const seen: MessageShape<DescMessage>[] = [];
        let ok = false;
        try {
          for await (const m of inner) {
            seen.push(m);
            yield m;
          }
          ok = true;
        } finally {
          stopRenewing();
          // A stream that reports its failure in-band (ChatStream's terminal events other than
          // `completed`) ended the RPC normally but is not a success: its key is given back too.
          if (ok && !failedInBand(seen.at(-1))) await store(seen);
          else await release();
        }
      })(),
    };
  };
}

/** ChatStream's terminal events that report a failure: the stream was cut, failed upstream, or ran out of budget. */
const FAILED_TERMINALS = new Set(["truncated", "upstreamError", "budgetExhausted"]);

/** Whether a server stream's last message is a terminal event that reports a failure. */
function failedInBand(last: MessageShape<DescMessage> | undefined): boolean {
  const event = (last as { event?: { case?: unknown } } | undefined)?.event;
  return typeof event?.case === "string" && FAILED_TERMINALS.has(event.case);
}

/** The stored messages a repeat is answered with, set by the interceptor for the handler. */
const kReplay = createContextKey<readonly MessageShape<DescMessage>[] | undefined>(undefined, { description: "idempotent replay" });

/**
 * Wraps a service implementation so that a call the idempotency interceptor found already done
 * answers with the stored messages instead of running again. Register the verbs' service with it.
 */
export function withIdempotentReplay<S extends DescService>(service: S, impl: ServiceImpl<S>): ServiceImpl<S> {
  const wrapped: Record<string, unknown> = { ...impl };
  const methods = impl as unknown as Record<string, ((req: unknown, ctx: HandlerContext) => unknown) | undefined>;
  for (const method of service.methods) {
    const original = methods[method.localName];
    if (original === undefined) continue;
    if (method.methodKind === "unary") {
      wrapped[method.localName] = (req: unknown, ctx: HandlerContext) => ctx.values.get(kReplay)?.[0] ?? original(req, ctx);
    } else if (method.methodKind === "server_streaming") {
      wrapped[method.localName] = (req: unknown, ctx: HandlerContext) => {
        const stored = ctx.values.get(kReplay);
        return stored === undefined ? original(req, ctx) : replay(stored);
      };
    }
  }
  return wrapped as ServiceImpl<S>;
}

/**
 * What makes a repeat the same request: the calling key and the request without its idempotency
 * key, hashed independently of map and field order. The key is in it because a stored answer is
 * replayed without running the verb — so without the key's own checks (the routes it may use):
 * another key of the org sending the same request under the same idempotency key gets
 * `failed_precondition`, never the first key's answer. Exported for tests that claim a call's key
 * through the store (a replica that died holding it).
 */
export function requestFingerprint(keyId: string, schema: DescMessage, message: MessageShape<DescMessage>): string {
  const copy = clone(schema, message) as MessageShape<DescMessage> & { options?: { idempotencyKey: string } };
  if (copy.options !== undefined) copy.options.idempotencyKey = "";
  return createHash("sha256").update(keyId).update("\n").update(canonical(toJson(schema, copy))).digest("hex");
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Messages as one byte string: each preceded by its length (4 bytes, big-endian). */
function frame(messages: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((n, m) => n + 4 + m.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const m of messages) {
    view.setUint32(at, m.length);
    out.set(m, at + 4);
    at += 4 + m.length;
  }
  return out;
}

function unframe(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const length = view.getUint32(at);
    out.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

async function first<T>(messages: AsyncIterable<T>): Promise<T> {
  for await (const m of messages) return m;
  throw new ConnectError("request message missing", Code.InvalidArgument);
}

async function* once<T>(message: T): AsyncIterable<T> {
  yield message;
}

async function* replay<T>(messages: readonly T[]): AsyncIterable<T> {
  yield* messages;
}
