/**
 * Child process of batched-destination.test.ts: logs three lines to stdout through a logger whose
 * lines wait up to 10 s to be written, then leaves as argv[2] says — `exit` (process.exit(3)),
 * `throw` (an uncaught error) or `idle` (the event loop runs dry) — before any timer fires.
 * `idle-busy-pool` is `idle` with libuv's thread pool busy when the process leaves (run it with
 * UV_THREADPOOL_SIZE=1): the state of a loaded machine, where the pool's thread has not yet taken
 * an asynchronous write when Node, the loop being dry, cancels the requests still queued.
 */
import { pbkdf2 } from "node:crypto";
import { createLogger } from "./logger.js";

const how = process.argv[2];
// Registered before the logger's own `exit` listener, so the pool is busy (≈ 0.1 s) when it runs.
if (how === "idle-busy-pool") process.once("exit", () => pbkdf2("x", "y", 100_000, 64, "sha512", () => {}));
const logger = createLogger({ level: "info", batchMs: 10_000 });
for (let i = 1; i <= 3; i++) logger.info({ i }, `line ${i}`);
if (how === "exit") process.exit(3);
if (how === "throw") throw new Error("boom after logging");
