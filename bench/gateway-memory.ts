/**
 * Reading a benchmarked gateway's memory from outside: a full GC and `process.memoryUsage()` on
 * SIGWINCH (the gateway preloads `stream-memory-probe.mjs` with `SB_MEM_PROBE` naming the file it
 * writes), and heap snapshots on SIGUSR2 (started with `--heapsnapshot-signal=SIGUSR2` and
 * `--diagnostic-dir`). Used by `stream-memory.ts` and `inflight-memory.ts`.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Full GC in process `pid`, then its memory usage (written by the probe to `probeFile`). */
export async function gatewayMemory(pid: number, probeFile: string): Promise<NodeJS.MemoryUsage> {
  rmSync(probeFile, { force: true });
  process.kill(pid, "SIGWINCH");
  while (!existsSync(probeFile)) await sleep(50);
  await sleep(50);
  return JSON.parse(readFileSync(probeFile, "utf8")) as NodeJS.MemoryUsage;
}

/** A heap snapshot of process `pid` into `dir` (nothing when `dir` is unset), resolved once the file is complete. */
export async function gatewaySnapshot(pid: number, dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  const known = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  for (;;) {
    await sleep(500);
    const file = readdirSync(dir).find((f) => !known.has(f) && f.endsWith(".heapsnapshot"));
    if (file === undefined) continue;
    const size = statSync(join(dir, file)).size;
    await sleep(1_500);
    if (size > 0 && statSync(join(dir, file)).size === size) return void process.stderr.write(`snapshot ${join(dir, file)}\n`);
  }
}
