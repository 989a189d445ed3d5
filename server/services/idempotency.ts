import { createHash } from "node:crypto";
import { clone, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Principal } from "../auth/principal.js";
import type { IdempotencyKey, IdempotentOutcome } from "../store/idempotent.js";

/**
 * The idempotency key of a mutation carrying a `request_id`, or `undefined` when it has none.
 * Request ids are scoped to the caller's org and the operation; the fingerprint is a hash of the
 * request without its `request_id`, so reusing an id for a different request is detected. Map
 * entries (labels, tags, settings) are hashed in key order: the binary form keeps the order they
 * arrived in, which a client's marshaling may change between a call and its retry (Go randomizes
 * it), and a retry must not be taken for a different request.
 */
export function idempotencyKey<Desc extends DescMessage>(
  principal: Principal,
  operation: string,
  schema: Desc,
  request: MessageShape<Desc> & { requestId: string },
): IdempotencyKey | undefined {
  if (request.requestId === "") return undefined;
  const copy = clone(schema, request) as MessageShape<Desc> & { requestId: string };
  copy.requestId = "";
  sortMaps(reflect(schema, copy));
  const fingerprint = createHash("sha256").update(toBinary(schema, copy)).digest("hex");
  return { scope: principal.orgId, operation, requestId: request.requestId, fingerprint };
}

/** Puts the entries of every map in `message`, at any depth, in key order. */
function sortMaps(message: ReflectMessage): void {
  for (const field of message.fields) {
    if (!message.isSet(field)) continue;
    if (field.fieldKind === "message") sortMaps(message.get(field));
    else if (field.fieldKind === "list" && field.listKind === "message") for (const item of message.get(field)) sortMaps(item as ReflectMessage);
    else if (field.fieldKind === "map") {
      const map = message.get(field);
      const entries = [...map.entries()].sort(([a], [b]) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
      map.clear();
      for (const [k, v] of entries) {
        if (field.mapKind === "message") sortMaps(v as ReflectMessage);
        map.set(k, v);
      }
    }
  }
}

/** The error for a `request_id` already used with a different request. */
export function requestIdReused(): ConnectError {
  return new ConnectError("request_id: already used for a different request; use a new request_id", Code.FailedPrecondition);
}

/**
 * The record an idempotent create produced (or produced the first time, for a repeat). Maps the
 * shared outcomes to errors — a repeat whose resource was deleted since is `NotFound` naming
 * `resource`, a reused `request_id` is `FailedPrecondition` — and hands the mutation's own
 * rejections to `reject`.
 */
export function createdRecord<T, R extends { kind: string }>(
  outcome: IdempotentOutcome<T, R>,
  resource: string,
  reject: (rejection: R) => ConnectError,
): T {
  const known = outcome as IdempotentOutcome<T, never>;
  switch (known.kind) {
    case "created":
    case "replayed":
      return known.record;
    case "replayed_gone":
      throw new ConnectError(`${resource} no longer exists`, Code.NotFound);
    case "request_id_reused":
      throw requestIdReused();
    default:
      throw reject(outcome as R);
  }
}
