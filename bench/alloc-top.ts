/**
 * Summarises an allocation profile from `bench/alloc-probe.mjs`: sampled bytes allocated by
 * function and by package / source folder (`frame-area.ts`, as `profile-top.ts` groups them), optionally per
 * request.
 *
 *   node --import tsx bench/alloc-top.ts PROFILE [--top 40] [--per N] [--callers] [--inclusive REGEX]
 *
 * - `--callers` charges every allocation to the nearest frame of ours (`server/`) on its stack,
 *   so what a builtin (`Map`, `sort`, a promise) or a dependency (ioredis, undici) allocates shows
 *   under the code of ours that asked for it;
 * - `--inclusive REGEX` lists the bytes allocated while a function matching REGEX was on the
 *   stack (itself and everything it called synchronously; a function on the stack twice counts once).
 *   Unlike CPU time this is exact across `await`: an allocation's stack is the synchronous one.
 */
import { readFileSync } from "node:fs";
import { areaOf, frameLabel, type CallFrame } from "./frame-area.js";

interface Node {
  callFrame: CallFrame;
  selfSize: number;
  children: Node[];
}

const args = process.argv.slice(2);
const file = args[0];
if (!file) throw new Error("usage: alloc-top.ts PROFILE [--top N] [--per N]");
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : Number(args[i + 1]);
};
const top = opt("top") ?? 40;
const callers = args.includes("--callers");
const inclusiveAt = args.indexOf("--inclusive");
const inclusive = inclusiveAt === -1 ? undefined : new RegExp(args[inclusiveAt + 1] ?? ".");
const per = opt("per");
const root = (JSON.parse(readFileSync(file, "utf8")) as { head: Node }).head;

const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
const byCaller = new Map<string, number>();
const byInclusive = new Map<string, number>();
let total = 0;
const ours = (f: CallFrame) => areaOf(f.url, f.functionName).startsWith("server/");
/** `caller`: the nearest frame of ours above (or at) `n`; `open`: the matching functions on the stack. */
const walk = (n: Node, caller: string, open: ReadonlySet<string>) => {
  const label = frameLabel(n.callFrame);
  const here = ours(n.callFrame) ? label : caller;
  const stack = inclusive?.test(n.callFrame.functionName) && !open.has(label) ? new Set([...open, label]) : open;
  if (n.selfSize > 0) {
    const area = areaOf(n.callFrame.url, n.callFrame.functionName);
    byFunction.set(label, (byFunction.get(label) ?? 0) + n.selfSize);
    byArea.set(area, (byArea.get(area) ?? 0) + n.selfSize);
    byCaller.set(here, (byCaller.get(here) ?? 0) + n.selfSize);
    for (const f of stack) byInclusive.set(f, (byInclusive.get(f) ?? 0) + n.selfSize);
    total += n.selfSize;
  }
  for (const c of n.children) walk(c, here, stack);
};
walk(root, "(no caller in server/)", new Set());

const show = (bytes: number) => (per ? `${(bytes / per / 1024).toFixed(2).padStart(7)} KB/req` : `${((100 * bytes) / total).toFixed(1).padStart(5)}%`);
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title} (${(total / 1048576).toFixed(1)} MB sampled${per ? `, ${per} requests` : ""})\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${show(v)}  ${k}\n`);
};
print("allocated by area", byArea);
if (inclusive) print("allocated while on the stack (inclusive)", byInclusive);
else if (callers) print("allocated by nearest caller in server/", byCaller);
else print("allocated by function", byFunction);
