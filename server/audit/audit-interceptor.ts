import type { DescService, JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type StreamResponse, type UnaryRequest, type UnaryResponse, type StreamRequest } from "@connectrpc/connect";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { afterCall } from "../after-call.js";
import { accessDenialOf, type AccessDenial } from "../auth/access-denial.js";
import { createMethodScopes } from "../auth/method-scopes.js";
import { scopeName } from "../auth/scopes.js";
import { refusedAKnownKey } from "../auth/authenticator.js";
import { kAuditNote, kPeer, kPrincipal, kRequestId } from "../interceptors/context-keys.js";
import { codeName } from "../interceptors/telemetry.js";
import type { AuditOutcomeName } from "../store/audit-store.js";
import type { AuditLog, AuditRecord } from "./audit-log.js";
import { canonicalJson } from "./chain.js";
import { maskedJson } from "./mask.js";
import { actorOf, refusalRecord } from "./refusal-record.js";
import { orgNameOf, resourceOf } from "./resource-of.js";

/** Dependencies of {@link createAuditInterceptor}. */
export interface AuditInterceptorDeps {
  audit: Pick<AuditLog, "append" | "appendLater">;
}

/** Options of {@link createAuditInterceptor}. */
export interface AuditInterceptorOptions {
  /** The services whose methods carry a required scope (the auth interceptor's `guarded`). */
  guarded: readonly DescService[];
  /** Largest `before`/`after` recorded, in bytes of canonical JSON (default 64 KiB); larger is replaced by its size. */
  maxSnapshotBytes?: number;
}

/**
 * Whether calls of a method with this required scope are audited: every `*_WRITE` scope and
 * `SCOPE_PLATFORM_ADMIN` — the admin mutations, including those of services added later.
 */
export function isAuditedScope(scope: Scope): boolean {
  return scope === Scope.PLATFORM_ADMIN || scopeName(scope).endsWith("_WRITE");
}

/**
 * Records the audit trail of guarded RPCs. Sits outside the auth interceptor, so it sees every
 * refusal:
 *
 * - every authentication failure of any guarded method: no actor, the request's resource, and
 *   the presented key's display prefix when the key is well-formed (never more of it);
 * - every call of an audited method ({@link isAuditedScope}): a success with the resource before
 *   and after (as the handler noted them with `noteAudit`, else the response), a denial or a
 *   failure with the masked request that was refused;
 * - every access decision's refusal of any other guarded method (an {@link AccessDenial}: a key
 *   without the method's scope, a route the key may not use — on the Connect surface as on the
 *   OpenAI one), keeping only what was refused (`{ route }`), never the request's content. Other
 *   `PermissionDenied`s of such methods, a guardrail's content-policy block among them, are not
 *   access decisions and are not recorded.
 *
 * A success is appended before the response leaves (an append that fails fails the RPC, after the
 * change took effect: the error is logged with the event). Refusals and failures are appended in
 * the background (`appendLater`): their callers gain nothing by waiting, cannot stall or flood the
 * log, and are not held up by a database that is the reason they failed.
 */
