import fc from "fast-check";
import { pino, type DestinationStream } from "pino";
import { describe, expect, it } from "vitest";
import { writeAccessLine } from "./access-line.js";
import { CENSOR } from "./log-redaction.js";
import { createLogger, type Logger } from "./logger.js";

/** A destination keeping every write as written (pino writes one line per call). */
function sink(): DestinationStream & { writes: string[] } {
  const writes: string[] = [];
  return { writes, write: (s: string) => void writes.push(s) };
}

/** The line with its time replaced: the two writers read the clock a moment apart. */
const timeless = (line: string | undefined): string | undefined => line?.replace(/"time":("[^"]*"|\d+)/, '"time":"T"');

/** What pino writes for `fields` and what `writeAccessLine` writes, through the same logger. */
function both(make: (dest: DestinationStream) => Logger, level: "info" | "warn", fields: Record<string, unknown>, opts: { shortcut?: boolean } = {}) {
  const msg = "rpc";
  const dest = sink();
  const logger = make(dest);
  logger[level](fields, msg);
  // Where the shortcut must be taken, pino's own method is not there to fall back on.
  if (opts.shortcut === true) logger[level] = () => expect.fail("the line went through pino");
  writeAccessLine(logger, level, fields, msg);
  expect(dest.writes.length).toBeLessThanOrEqual(2);
  return { pino: timeless(dest.writes[0]), ours: timeless(dest.writes[1]), writes: dest.writes };
}

const base = (dest: DestinationStream): Logger => createLogger({ level: "info", destination: dest });
const child = (dest: DestinationStream): Logger => createLogger({ level: "info", destination: dest }).child({ component: "access", replica: 2 });

// Strings of every kind that reach a log line: quotes, backslashes, control characters, non-ASCII.
// Lone surrogates are left out: pino writes them raw (unencodable), JSON.stringify escapes them.
const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constantFrom('"', "\\", "\n\t\u0000\u001f", "ünïcødé ✓", "a".repeat(150)));
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(undefined), fc.constant(null), fc.constantFrom(Number.NaN, Infinity, -0));
const field = fc.oneof(fc.constantFrom("requestId", "procedure", "code", "durationMs", "orgId", "costMicrosUsd", "error", "0", "12"), fc.string({ minLength: 1, maxLength: 12 }));
const fieldsArb = fc.dictionary(field, scalar, { maxKeys: 30 }).filter((f) => !Object.keys(f).some((k) => k === "authorization" || k === "__proto__"));

describe("writeAccessLine", () => {
  it("writes byte for byte pino's line for any flat field values, with and without bindings, at both levels", () => {
    fc.assert(
      fc.property(fieldsArb, fc.constantFrom(base, child), fc.constantFrom("info" as const, "warn" as const), (fields, make, level) => {
        const { pino: expected, ours } = both(make, level, fields, { shortcut: true });
        expect(ours).toBe(expected);
        expect(JSON.parse(ours!)).toMatchObject({ level, msg: "rpc" });
      }),
      { numRuns: 300 },
    );
  });

  it("writes an access line's real shape, ending in one newline", () => {
    const fields = { requestId: "r-1", procedure: "POST /v1/chat/completions", protocol: "openai", code: "ok", durationMs: 12.5, status: 200, orgId: "acme", inputTokens: 3, costMicrosUsd: 17, error: 'bad "quote"' };
    const { pino: expected, ours } = both(child, "info", fields, { shortcut: true });
    expect(ours).toBe(expected);
    expect(ours!.endsWith("}\n")).toBe(true);
    expect(ours!.indexOf("\n")).toBe(ours!.length - 1);
    expect(JSON.parse(ours!)).toEqual({ level: "info", time: "T", service: "switchboard", component: "access", replica: 2, ...fields, msg: "rpc" });
  });

  it("runs the logger's own formatter: a secret-named field is censored as pino's line censors it", () => {
    const { pino: expected, ours } = both(base, "info", { requestId: "r", authorization: "Bearer sb_live_x" }, { shortcut: true });
    expect(ours).toBe(expected);
    expect(JSON.parse(ours!).authorization).toBe(CENSOR);
  });

  it("writes nothing when the level is off", () => {
    const dest = sink();
    writeAccessLine(createLogger({ level: "warn", destination: dest }), "info", { requestId: "r" }, "rpc");
    writeAccessLine(createLogger({ level: "silent", destination: dest }), "warn", { requestId: "r" }, "rpc");
    expect(dest.writes).toEqual([]);
  });

  it("leaves to pino the loggers and values it does not reproduce: mixin, redact, nested key, message key, bigint", () => {
    const cases: Array<[string, (dest: DestinationStream) => Logger, Record<string, unknown>]> = [
      ["mixin", (d) => pino({ mixin: () => ({ extra: 1 }) }, d), { requestId: "r" }],
      ["redact", (d) => pino({ redact: ["requestId"] }, d), { requestId: "r" }],
      ["nestedKey", (d) => pino({ nestedKey: "payload" }, d), { requestId: "r" }],
      ["messageKey", (d) => pino({ messageKey: "message" }, d), { requestId: "r" }],
      ["serializer", (d) => pino({ serializers: { requestId: () => "serialised" } }, d), { requestId: "r" }],
      ["bigint", base, { requestId: "r", costMicrosUsd: 12n }],
    ];
    for (const [name, make, fields] of cases) {
      const { pino: expected, ours } = both(make, "info", fields);
      expect(ours, name).toBe(expected);
    }
    expect(JSON.parse(both(cases[0]![1], "info", { requestId: "r" }).ours!).extra).toBe(1);
    expect(JSON.parse(both(cases[1]![1], "info", { requestId: "r" }).ours!).requestId).toBe("[Redacted]");
  });
});
