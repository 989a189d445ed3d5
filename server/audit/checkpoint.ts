import { createHmac, timingSafeEqual } from "node:crypto";
import type { AuditStore } from "../store/audit-store.js";
import { canonicalJson, GENESIS_HASH } from "./chain.js";

/**
 * The audit chain's head as exported outside the database (RELIABILITY §3.5): a hash chain shows
 * an edited or deleted event, but not a tail that a superuser cut off or rewrote together with
 * the head row. A checkpoint kept elsewhere does: the event at its sequence must still exist
 * with its hash.
 */
export interface AuditCheckpoint {
  /** Sequence of the head event (0: the chain was empty). */
  sequence: bigint;
  /** Hash of the head event (64 zeros when empty). */
  hash: string;
  /** When the head was read. */
  time: Date;
  /** The replica that exported it. */
  replica: string;
  /** HMAC-SHA-256 hex over the other fields ({@link signCheckpoint}); empty: unsigned. */
  signature: string;
}

/** How the chain compares with a set of checkpoints (the proto's `AuditCheckpointStatus`). */
export type CheckpointStatus = "matched" | "missing" | "mismatch" | "bad_signature";

/** What {@link verifyCheckpoints} found. */
export interface CheckpointVerdict {
  status: CheckpointStatus;
  /** The lowest-sequence checkpoint that failed. */
  failed?: AuditCheckpoint;
  /** How many checkpoints held. */
  matched: number;
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * The key checkpoints are signed with: derived from the pepper (HMAC with a fixed label), so it is
 * never the key that hashes virtual keys, yet every replica has it and the database does not. A
 * superuser who rewrites the chain cannot forge a matching checkpoint without it.
 */
export function checkpointSigningKey(pepper: string): Buffer {
  return createHmac("sha256", pepper).update("switchboard/audit-checkpoint/v1", "utf8").digest();
}

/** HMAC-SHA-256 (hex) of a checkpoint's sequence, hash, time (ISO 8601, ms) and replica. */
export function signCheckpoint(checkpoint: Omit<AuditCheckpoint, "signature">, key: Buffer): string {
  const body = canonicalJson({
    sequence: checkpoint.sequence.toString(),
    hash: checkpoint.hash,
    time: checkpoint.time.toISOString(),
    replica: checkpoint.replica,
  });
  return createHmac("sha256", key).update(body, "utf8").digest("hex");
}

/** One line of JSON, the form every sink writes: `{"sequence":"42","hash":…,"time":…,"replica":…,"signature":…}`. */
export function checkpointJson(checkpoint: AuditCheckpoint): string {
  return JSON.stringify({
    sequence: checkpoint.sequence.toString(),
    hash: checkpoint.hash,
    time: checkpoint.time.toISOString(),
    replica: checkpoint.replica,
    signature: checkpoint.signature,
  });
}

/** Parses {@link checkpointJson}'s form (a number is accepted for `sequence`); throws an `Error` saying what is wrong. */
export function parseCheckpointJson(line: string): AuditCheckpoint {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error("not JSON");
  }
  if (typeof value !== "object" || value === null) throw new Error("not a JSON object");
  const v = value as Record<string, unknown>;
  const sequence = typeof v.sequence === "string" || typeof v.sequence === "number" ? String(v.sequence) : "";
  if (!/^\d{1,19}$/.test(sequence)) throw new Error("sequence: must be a non-negative integer");
  if (typeof v.hash !== "string" || !HASH.test(v.hash)) throw new Error("hash: must be 64 lowercase hex digits");
  const time = typeof v.time === "string" ? new Date(v.time) : new Date(Number.NaN);
  if (Number.isNaN(time.getTime())) throw new Error("time: must be an ISO 8601 timestamp");
  const signature = v.signature === undefined ? "" : v.signature;
  if (typeof signature !== "string" || (signature !== "" && !HASH.test(signature))) throw new Error("signature: must be 64 lowercase hex digits or empty");
  return { sequence: BigInt(sequence), hash: v.hash, time, replica: typeof v.replica === "string" ? v.replica : "", signature };
}

/**
 * Checks the live chain against checkpoints, lowest sequence first, and reports the first that
 * fails: `bad_signature` when a signed checkpoint's signature does not hold under `key` (the
 * checkpoint was altered; unsigned ones are taken as given, and so are signed ones when no key
 * is passed), `missing` when no event has its sequence (the tail was cut), `mismatch` when that
 * event has another hash (the chain was rewritten up to there). Only the checkpointed events are
 * read: run `verifyChain` too, so every event between them is known to link.
 */
export async function verifyCheckpoints(store: Pick<AuditStore, "get">, checkpoints: readonly AuditCheckpoint[], key?: Buffer): Promise<CheckpointVerdict> {
  const ordered = [...checkpoints].sort((a, b) => (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0));
  let matched = 0;
  for (const checkpoint of ordered) {
    const fail = (status: CheckpointStatus): CheckpointVerdict => ({ status, failed: checkpoint, matched });
    if (key !== undefined && checkpoint.signature !== "" && !sameHex(signCheckpoint(checkpoint, key), checkpoint.signature)) return fail("bad_signature");
    if (checkpoint.sequence === 0n) {
      if (checkpoint.hash !== GENESIS_HASH) return fail("mismatch");
    } else {
      const event = await store.get(checkpoint.sequence);
      if (event === undefined) return fail("missing");
      if (event.hash !== checkpoint.hash) return fail("mismatch");
    }
    matched++;
  }
  return { status: "matched", matched };
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}
