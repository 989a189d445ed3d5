/**
 * Reading a benchmarked gateway's memory from outside: a full GC and `process.memoryUsage()` on
 * SIGWINCH (the gateway preloads `stream-memory-probe.mjs` with `SB_MEM_PROBE` naming the file it
 * writes; {@link memoryProbe} gives the flags and environment), and heap snapshots on SIGUSR2
 * (started with `--heapsnapshot-signal=SIGUSR2` and `--diagnostic-dir`). Used by `run.ts`'s open
 * streams, `stream-memory.ts` and `inflight-memory.ts`.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How to start a process so {@link MemoryProbe.read} can read its memory after a full GC. */
export interface MemoryProbe {
  /** Node flags to start it with: `--expose-gc` and the probe preloaded. */
  nodeFlags: string[];
  /** Environment to start it with: `SB_MEM_PROBE`, the file the probe writes. */
  env: { SB_MEM_PROBE: string };
  /** A full GC in process `pid` (started with the above), then its memory usage. */
  read(pid: number): Promise<NodeJS.MemoryUsage>;
}

/** A probe with a file of its own (one per process it is given to). */
export function memoryProbe(): MemoryProbe {
  const dir = mkdtempSync(join(tmpdir(), "sb-mem-probe-"));
  const file = join(dir, "memory.json");
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return {
    nodeFlags: ["--expose-gc", "--import", new URL("stream-memory-probe.mjs", import.meta.url).pathname],
    env: { SB_MEM_PROBE: file },
    read: (pid) => gatewayMemory(pid, file),
  };
}

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
