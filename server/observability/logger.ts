import { pino, type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "../config/config.js";
import { batchedDestination, type BatchTarget } from "./batched-destination.js";
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
  /** JSON lines on stdout wait up to this long to be written together (default 0: each at once). */
  batchMs?: number;
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
    opts.destination ?? (opts.pretty ? prettyDestination(process.stdout) : stdoutDestination(opts.batchMs ?? 0)),
  );
}

/**
 * stdout as pino writes it by default (sonic-boom, asynchronous, flushed by pino when the process
 * exits) — with `batchMs`, lines handed to it in batches, and what still waits written when the
 * process exits, however it exits short of a kill.
 */
function stdoutDestination(batchMs: number): DestinationStream {
  const fd = process.stdout.fd || 1;
  const stdout = pino.destination({ dest: fd, sync: false });
  if (batchMs <= 0) return stdout;
  let stdoutSync: ReturnType<typeof pino.destination> | undefined;
  const target: BatchTarget = {
    write: (text) => stdout.write(text),
    flush: (cb) => stdout.flush(cb),
    flushSync: () => stdout.flushSync(),
    // The same descriptor through a synchronous sonic-boom, made when first needed (at exit): short
    // writes and EAGAIN on a full pipe handled as the asynchronous one's flushSync does.
    writeSync: (text) => void (stdoutSync ??= pino.destination({ dest: fd, sync: true })).write(text),
  };
  const batched = batchedDestination(target, { maxDelayMs: batchMs });
  process.once("exit", () => {
    try {
      batched.flushSync();
    } catch {
      // stdout is gone (a closed pipe): nowhere left to write them.
    }
  });
  return batched;
}
