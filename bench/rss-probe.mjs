// Preloaded into the gateway by bench/rss-breakdown.ts only (never by server code), through
// NODE_OPTIONS, so it sees every process that inherits it and acts only in `server/main`: every
// second it appends process.memoryUsage(), V8's heap spaces and /proc/self/status's RssAnon and
// RssFile (MB) to $SB_RSS_PROBE_DIR/probe-<pid>.jsonl. SIGWINCH: a full GC (--expose-gc), then a
// sample tagged `gc`. SIGUSR2: a heap snapshot into the same folder.
import { appendFileSync, readFileSync } from "node:fs";
import v8 from "node:v8";

const dir = process.env.SB_RSS_PROBE_DIR;
if (dir && /server[\\/]main\.(js|ts)$/.test(process.argv[1] ?? "")) {
  const file = `${dir}/probe-${process.pid}.jsonl`;
  const started = Date.now();
  const mb = (bytes) => Math.round(bytes / 104857.6) / 10;
  const sample = (tag) => {
    const status = readFileSync("/proc/self/status", "utf8");
    const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: mb(s.space_size), used: mb(s.space_used_size) }]));
    const line = { t: (Date.now() - started) / 1000, tag, rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers), rssAnon: mb(kb("RssAnon") * 1024), rssFile: mb(kb("RssFile") * 1024), spaces };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  };
  setInterval(() => sample("tick"), 1000).unref();
  process.on("SIGWINCH", () => {
    globalThis.gc?.();
    sample("gc");
  });
  process.on("SIGUSR2", () => v8.writeHeapSnapshot(`${dir}/idle-${process.pid}.heapsnapshot`));
}
