import type { UsageRecordRow, UsageStore } from "../store/usage-store.js";

/** A ledger record with every field filled, for tests; `over` replaces any of them. */
export function ledgerRecord(over: Partial<UsageRecordRow> = {}): UsageRecordRow {
  return {
    callId: "call-1",
    attempt: 1,
    requestId: "req-1",
    orgId: "org_a",
    teamId: "team_a",
    keyId: "key_a",
    route: "default",
    provider: "openai",
    model: "gpt-4o-mini",
    verb: "chat",
    outcome: "success",
    inputTokens: 10,
    outputTokens: 20,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    reasoningTokens: 0,
    costMicros: 123n,
    priceVersion: "test-1",
    estimated: false,
    cacheStatus: "miss",
    tags: {},
    occurredAt: new Date("2026-11-29T12:00:00.000Z"),
    ...over,
  };
}

/** An in-memory ledger store with the unique key of the real one, and a switchable outage. */
export interface MemoryLedgerStore extends Pick<UsageStore, "insertBatch" | "deadLetter"> {
  rows: Map<string, UsageRecordRow>;
  deadLetters: { record: string; error: string }[];
  /** While set, every call rejects with it. */
  failWith?: Error;
  inserts: number;
}

/** Creates a {@link MemoryLedgerStore}; rows with negative tokens are refused like a check constraint. */
export function memoryLedgerStore(): MemoryLedgerStore {
  const store: MemoryLedgerStore = {
    rows: new Map(),
    deadLetters: [],
    inserts: 0,
    async insertBatch(rows) {
      if (store.failWith) throw store.failWith;
      store.inserts++;
      if (rows.some((r) => r.inputTokens < 0)) throw Object.assign(new Error("violates check constraint"), { code: "23514" });
      let n = 0;
      for (const r of rows) {
        const key = `${r.callId}/${r.attempt}`;
        if (!store.rows.has(key)) {
          store.rows.set(key, r);
          n++;
        }
      }
      return n;
    },
    async deadLetter(entries) {
      if (store.failWith) throw store.failWith;
      store.deadLetters.push(...entries);
    },
  };
  return store;
}
