import { toBinary } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CheckDecision, CheckRequestSchema, CheckStage, GuardrailCheckService, type CheckRequest } from "../../gen/ts/switchboard/ext/v1/guardrail_check_pb.js";
import { defaultEgress, type Egress } from "../http/egress-connect.js";
import type { GuardrailStageName } from "./policy.js";

/** One text to send to an external guardrail, with its field path. */
export interface ExternalContent {
  field: string;
  text: string;
}

/** What to check and where it came from. */
export interface ExternalCheckRequest {
  url: string;
  timeoutMs: number;
  failOpen: boolean;
  policy: string;
  rule: string;
  stage: GuardrailStageName;
  contents: readonly ExternalContent[];
  orgId: string;
  route: string;
  requestId: string;
  /** The call's signal: a caller that goes away cancels the check. */
  signal?: AbortSignal;
}

/** The verdict of an external guardrail. `unavailable`: it failed or timed out and the rule fails closed. */
export type ExternalVerdict =
  | { decision: "allow" }
  | { decision: "block"; category: string; field: string; message: string }
  | { decision: "unavailable"; field: string };

/** Calls teams' `switchboard.ext.v1.GuardrailCheckService` implementations. */
export interface ExternalChecker {
  check(req: ExternalCheckRequest): Promise<ExternalVerdict>;
  /** Service URLs a client is kept for now (at most `maxClients`). */
  clients(): number;
}

/**
 * Sends the request body with a `Content-Length` instead of chunked transfer encoding. A Connect
 * unary request in binary format is exactly the serialized message (no envelope, and this
 * transport does not compress requests), so its length is known; many HTTP/1.1 servers a team
 * may use (Python's wsgiref, plain WSGI servers) cannot read a chunked request body.
 */
const contentLength: Interceptor = (next) => async (req) => {
  if (!req.stream) req.header.set("content-length", String(toBinary(CheckRequestSchema, req.message as CheckRequest).byteLength));
  return next(req);
};

/** Options of {@link createExternalChecker}. */
export interface ExternalCheckerOptions {
  /** Told about every failed or timed-out call (with the URL, never the content). */
  onError?: (url: string, err: unknown) => void;
  /**
   * Clients kept, the least recently used let go beyond it (default 256): a URL is a tenant's
   * setting (one with a rotating `?token=` is a new URL each time), so the set must not grow with
   * the process's life (P24).
   */
  maxClients?: number;
  /**
   * The outbound clients of admin-set URLs (default: the default egress policy's): every service
   * URL is connected to through `egress.agentFor(url)`, so an address the policy refuses is never
   * dialled (a failure like any other: the rule fails open or closed as it says).
   */
  egress?: Egress;
}

/**
 * Creates the client side of external guardrails: one Connect client (HTTP/1.1, binary
 * protobuf) per service URL, reused across calls. Each check has the rule's timeout as its
 * deadline; a failure, a timeout or an unspecified decision is `allow` when the rule fails open
 * and `unavailable` (which the stage treats as a block) when it fails closed — the default.
 */
export function createExternalChecker(opts: ExternalCheckerOptions = {}): ExternalChecker {
  const maxClients = opts.maxClients ?? 256;
  const egress = opts.egress ?? defaultEgress();
  // A Map in use order: each use moves its URL to the end, so the first is the least recent.
  const clients = new Map<string, Client<typeof GuardrailCheckService>>();
  const clientFor = (url: string) => {
    let client = clients.get(url);
    if (client === undefined) {
      client = createClient(GuardrailCheckService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: true, interceptors: [contentLength], nodeOptions: { agent: egress.agentFor(url) } }));
      if (clients.size >= maxClients) clients.delete(clients.keys().next().value as string);
    } else clients.delete(url);
    clients.set(url, client);
    return client;
  };
  return {
    clients: () => clients.size,
    async check(req) {
      const failed = (err: unknown): ExternalVerdict => {
        opts.onError?.(req.url, err);
        return req.failOpen ? { decision: "allow" } : { decision: "unavailable", field: req.contents[0]?.field ?? "" };
      };
      let res;
      try {
        res = await clientFor(req.url).check(
          {
            policy: req.policy,
            rule: req.rule,
            stage: req.stage === "input" ? CheckStage.INPUT : CheckStage.OUTPUT,
            contents: req.contents.map((c) => ({ field: c.field, text: c.text })),
            orgId: req.orgId,
            route: req.route,
            requestId: req.requestId,
          },
          { timeoutMs: req.timeoutMs, ...(req.signal ? { signal: req.signal } : {}) },
        );
      } catch (err) {
        return failed(err);
      }
      if (res.decision === CheckDecision.ALLOW) return { decision: "allow" };
      if (res.decision !== CheckDecision.BLOCK) return failed(new Error(`external guardrail answered decision ${res.decision}`));
      const category = (res.category || "EXTERNAL").toUpperCase().replace(/[^A-Z0-9_]/g, "_").slice(0, 64);
      return { decision: "block", category, field: req.contents[res.contentIndex]?.field ?? req.contents[0]?.field ?? "", message: res.message.slice(0, 1024) };
    },
  };
}
