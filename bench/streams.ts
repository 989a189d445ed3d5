/**
 * Stream figures: time to first token (sequential streams, one at a time, so the figure is the
 * path's own delay, not queueing) and the memory an open stream holds in the serving process.
 */
import { setMaxListeners } from "node:events";
import { percentile } from "./load.js";
import { rssMb } from "./proc-stats.js";

/** Opens one stream, resolves at its first token, then reads it to the end. */
export type StreamProbe = () => Promise<{ firstTokenMs: number }>;

/** Time-to-first-token figures of one path. */
export interface TtftRow {
  target: string;
  streams: number;
  p50: number;
  p99: number;
  errors: number;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Runs `probe` `count` times in sequence (after `warmup` unmeasured ones) and reports p50/p99. */
export async function measureTtft(target: string, probe: StreamProbe, count: number, warmup = 50): Promise<TtftRow> {
  for (let i = 0; i < warmup; i++) await probe().catch(() => undefined);
  const samples: number[] = [];
  let errors = 0;
  for (let i = 0; i < count; i++) {
    try {
      samples.push((await probe()).firstTokenMs);
    } catch {
      errors++;
    }
  }
  const row = { target, streams: samples.length, p50: round(percentile(samples, 50)), p99: round(percentile(samples, 99)), errors };
  process.stderr.write(`ttft ${target}: ${JSON.stringify(row)}\n`);
  return row;
}

/** True once a chunk of an OpenAI SSE stream carries answer text (the first token). */
export const hasOpenAIToken = (chunk: string) => /"content":"[^"]/.test(chunk);

/** Memory figures of one path with many slow streams open at once. */
export interface OpenStreamsRow {
  target: string;
  /** Streams the upstream saw open at the measurement. */
  open: number;
  rssBeforeMb: number;
  rssOpenMb: number;
  /** (rssOpen − rssBefore) scaled to 1,000 streams. */
  mbPer1000: number;
  /**
   * V8 heap used plus external memory, each read after a full GC in the serving process, with the
   * streams open minus before, per stream (KB); absent when the process has no memory probe.
   */
  heapKbPerStream?: number;
}

/** Options of {@link measureOpenStreams}. */
export interface OpenStreamsOptions {
  target: string;
  /** The serving process whose RSS is read. */
  pid: number;
  count: number;
  /** Opens one slow stream and keeps it open until `signal` aborts; rejects or resolves after. */
  open: (signal: AbortSignal) => Promise<void>;
  /** How many slow streams the upstream holds open now. */
  upstreamOpen: () => Promise<number>;
  /**
   * A full GC in the serving process, then its memory usage (`gateway-memory.ts`'s probe): without
   * it the figure is RSS alone, which moves with whatever garbage the earlier rows left (±50 MB).
   */
  memory?: () => Promise<NodeJS.MemoryUsage>;
  /** Longest wait for every stream to reach the upstream (default 60 s). */
  timeoutMs?: number;
}

const heapAndExternal = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;

/**
 * Opens `count` slow streams through the path, waits until the upstream holds them all (polling),
 * reads the serving process's memory, then aborts them all and waits until the upstream has let go.
 */
export async function measureOpenStreams(opts: OpenStreamsOptions): Promise<OpenStreamsRow> {
  if (opts.memory !== undefined) {
    await opts.memory(); // a first GC lets go of the earlier rows' garbage before the baseline
    await new Promise((r) => setTimeout(r, 500));
  }
  const before = await opts.memory?.();
  const rssBeforeMb = rssMb(opts.pid);
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // one signal ends every stream
  const running = Array.from({ length: opts.count }, () => opts.open(controller.signal).catch(() => undefined));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let open = 0;
  while (Date.now() < deadline && (open = await opts.upstreamOpen()) < opts.count) await new Promise((r) => setTimeout(r, 250));
  await new Promise((r) => setTimeout(r, 500)); // let the last ones settle
  const rssOpenMb = rssMb(opts.pid);
  const during = await opts.memory?.();
  controller.abort();
  await Promise.all(running);
  const drained = Date.now() + 30_000;
  while (Date.now() < drained && (await opts.upstreamOpen()) > 0) await new Promise((r) => setTimeout(r, 250));
  const streams = Math.max(1, open);
  const row: OpenStreamsRow = {
    target: opts.target,
    open,
    rssBeforeMb: Math.round(rssBeforeMb),
    rssOpenMb: Math.round(rssOpenMb),
    mbPer1000: Math.round((((rssOpenMb - rssBeforeMb) * 1000) / streams) * 10) / 10,
    ...(before === undefined || during === undefined
      ? {}
      : { heapKbPerStream: Math.round(((heapAndExternal(during) - heapAndExternal(before)) / streams / 1024) * 10) / 10 }),
  };
  process.stderr.write(`open streams ${opts.target}: ${JSON.stringify(row)}\n`);
  return row;
}
