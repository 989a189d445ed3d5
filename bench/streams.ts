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
  /** Longest wait for every stream to reach the upstream (default 60 s). */
  timeoutMs?: number;
}

/**
 * Opens `count` slow streams through the path, waits until the upstream holds them all (polling),
 * reads the serving process's RSS, then aborts them all and waits until the upstream has let go.
 */
export async function measureOpenStreams(opts: OpenStreamsOptions): Promise<OpenStreamsRow> {
  const rssBeforeMb = rssMb(opts.pid);
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // one signal ends every stream
  const running = Array.from({ length: opts.count }, () => opts.open(controller.signal).catch(() => undefined));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let open = 0;
  while (Date.now() < deadline && (open = await opts.upstreamOpen()) < opts.count) await new Promise((r) => setTimeout(r, 250));
  await new Promise((r) => setTimeout(r, 500)); // let the last ones settle
  const rssOpenMb = rssMb(opts.pid);
  controller.abort();
  await Promise.all(running);
  const drained = Date.now() + 30_000;
  while (Date.now() < drained && (await opts.upstreamOpen()) > 0) await new Promise((r) => setTimeout(r, 250));
  const row = {
    target: opts.target,
    open,
    rssBeforeMb: Math.round(rssBeforeMb),
    rssOpenMb: Math.round(rssOpenMb),
    mbPer1000: Math.round(((rssOpenMb - rssBeforeMb) * 1000) / Math.max(1, open) * 10) / 10,
  };
  process.stderr.write(`open streams ${opts.target}: ${JSON.stringify(row)}\n`);
  return row;
}
