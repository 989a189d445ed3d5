/**
 * Summarises an allocation profile from `bench/alloc-probe.mjs`: sampled bytes allocated by
 * function and by package / source folder (the same areas as `profile-top.ts`), optionally per
 * request.
 *
 *   node --import tsx bench/alloc-top.ts PROFILE [--top 40] [--per N]
 */
import { readFileSync } from "node:fs";

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
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

/** The package or source folder a frame belongs to (as `profile-top.ts` groups them). */
function area(url: string): string {
  if (url === "") return "(native / V8)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return url.split("/")[0]!.replace(/^node:internal.*/, "node:internal");
  const ours = /\/(server|gen|bench)\/(.*)$/.exec(url);
  if (ours) return ours[1] === "server" ? `server/${ours[2]!.split("/")[0]!.replace(/\.js$/, "")}` : ours[1]!;
  return url;
}

const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
let total = 0;
const walk = (n: Node) => {
  if (n.selfSize > 0) {
    const f = n.callFrame;
    const name = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*?\/(node_modules|dist|server)\//, "$1/")}:${f.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + n.selfSize);
    byArea.set(area(f.url), (byArea.get(area(f.url)) ?? 0) + n.selfSize);
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
