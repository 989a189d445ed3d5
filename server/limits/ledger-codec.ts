import type { UsageRecordRow } from "../store/usage-store.js";

/**
 * One ledger record as one line of the write buffer: JSON with the cost as a decimal string (a
 * `bigint` has no JSON form) and the time as ISO 8601, terminated by `\n`. A line without its
 * terminator was never acknowledged (the process died mid-write) and is ignored on replay.
 */
export function encodeLedgerLine(row: UsageRecordRow): string {
  return `${JSON.stringify(asJson(row))}\n`;
}

/**
 * A refused record as its dead letter keeps it: the ledger line's JSON with the keys sorted at
 * every level. The same record then gives the same text however its object was built — by the
 * usage stage, or decoded from a buffer file on a replay, in another field order — and dead
 * letters are keyed by that text, so a batch retried after an outage or a crash dead-letters it
 * once. The buffer itself keeps the builder's order: sorting on every append would cost the hot path.
 */
export function deadLetterRecord(row: UsageRecordRow): string {
  return JSON.stringify(asJson(row), sortedKeys);
}

function asJson(row: UsageRecordRow) {
  return { ...row, costMicros: row.costMicros.toString(), occurredAt: row.occurredAt.toISOString() };
}

/** A `JSON.stringify` replacer that writes every object's keys in code-unit order. */
function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A buffer file's text, decoded by {@link decodeLedgerSegment}. */
export interface LedgerSegment {
  /** The records of its terminated lines, in order. */
  records: UsageRecordRow[];
  /** Terminated lines that hold no record, each with why (for the dead-letter table). */
  unreadable: { record: string; error: string }[];
  /** The unterminated last line, never acknowledged ("" when the file ends with a terminator). */
  torn: string;
}

/** Decodes every terminated line of a buffer file's `text`; blank lines are skipped. */
export function decodeLedgerSegment(text: string): LedgerSegment {
  const lines = text.split("\n");
  const torn = lines.pop() ?? "";
  const records: UsageRecordRow[] = [];
  const unreadable: { record: string; error: string }[] = [];
  for (const line of lines) {
    if (line === "") continue;
    try {
      records.push(decodeLedgerLine(line));
    } catch (err) {
      unreadable.push({ record: line, error: `unreadable ledger buffer line: ${(err as Error).message}` });
    }
  }
  return { records, unreadable, torn };
}

/** The record a buffer line holds; throws `SyntaxError`/`TypeError` for a line that is not one. */
export function decodeLedgerLine(line: string): UsageRecordRow {
  const raw = JSON.parse(line) as Record<string, unknown>;
  const text = (name: string): string => {
    const v = raw[name];
    if (typeof v !== "string") throw new TypeError(`ledger line: ${name} must be a string`);
    return v;
  };
  const count = (name: string): number => {
    const v = raw[name];
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new TypeError(`ledger line: ${name} must be an integer`);
    return v;
  };
  const template = raw.template as { name?: unknown; version?: unknown } | undefined;
  const occurredAt = new Date(text("occurredAt"));
  if (Number.isNaN(occurredAt.getTime())) throw new TypeError("ledger line: occurredAt must be a date");
  return {
    callId: text("callId"),
    attempt: count("attempt"),
    requestId: text("requestId"),
    orgId: text("orgId"),
    teamId: text("teamId"),
    keyId: text("keyId"),
    route: text("route"),
    provider: text("provider"),
    model: text("model"),
    verb: text("verb"),
    outcome: text("outcome"),
    inputTokens: count("inputTokens"),
    outputTokens: count("outputTokens"),
    cachedInputTokens: count("cachedInputTokens"),
    cacheWriteInputTokens: count("cacheWriteInputTokens"),
    reasoningTokens: count("reasoningTokens"),
    costMicros: BigInt(text("costMicros")),
    priceVersion: text("priceVersion"),
    estimated: raw.estimated === true,
    cacheStatus: text("cacheStatus"),
    tags: (raw.tags ?? {}) as Record<string, string>,
    ...(template !== undefined && typeof template.name === "string" && typeof template.version === "number"
      ? { template: { name: template.name, version: template.version } }
      : {}),
    occurredAt,
  };
}
