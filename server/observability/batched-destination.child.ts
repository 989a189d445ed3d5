/**
 * Child process of batched-destination.test.ts: logs three lines to stdout through a logger whose
 * lines wait up to 10 s to be written, then leaves as argv[2] says — `exit` (process.exit(3)),
 * `throw` (an uncaught error) or `idle` (the event loop runs dry) — before any timer fires.
 */
import { createLogger } from "./logger.js";

const logger = createLogger({ level: "info", batchMs: 10_000 });
for (let i = 1; i <= 3; i++) logger.info({ i }, `line ${i}`);
const how = process.argv[2];
if (how === "exit") process.exit(3);
if (how === "throw") throw new Error("boom after logging");
