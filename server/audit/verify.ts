import type { AuditStore } from "../store/audit-store.js";
import { chainHash, GENESIS_HASH } from "./chain.js";

/** What {@link verifyChain} found. */
export interface ChainVerdict {
  /** True when every checked link holds. */
  intact: boolean;
  /** Events checked (up to the first broken one, excluded). */
  checked: bigint;
  /** Sequence of the first broken link (a changed, missing or misplaced event); 0 when intact. */
  firstBroken: bigint;
  /** What is wrong there, for logs: `hash`, `link`, `missing` or `truncated`. */
  problem?: "hash" | "link" | "missing" | "truncated";
  /** Sequence and hash of the last event that checked out: compare with an external checkpoint. */
  headSequence: bigint;
  headHash: string;
}

/** Events read per query. */
const BATCH = 1000;

/**
 * Recomputes the hash chain from `first` to `last` (0: from the start / to the head as read
 * when it starts) and reports
 * the first broken link. An edited event fails its own hash; an event whose hash was recomputed
 * too breaks the next event's link; a deleted event leaves a gap at its sequence; a cut-off tail
 * disagrees with the chain-head row, which every append advances in the same transaction. What
 * this cannot see — a superuser rewriting the whole tail and the head row consistently — is what
 * the returned head hash is for: store it outside Postgres and compare.
 */
export async function verifyChain(store: Pick<AuditStore, "range" | "get" | "head">, first = 0n, last = 0n): Promise<ChainVerdict> {
  const head = await store.head();
  const start = first > 0n ? first : 1n;
  // To the head as read now: events appended while this runs are left for the next run.
  const toHead = last === 0n || last > head.sequence;
  const end = toHead ? head.sequence : last;
  let previousHash = GENESIS_HASH;
  let checked = 0n;
  let lastGood = { sequence: start - 1n, hash: GENESIS_HASH };
  const broken = (at: bigint, problem: NonNullable<ChainVerdict["problem"]>): ChainVerdict => ({
    intact: false,
    checked,
    firstBroken: at,
    problem,
    headSequence: lastGood.sequence,
    headHash: lastGood.hash,
  });
  if (start > end) return { intact: true, checked: 0n, firstBroken: 0n, headSequence: head.sequence, headHash: head.hash };
  if (start > 1n) {
    const before = await store.get(start - 1n);
    if (before === undefined) return broken(start - 1n, "missing");
    previousHash = before.hash;
    lastGood = { sequence: before.sequence, hash: before.hash };
  }
  let expected = start;
  for (;;) {
    const batch = await store.range(expected, end, BATCH);
    for (const event of batch) {
      if (event.sequence !== expected) return broken(expected, "missing");
      if (event.previousHash !== previousHash) return broken(event.sequence, "link");
      if (chainHash(event, event.previousHash) !== event.hash) return broken(event.sequence, "hash");
      previousHash = event.hash;
      lastGood = { sequence: event.sequence, hash: event.hash };
      checked++;
      expected++;
    }
    if (batch.length < BATCH) break;
  }
  // Past the last event read: the head row says how far the chain reached.
  if (lastGood.sequence < end) return broken(expected, toHead ? "truncated" : "missing");
  if (toHead && head.sequence > 0n && head.hash !== lastGood.hash) return broken(head.sequence, "truncated");
  return { intact: true, checked, firstBroken: 0n, headSequence: lastGood.sequence, headHash: lastGood.hash };
}
