/**
 * Summarises a V8 `.cpuprofile` (from `--cpu-prof`, e.g. SB_BENCH_PROFILE=1): self time by
 * function and by package / source folder, so the hot spots of our code and of our dependencies
 * stand apart. Idle and GC are listed as such.
 *
 *   node --import tsx bench/profile-top.ts bench/results/profiles/CPU….cpuprofile [--top 40] [--callers AREA]
 *
 * `--callers AREA` (e.g. `@electric-sql/pglite`, `(garbage collector)` cannot be attributed)
 * charges the self time spent in AREA to the nearest calling frame in `server/`, to tell which of
 * our code paths pay for a dependency.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error("usage: profile-top.ts PROFILE [--top N]");
const topIndex = process.argv.indexOf("--top");
const TOP = topIndex === -1 ? 40 : Number(process.argv[topIndex + 1]);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

/** Where a frame's code lives: a package name, a folder of this repository, or a V8 / Node bucket. */
function area(url: string, name: string): string {
  if (!url) return name.startsWith("(") ? name : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return url.split("/")[0]!.replace(/:.*/, ":") + url.slice(5).split("/")[0];
  const ours = /\/work\/[^/]+\/((?:server|gen|bench)\/[^/]+)/.exec(url) ?? /((?:server|gen|bench)\/[^/]+)/.exec(url);
  return ours ? ours[1]! : url;
}

const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? `${url.replace(/^.*node_modules\//, "").replace(/^file:\/\/\/work\/[^/]+\//, "")}:${lineNumber + 1}` : "";
  return `${functionName || "(anonymous)"} ${where}`;
};
const callersIndex = process.argv.indexOf("--callers");
if (callersIndex !== -1) {
  const wanted = process.argv[callersIndex + 1]!;
  const by = new Map<string, number>();
  let sum = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    if (area(n.callFrame.url, n.callFrame.functionName) !== wanted) continue;
    let p = parent.get(id);
    while (p !== undefined && !/\/server\//.test(byId.get(p)!.callFrame.url)) p = parent.get(p);
    const k = p === undefined ? "(no caller in server/)" : label(byId.get(p)!);
    by.set(k, (by.get(k) ?? 0) + us);
    sum += us;
  }
  console.log(`\n${wanted}: ${(sum / 1000).toFixed(0)} ms self time, by nearest caller in server/`);
  for (const [k, us] of [...by].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${((us / sum) * 100).toFixed(1).padStart(5)}%  ${k}`);
  process.exit(0);
}

const fns = new Map<string, number>();
const areas = new Map<string, number>();
let total = 0;
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const { functionName, url } = n.callFrame;
  const fn = label(n);
  fns.set(fn, (fns.get(fn) ?? 0) + us);
  const a = area(url, functionName);
  areas.set(a, (areas.get(a) ?? 0) + us);
  total += us;
}
const busy = total - (areas.get("(idle)") ?? 0);
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (share of non-idle time ${(busy / 1000).toFixed(0)} ms)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${((us / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
};
print("self time by area", areas);
print("self time by function", fns);
