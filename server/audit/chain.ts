import { createHash } from "node:crypto";
import type { UnsealedEvent } from "../store/audit-store.js";

/** The `previous_hash` of the first event: 64 zeros. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * The canonical form of an event: every field but the two hashes, as JSON with object keys sorted
 * at every depth (RFC 8785 for the values an event holds: strings, finite numbers, booleans,
 * null). `jsonb` may reorder keys and reformat numbers, but the value read back has the same
 * canonical form, so a verifier recomputes exactly the hash the writer computed.
 */
export function canonicalForm(event: UnsealedEvent): string {
  return canonicalJson({
    sequence: event.sequence.toString(),
    time: event.time.toISOString(),
    actor: event.actor,
    actorOrg: event.actorOrg,
    actorOrgId: event.actorOrgId,
    orgId: event.orgId,
    action: event.action,
    resource: event.resource,
    before: event.before,
    after: event.after,
    outcome: event.outcome,
    code: event.code,
    peer: event.peer,
    requestId: event.requestId,
    replica: event.replica,
  });
}

/** `SHA-256(canonical form ‖ previous hash)`, lowercase hex: an event's link in the chain. */
export function chainHash(event: UnsealedEvent, previousHash: string): string {
  return createHash("sha256").update(canonicalForm(event), "utf8").update(previousHash, "utf8").digest("hex");
}

/** JSON with sorted object keys and no insignificant whitespace; `undefined` members are left out. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