export function createAuditInterceptor(deps: AuditInterceptorDeps, opts: AuditInterceptorOptions): Interceptor {
  const scopes = createMethodScopes(opts.guarded);
  const maxBytes = opts.maxSnapshotBytes ?? 64 * 1024;
  const bounded = (json: JsonValue | null): JsonValue | null => {
    if (json === null) return null;
    const bytes = Buffer.byteLength(canonicalJson(json), "utf8");
    return bytes > maxBytes ? { truncated: true, bytes } : json;
  };

  const base = (req: UnaryRequest | StreamRequest, outcome: AuditOutcomeName, code: Code | undefined): Omit<AuditRecord, "resource" | "before" | "after" | "org"> => ({
    ...actorOf(req.contextValues.get(kPrincipal)),
    action: `${req.service.typeName}/${req.method.name}`,
    outcome,
    code: code === undefined ? "ok" : codeName(code),
    peer: req.contextValues.get(kPeer),
    requestId: req.contextValues.get(kRequestId),
  });
  const orgOf = (resource: string, noted: string | null | undefined): AuditRecord["org"] => {
    if (noted !== undefined) return noted === null ? null : { id: noted };
    const name = orgNameOf(resource);
    return name === undefined ? null : { name };
  };
  const requestResource = (req: UnaryRequest | StreamRequest): string => (req.stream ? "" : resourceOf(req.method.input, req.message));

  const succeeded = (req: UnaryRequest | StreamRequest, res: UnaryResponse | StreamResponse): AuditRecord => {
    const note = req.contextValues.get(kAuditNote);
    const fromResponse = res.stream ? "" : resourceOf(res.method.output, res.message);
    const resource = note?.resource ?? (fromResponse !== "" ? fromResponse : requestResource(req));
    // A note's after; else, unless the note says what was removed (a delete), the response.
    const after = note?.after
      ? maskedJson(note.after.schema, note.after.message as never)
      : note?.before || res.stream
        ? null
        : maskedJson(res.method.output, res.message);
    return {
      ...base(req, "success", undefined),
      resource,
      before: bounded(note?.before ? maskedJson(note.before.schema, note.before.message as never) : null),
      after: bounded(after),
      org: orgOf(resource, note?.orgId),
    };
  };
  /** What a refusal keeps of the request: an audited method's masked request, else only what an access decision refused. */
  const refusedRequest = (req: UnaryRequest | StreamRequest, code: Code, denial: AccessDenial | undefined, audited: boolean): JsonValue | null => {
    // Described only when kept: refusalRecord drops an unauthenticated caller's request.
    if (code === Code.Unauthenticated) return null;
    if (!audited) {
      const refused = denial?.refused ?? null;
      return refused === null ? null : { request: refused };
    }
    return bounded(req.stream ? null : { request: maskedJson(req.method.input, req.message) });
  };
  const refused = (req: UnaryRequest | StreamRequest, code: Code, request: JsonValue | null, err?: unknown): AuditRecord => {
    const note = req.contextValues.get(kAuditNote);
    const resource = note?.resource ?? requestResource(req);
    return refusalRecord({
      action: `${req.service.typeName}/${req.method.name}`,
      resource,
      code,
      principal: req.contextValues.get(kPrincipal),
      authorization: req.header.get("authorization"),
      knownKey: refusedAKnownKey(err),
      peer: req.contextValues.get(kPeer),
      requestId: req.contextValues.get(kRequestId),
      before: bounded(note?.before ? maskedJson(note.before.schema, note.before.message as never) : null),
      request,
      org: orgOf(resource, note?.orgId),
    });
  };

  /** Records a refusal worth auditing (see above); one function for every call, the request an argument. */
  const record = (req: UnaryRequest | StreamRequest, audited: boolean, err: unknown): void => {
    const code = err instanceof ConnectError ? err.code : Code.Internal;
    const denial = accessDenialOf(err);
    if (code !== Code.Unauthenticated && !audited && denial === undefined) return;
    try {
      deps.audit.appendLater(refused(req, code, refusedRequest(req, code, denial, audited), err));
    } catch {
      // Describing the refusal failed (a malformed message): the caller still gets its error.
    }
  };
  async function* deniedOnPull<T>(inner: AsyncIterable<T>, req: StreamRequest | UnaryRequest, audited: boolean): AsyncGenerator<T> {
    try {
      yield* inner;
    } catch (err) {
      if (accessDenialOf(err) !== undefined) record(req, audited, err);
      throw err;
    }
  }

  /** The response as passed on: a stream's first pull may still be refused (audited then). */
  const passed = <R extends UnaryResponse | StreamResponse>(req: UnaryRequest | StreamRequest, res: R, audited: boolean): R =>
    // A streaming handler's access decision (ChatStream's route check) surfaces on the first
    // pull; other stream failures are not audited (an audited method's success already was).
    res.stream ? { ...res, message: deniedOnPull(res.message, req, audited) } : res;

  // A promise chain, not an `async` function: no suspended frame per call in flight (`afterCall`).
  return (next) => (req) => {
    const required = scopes.requiredScope(req.method);
    if (required === undefined) return next(req);
    const audited = isAuditedScope(required);
    return afterCall(
      () => next(req),
      (res) => (audited ? deps.audit.append(succeeded(req, res)).then(() => passed(req, res, audited)) : passed(req, res, audited)),
      (err: unknown) => {
        record(req, audited, err);
        throw err;
      },
    );
  };
}
