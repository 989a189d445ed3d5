/**
 * Summarises an allocation profile from `bench/alloc-probe.mjs`: sampled bytes allocated by
 * function and by package / source folder (`frame-area.ts`, as `profile-top.ts` groups them), optionally per
 * request.
 *
 *   node --import tsx bench/alloc-top.ts PROFILE [--top 40] [--per N]
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
const per = opt("per");
const root = (JSON.parse(readFileSync(file, "utf8")) as { head: Node }).head;

const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
let total = 0;
const walk = (n: Node) => {
  if (n.selfSize > 0) {
    const name = frameLabel(n.callFrame);
    const area = areaOf(n.callFrame.url, n.callFrame.functionName);
    byFunction.set(name, (byFunction.get(name) ?? 0) + n.selfSize);
    byArea.set(area, (byArea.get(area) ?? 0) + n.selfSize);
    total += n.selfSize;
  }
  for (const c of n.children) walk(c);
};
walk(root);

const show = (bytes: number) => (per ? `${(bytes / per / 1024).toFixed(2).padStart(7)} KB/req` : `${((100 * bytes) / total).toFixed(1).padStart(5)}%`);
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title} (${(total / 1048576).toFixed(1)} MB sampled${per ? `, ${per} requests` : ""})\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${show(v)}  ${k}\n`);
};
print("allocated by area", byArea);
print("allocated by function", byFunction);
