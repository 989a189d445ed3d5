/**
 * Summarises a V8 `.cpuprofile` (from `--cpu-prof`, e.g. SB_BENCH_PROFILE=1 or
 * `bench/path-cost.ts --profile`): self time by function and by package / source folder, so the
 * hot spots of our code and of our dependencies stand apart. Idle and GC are listed as such.
 *
 *   node --import tsx bench/profile-top.ts PROFILE [--top 40] [--window S] [--per N]
 *        [--callers AREA | --inclusive [REGEX] | --children REGEX]
 *
 * - `--window S` keeps only the last S seconds of the profile (less 0.5 s of shutdown), to skip
 *   start-up and warm-up;
 * - `--per N` prints µs per request instead of shares, N being the requests served in the window;
 * - `--callers AREA` (e.g. `@electric-sql/pglite`, `ioredis`) charges the self time spent in AREA
 *   to the nearest calling frame in `server/`, to tell which of our code paths pay for it;
 * - `--inclusive [REGEX]` lists inclusive time (self + callees) of the functions matching REGEX.
 *   Across `await` a continuation is charged to whatever resumed it, so read it for synchronous
 *   work only;
 * - `--children REGEX` splits the inclusive time of the first frame matching REGEX by its callees.
 */
import { readFileSync } from "node:fs";
import { areaOf, frameLabel, type CallFrame } from "./frame-area.js";

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args[0];
if (!file) throw new Error("usage: profile-top.ts PROFILE [--top N] [--window S] [--per N] [--callers AREA | --inclusive [REGEX] | --children REGEX]");
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : (args[i + 1] ?? "");
};
const TOP = Number(opt("--top") ?? 40);
const per = opt("--per") === undefined ? undefined : Number(opt("--per"));
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node, over the whole profile or its last `--window` seconds.
const self = new Map<number, number>();
{
  const ends: number[] = [];
  let at = 0;
  for (const d of profile.timeDeltas) ends.push((at += d));
  const to = at - 500_000;
  const from = opt("--window") === undefined ? -Infinity : to - Number(opt("--window")) * 1e6;
  profile.samples.forEach((id, i) => {
    if (ends[i]! < from || (from !== -Infinity && ends[i]! > to)) return;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
}

/** Where a frame's code lives: a package name, a folder of this repository, or a V8 / Node bucket. */
const label = (n: ProfileNode) => frameLabel(n.callFrame);
const isIdle = (n: ProfileNode) => n.callFrame.functionName === "(idle)";
let busy = 0;
for (const [id, us] of self) if (!isIdle(byId.get(id)!)) busy += us;
const fmt = (us: number) => (per === undefined ? `${((us / busy) * 100).toFixed(1).padStart(5)}%` : `${String(Math.round(us / per)).padStart(6)} µs`);
const print = (title: string, m: Map<string, number>) => {
  const unit = per === undefined ? `share of non-idle time ${(busy / 1000).toFixed(0)} ms` : `µs per request, ${per} requests, ${Math.round(busy / per)} µs non-idle each`;
  console.log(`\n${title} (${unit})`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${fmt(us)}  ${k}`);
};
/** The labels of a sample's stack, innermost first. */
const stack = (id: number): string[] => {
  const out: string[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) out.push(label(byId.get(cur)!));
  return out;
};

const callers = opt("--callers");
const inclusive = opt("--inclusive");
const children = opt("--children");
if (callers !== undefined) {
  const by = new Map<string, number>();
  let sum = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    if (areaOf(n.callFrame.url, n.callFrame.functionName) !== callers) continue;
    let p = parent.get(id);
    while (p !== undefined && !/\/server\//.test(byId.get(p)!.callFrame.url)) p = parent.get(p);
    const k = p === undefined ? "(no caller in server/)" : label(byId.get(p)!);
    by.set(k, (by.get(k) ?? 0) + us);
    sum += us;
  }
  print(`${callers}: ${(sum / 1000).toFixed(0)} ms self time, by nearest caller in server/`, by);
} else if (inclusive !== undefined || children !== undefined) {
  const re = new RegExp(children ?? (inclusive || "."));
  const by = new Map<string, number>();
  for (const [id, us] of self) {
    if (isIdle(byId.get(id)!)) continue;
    const frames = stack(id);
    if (children === undefined) {
      for (const k of new Set(frames)) if (re.test(k)) by.set(k, (by.get(k) ?? 0) + us);
      continue;
    }
    const at = frames.findIndex((k) => re.test(k));
    if (at <= 0) continue;
    by.set(frames[at - 1]!, (by.get(frames[at - 1]!) ?? 0) + us);
  }
  print(children === undefined ? "inclusive time by function" : `inclusive time of the callees of /${children}/`, by);
} else {
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    if (isIdle(n)) continue;
    fns.set(label(n), (fns.get(label(n)) ?? 0) + us);
    const a = areaOf(n.callFrame.url, n.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  print("self time by area", areas);
  print("self time by function", fns);
}
