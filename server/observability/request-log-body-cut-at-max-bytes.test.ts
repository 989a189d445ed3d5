/**
 * The request log's bodies are cut at `requestLog.maxBodyBytes` (README, Request log): what is
 * stored of one body is at most that many bytes, whatever the text holds. A body is JSON text, so
 * a quote or a backslash in a message is already escaped once in it; the cut copy must not be
 * escaped again past the limit.
 */
import { describe, expect, it } from "vitest";
import type { RequestLogRow } from "../store/request-log-store.js";
import { testObservation } from "./call-observation.testing.js";
import { createRequestLogSink } from "./request-log-sink.js";

const MAX = 4096;

const rowFor = (text: string): RequestLogRow => {
  const rows: RequestLogRow[] = [];
  const sink = createRequestLogSink({ append: (row) => rows.push(row) }, { mode: "full", maxBodyBytes: MAX });
  sink.ended(
    testObservation({
      request: { model: "", messages: [{ role: "user", content: [{ type: "text", text }] }] },
      cacheStatus: "miss",
      response: { text, toolCalls: [], truncated: false },
    }),
  );
  return rows[0]!;
};

describe("the request log's body limit", () => {
  it.each([
    ["backslashes", "\\".repeat(3 * MAX)],
    ["quotes", '"'.repeat(3 * MAX)],
    ["control characters", "\u0001".repeat(3 * MAX)],
    ["plain text", "a".repeat(3 * MAX)],
    ["multi-byte text", "é€😀".repeat(MAX)],
  ])("stores at most maxBodyBytes of a long body full of %s, marked truncated", (_kind, text) => {
    const row = rowFor(text);
    for (const body of [row.request, row.response]) {
      expect(typeof body).toBe("string");
      expect(Buffer.byteLength(body as string, "utf8")).toBeLessThanOrEqual(MAX);
      const parsed = JSON.parse(body as string) as { truncated?: boolean; json?: string };
      expect(parsed.truncated).toBe(true);
      // No half of a surrogate pair at the cut: Postgres refuses a lone one in jsonb.
      expect(parsed.json).not.toMatch(/[\uD800-\uDBFF]$/);
      // Most of the budget still holds the body, not an empty marker.
      expect(Buffer.byteLength(body as string, "utf8")).toBeGreaterThan(MAX / 2);
    }
  });

  it.each([
    ["backslashes", "\\".repeat(3 * MAX)],
    ["control characters", "\u0001\n".repeat(3 * MAX)],
    ["multi-byte text", "é€😀".repeat(MAX)],
  ])("keeps the longest prefix of the body that fits, full of %s: one more character (a whole pair) would not", (_kind, text) => {
    const full = JSON.stringify({ messages: [{ role: "user", text }] });
    const kept = (JSON.parse(rowFor(text).request as string) as { json: string }).json;
    expect(full.startsWith(kept)).toBe(true);
    const step = /[\uD800-\uDBFF]/.test(full[kept.length]!) ? 2 : 1;
    expect(Buffer.byteLength(JSON.stringify({ truncated: true, json: full.slice(0, kept.length + step) }), "utf8")).toBeGreaterThan(MAX);
  });

  it("keeps a body that fits as it is", () => {
    const row = rowFor("short \\ \"quoted\"");
    expect(JSON.parse(row.request as string)).toEqual({ messages: [{ role: "user", text: 'short \\ "quoted"' }] });
  });
});
