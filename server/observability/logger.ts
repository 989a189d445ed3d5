import { pino, type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "../config/config.js";
import { redactLogObject } from "./log-redaction.js";
import { prettyDestination } from "./pretty.js";

export type { Logger };

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
 * paths in `log-redaction.ts`'s `REDACTED_PATHS`. With `pretty` (a terminal that asked for
 * it), the same lines are formatted for humans on stdout; production logs stay JSON.
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: "switchboard" },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Censoring is ours (log-redaction.ts), not pino's `redact`: same paths, no copy per line.
      formatters: { level: (label) => ({ level: label }), log: redactLogObject, bindings: redactLogObject },
    },
    opts.destination ?? (opts.pretty ? prettyDestination(process.stdout) : undefined),
  );
}
