// Preloaded by the benchmarks' memory figures only (bench/gateway-memory.ts, never by server code): when
// SB_MEM_PROBE names a file, SIGWINCH runs a full GC (node --expose-gc) and writes
// process.memoryUsage() there as JSON.
import { writeFileSync } from "node:fs";

if (process.env.SB_MEM_PROBE) {
  process.on("SIGWINCH", () => {
    globalThis.gc?.();
    writeFileSync(process.env.SB_MEM_PROBE, JSON.stringify(process.memoryUsage()));
  });
}
