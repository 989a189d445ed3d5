/**
 * Preloaded into a gateway (`SB_GATEWAY_NODE_FLAGS="--import ./bench/alloc-probe.mjs"`) to sample
 * what it allocates — every sampled allocation, also those the GC has since collected (V8's
 * sampling heap profiler with `includeObjectsCollected*`), which is what an allocation *rate*
 * needs; `--heap-prof` keeps only what is still alive at exit. Samples from `ALLOC_PROBE_START_S`
 * to `ALLOC_PROBE_STOP_S` seconds after start (default 8 to 14, or until SIGTERM) and writes the profile to
 * `ALLOC_PROBE_OUT` (a .heapprofile, summarised by `bench/alloc-top.ts`). Does nothing without
 * `ALLOC_PROBE_OUT`. With `ALLOC_PROBE_SURVIVORS=1` it leaves out the sampled objects a scavenge
 * freed: what is left is what the scavenges promoted (and the young objects alive at the end).
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const out = process.env.ALLOC_PROBE_OUT;
if (out) {
  const seconds = (name, fallback) => Number(process.env[name] ?? fallback) * 1000;
  const session = new Session();
  session.connect();
  setTimeout(() => {
    // ALLOC_PROBE_SURVIVORS=1: without what the scavenges freed — the objects that outlived them
    // (promoted, or still young at the end), by where they were made.
    const minor = process.env.ALLOC_PROBE_SURVIVORS !== "1";
    session.post("HeapProfiler.startSampling", { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: minor });
  }, seconds("ALLOC_PROBE_START_S", 8)).unref();
  let written = false;
  const stop = () => {
    if (written) return;
    written = true;
    session.post("HeapProfiler.stopSampling", (err, result) => {
      if (err) process.stderr.write(`alloc-probe: ${err.message}\n`);
      else writeFileSync(out, JSON.stringify(result.profile));
    });
  };
  setTimeout(stop, seconds("ALLOC_PROBE_STOP_S", 14)).unref();
  // A run shorter than the window: the gateway's graceful stop leaves time to write it.
  process.once("SIGTERM", stop);
}
