/**
 * Allocation and GC pause of a benchmarked process, from V8's own `--trace-gc-nvp` lines: every
 * collection prints how many bytes were allocated since the previous one (`allocated=`) and how
 * long the main thread paused (`pause=`, ms). Summed over a measured interval and divided by the
 * requests served in it, they are the steadiest per-request figures on this noisy VM — unlike CPU
 * time they barely move with the machine's load.
 *
 * Used by `path-cost.ts --gc`: the gateway runs with `--trace-gc-nvp` and its output is written to
 * `$SB_BENCH_LOG_DIR`; {@link GcTrace.mark} reads what was appended since the previous mark.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Totals since the previous mark. */
export interface GcTotals {
  allocatedBytes: number;
  pauseMs: number;
  /** The longest single pause. */
  maxPauseMs: number;
  /**
   * CPU the collector spent, on every thread: the pause, the incremental marking steps the main
   * thread took between pauses, and the helper threads' work (`background.*`: parallel
   * scavenging, concurrent marking and sweeping, evacuation). A larger figure than the pause,
   * and the one that shows what collecting the old generation more often costs.
   */
  gcCpuMs: number;
  scavenges: number;
  markCompacts: number;
  /**
   * Bytes the scavenges moved to the old generation (`promoted=`): objects that outlived two
   * scavenges. What a mark-compact later has to find dead, and what grows the old space (and RSS)
   * between mark-compacts.
   */
  promotedBytes: number;
}

export interface GcTrace {
  /** Totals of the trace lines appended since the previous call (the first call starts the count). */
  mark(): Promise<GcTotals>;
}

/** Sums the `--trace-gc-nvp` lines of `text`. */
export function sumGcLines(text: string): GcTotals {
  const out: GcTotals = { allocatedBytes: 0, pauseMs: 0, maxPauseMs: 0, gcCpuMs: 0, scavenges: 0, markCompacts: 0, promotedBytes: 0 };
  for (const line of text.split("\n")) {
    const kind = / gc=(\w+)/.exec(line)?.[1];
    if (kind === undefined) continue;
    out.allocatedBytes += Number(/ allocated=(\d+)/.exec(line)?.[1] ?? 0);
    const pause = Number(/ pause=([\d.]+)/.exec(line)?.[1] ?? 0);
    out.pauseMs += pause;
    out.maxPauseMs = Math.max(out.maxPauseMs, pause);
    out.gcCpuMs += pause + Number(/ incremental=([\d.]+)/.exec(line)?.[1] ?? 0);
    for (const m of line.matchAll(/ background\.[\w.]+=([\d.]+)/g)) out.gcCpuMs += Number(m[1]);
    if (kind === "s") {
      out.scavenges++;
      out.promotedBytes += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
    } else if (kind === "mc" || kind === "mmc") out.markCompacts++;
  }
  return out;
}

/** Follows the log file of process `pid` in `dir` (as `processes.ts` names it). */
export function followGcTrace(dir: string, pid: number): GcTrace {
  let offset = 0;
  const file = (): string => {
    const name = readdirSync(dir).find((f) => f.endsWith(`-${pid}.log`));
    if (name === undefined) throw new Error(`no log of process ${pid} in ${dir}`);
    return join(dir, name);
  };
  return {
    async mark() {
      await new Promise((r) => setTimeout(r, 200)); // let the piped output reach the file
      const text = readFileSync(file(), "utf8");
      // Whole lines only: a line still being written is counted by the next mark.
      const end = text.lastIndexOf("\n") + 1;
      const totals = sumGcLines(text.slice(offset, end));
      offset = end;
      return totals;
    },
  };
}
