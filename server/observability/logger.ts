import { pino, type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "../config/config.js";
import { prettyDestination } from "./pretty.js";

export type { Logger };

/**
 * Paths pino censors in every log line, whatever logs them. The access log never writes request
 * bodies; these catch secrets that reach a log through headers or error causes.
 */
export const REDACTED_PATHS: readonly string[] = [
  "authorization",
  "headers.authorization",
  "*.authorization",
  "headers.cookie",
  "*.apiKey",
  "*.api_key",
  "*.secret",
  "*.password",
  "*.value",
];

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; default stdout. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
  /** Human-readable lines on stdout instead of JSON (main.ts sets it only for a terminal). */
  pretty?: boolean;
}

/**
 * Creates the process's structured JSON logger: one JSON object per line, secrets censored at the
 * paths in {@link REDACTED_PATHS}. With `pretty` (a terminal that asked for it), the same lines
 * are formatted for humans on stdout; production logs stay JSON.
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: "switchboard" },
      redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? (opts.pretty ? prettyDestination(process.stdout) : undefined),
  );
}
