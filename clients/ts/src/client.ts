import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type CallOptions, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { AuditService } from "../../../gen/ts/switchboard/v1/audit_service_pb.js";
import { BudgetService } from "../../../gen/ts/switchboard/v1/budget_service_pb.js";
import { CacheService } from "../../../gen/ts/switchboard/v1/cache_service_pb.js";
import { CapabilityService } from "../../../gen/ts/switchboard/v1/capability_service_pb.js";
import { CredentialService } from "../../../gen/ts/switchboard/v1/credential_service_pb.js";
import { GuardrailService } from "../../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { KeyService } from "../../../gen/ts/switchboard/v1/key_service_pb.js";
import { PromptService } from "../../../gen/ts/switchboard/v1/prompt_service_pb.js";
import { RouteService } from "../../../gen/ts/switchboard/v1/route_service_pb.js";
import { TenantService } from "../../../gen/ts/switchboard/v1/tenant_service_pb.js";
import { UsageService } from "../../../gen/ts/switchboard/v1/usage_service_pb.js";
import { SwitchboardError } from "./errors.js";
import { createRetryInterceptor, DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";

/** The wire protocol. The gateway serves all three on one port. */
export type SwitchboardProtocol = "connect" | "grpc" | "grpc-web";

/** Options of {@link createSwitchboardClient}. */
export interface SwitchboardClientOptions {
  /** The gateway's URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** A virtual key (`sb_live_…`), sent as `authorization: Bearer <key>` on every call. */
  apiKey: string;
  /**
   * `connect` (default; HTTP/1.1, curl-friendly), `grpc` (HTTP/2: h2c for `http://`, TLS for
   * `https://`) or `grpc-web`.
   */
  protocol?: SwitchboardProtocol;
  /**
   * Deadline of every call that sets none of its own (`{ timeoutMs }` in the call options wins),
   * covering every retry and backoff. Unset: the gateway's default (120 s for a verb).
   */
  timeoutMs?: number;
  /** Retries of a call that failed with `Unavailable` (default 2); 0 disables retrying. */
  retries?: number;
  /** Backoff tuning; see {@link RetryPolicy}. */
  retryPolicy?: Partial<Omit<RetryPolicy, "retries">>;
  /** More interceptors, run on every attempt inside the retry loop (tracing, logging). */
  interceptors?: Interceptor[];
}

/** Typed clients of every `switchboard.v1` service, sharing one transport. */
export interface SwitchboardClient {
  /** The capability verbs: Summarize, Classify, Extract, Answer, Chat, ChatStream, Embed. */
  capability: Client<typeof CapabilityService>;
  tenants: Client<typeof TenantService>;
  keys: Client<typeof KeyService>;
  credentials: Client<typeof CredentialService>;
  routes: Client<typeof RouteService>;
  budgets: Client<typeof BudgetService>;
  prompts: Client<typeof PromptService>;
  usage: Client<typeof UsageService>;
  audit: Client<typeof AuditService>;
  cache: Client<typeof CacheService>;
  guardrails: Client<typeof GuardrailService>;
  /** The transport, for a service this object does not list (`createClient(Service, transport)`). */
  transport: Transport;
}

/**
 * Creates a Switchboard client over the generated code in `gen/ts`: every verb and admin service,
 * unary and streaming, with the key attached to every call, retries of `Unavailable` only (jittered
 * backoff that honours the server's retry delay and the call's deadline), and every failure thrown
 * as a {@link SwitchboardError} with its typed details decoded.
 */
export function createSwitchboardClient(opts: SwitchboardClientOptions): SwitchboardClient {
  // A field given as undefined keeps its default (as `retries` and `timeoutMs` do), rather than
  // erasing it: an undefined `maxServerDelayMs` would honour any server delay, however long.
  const tuning = Object.fromEntries(Object.entries(opts.retryPolicy ?? {}).filter(([, v]) => v !== undefined));
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...tuning, retries: Math.max(0, opts.retries ?? DEFAULT_RETRY_POLICY.retries) };
  const interceptors: Interceptor[] = [
    // Outermost: retries wrap everything below, so each attempt is sent afresh with the key.
    createRetryInterceptor(policy),
    keyInterceptor(opts.apiKey),
    ...(opts.interceptors ?? []),
  ];
  const common = { baseUrl: opts.baseUrl, interceptors, ...(opts.timeoutMs === undefined ? {} : { defaultTimeoutMs: opts.timeoutMs }) };
  const protocol = opts.protocol ?? "connect";
  const transport =
    protocol === "grpc"
      ? createGrpcTransport(common)
      : protocol === "grpc-web"
        ? createGrpcWebTransport({ ...common, httpVersion: "1.1" })
        : createConnectTransport({ ...common, httpVersion: "1.1" });
  const client = <S extends DescService>(service: S) => withSwitchboardErrors(service, createClient(service, transport));
  return {
    capability: client(CapabilityService),
    tenants: client(TenantService),
    keys: client(KeyService),
    credentials: client(CredentialService),
    routes: client(RouteService),
    budgets: client(BudgetService),
    prompts: client(PromptService),
    usage: client(UsageService),
    audit: client(AuditService),
    cache: client(CacheService),
    guardrails: client(GuardrailService),
    transport,
  };
}

function keyInterceptor(apiKey: string): Interceptor {
  return (next) => (req) => {
    try {
      req.header.set("authorization", `Bearer ${apiKey}`);
    } catch {
      // Headers.set's own error quotes the whole value, key included: neither it nor its message
      // may reach the caller's logs.
      throw new ConnectError("the API key cannot be sent in an HTTP header (it contains a control character)", Code.Unknown);
    }
    return next(req);
  };
}

/**
 * The client with every failure rethrown as a {@link SwitchboardError}, streams included. Done
 * around the generated methods rather than in an interceptor because the transport replaces an
 * interceptor's error with the call's own once its deadline or cancellation has fired.
 */
function withSwitchboardErrors<S extends DescService>(service: S, client: Client<S>): Client<S> {
  const raw = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  const out: Record<string, unknown> = {};
  for (const method of service.methods) {
    const call = raw[method.localName]!;
    out[method.localName] =
      method.methodKind === "unary" || method.methodKind === "client_streaming"
        ? (...args: unknown[]) =>
            (call(...args) as Promise<unknown>).catch((err: unknown) => {
              throw SwitchboardError.fromError(err);
            })
        : (input: unknown, options?: CallOptions) => {
            // connect-es's stream iterable drops `return`, so leaving a `for await` early would
            // leave the call running — the gateway still generating, and billing, the answer
            // nobody reads. The call gets a signal of ours, aborted when the loop stops early.
            const stop = new AbortController();
            const signal = options?.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
            return rethrowing(call(input, { ...options, signal }) as AsyncIterable<unknown>, stop);
          };
  }
  return out as Client<S>;
}

async function* rethrowing<T>(messages: AsyncIterable<T>, stop: AbortController): AsyncIterable<T> {
  let ended = false;
  try {
    yield* messages;
    ended = true;
  } catch (err) {
    ended = true;
    throw SwitchboardError.fromError(err);
  } finally {
    // Left early (`break`, `return` or a throw in the loop's body): the call is cancelled.
    if (!ended) stop.abort();
  }
}
