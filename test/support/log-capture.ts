import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../server/observability/logger.js";

/** A logger whose JSON lines are kept in memory, to assert on what was logged and what was not. */
export interface LogCapture {
  logger: Logger;
  /** Every line written so far, raw. */
  text(): string;
  /** Every line written so far, parsed. */
  lines(): Array<Record<string, unknown>>;
  /** Forgets every line written so far (a long-running test's memory). */
  clear(): void;
}

/** Creates a {@link LogCapture} at level `debug`, so nothing is filtered away from the assertions. */
export function createLogCapture(): LogCapture {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  const logger = createLogger({ level: "debug", destination });
  const text = () => chunks.join("");
  const lines = () =>
    text()
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, text, lines, clear: () => void chunks.splice(0) };
}
