import type { DestinationStream } from "pino";

const COLOURS: Record<string, string> = { fatal: "35", error: "31", warn: "33", info: "32", debug: "36", trace: "90" };
const SKIPPED = new Set(["time", "level", "msg", "service"]);

/**
 * One JSON log line as a human reads it: `12:04:05.123 INFO  rpc requestId=… code=ok durationMs=3.2`,
 * the level coloured. Used only when stdout is a terminal and `log.pretty` asks for it; the same
 * fields as the JSON line, already redacted by pino before they get here. A line that is not JSON
 * passes through.
 */
export function prettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof record.time === "string" ? record.time.slice(11, 23) : "";
  const level = String(record.level ?? "");
  const tag = `\u001b[${COLOURS[level] ?? "0"}m${level.toUpperCase().padEnd(5)}\u001b[0m`;
  const fields = Object.entries(record)
    .filter(([k]) => !SKIPPED.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`);
  return `${time} ${tag} ${String(record.msg ?? "")}${fields.length > 0 ? " " + fields.join(" ") : ""}\n`;
}

/** A pino destination writing {@link prettyLine}s to `out` (stdout). */
export function prettyDestination(out: { write(text: string): unknown }): DestinationStream {
  return { write: (line: string) => void out.write(prettyLine(line)) };
}
