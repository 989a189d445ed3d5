/**
 * Diffs two V8 heap snapshots of one process (`.heapsnapshot`, e.g. from
 * `--heapsnapshot-signal`): the objects present in the second and not the first (node ids are
 * stable within a process), their self size charged to the source file that owns them — the
 * first node up the retainer chain with a source location — and the largest groups by kind and
 * immediate owner. Used to find what an open stream holds (bench/README.md, "Memory per open
 * stream").
 *
 *   node --max-old-space-size=6000 --import tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 40] [--file PART] [--frames]
 *
 * `--file PART` also lists, for the files whose path contains PART, the groups charged to them.
 * `--frames` also lists the new suspended `async` functions and generators (V8's `Generator`
 * objects) by function and source line: what each call in flight keeps suspended
 * (bench/README.md, "Eleventh pass").
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
  locations?: number[];
}

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : args.splice(i, 2)[1];
};
const top = Number(flag("top") ?? 40);
const filePart = flag("file");
const frames = args.includes("--frames");
const [fileA, fileB] = args.filter((a) => a !== "--frames");
if (!fileA || !fileB) throw new Error("usage: heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top N] [--file PART] [--frames]");

const load = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Snapshot;
const before = load(fileA);
const after = load(fileB);
const meta = after.snapshot.meta;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const [TYPE, NAME, ID, SIZE, EDGES] = ["type", "name", "id", "self_size", "edge_count"].map((f) => meta.node_fields.indexOf(f)) as [number, number, number, number, number];
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const { nodes, edges, strings } = after;
const count = nodes.length / NF;

const oldIds = new Set<number>();
for (let i = 0; i < before.nodes.length; i += NF) oldIds.add(before.nodes[i + ID]!);
const isNew = (n: number) => !oldIds.has(nodes[n * NF + ID]!);

// Edges: where each node's edges start, and one retainer per node (a new one preferred).
const firstEdge = new Uint32Array(count + 1);
for (let n = 0, e = 0; n < count; n++) {
  firstEdge[n] = e;
  e += nodes[n * NF + EDGES]! * EF;
  firstEdge[n + 1] = e;
}
const edgeName = (e: number) => {
  const t = edgeTypes[edges[e]!]!;
  return t === "element" || t === "hidden" ? `[${t}]` : strings[edges[e + 1]!]!;
};
const owner = new Int32Array(count).fill(-1);
const ownerEdge = new Int32Array(count).fill(-1);
for (let n = 0; n < count; n++) {
  for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF) {
    if (edgeTypes[edges[e]!] === "weak") continue;
    const to = edges[e + 2]! / NF;
    if (owner[to] === -1 || (!isNew(owner[to]!) && isNew(n))) {
      owner[to] = n;
      ownerEdge[to] = e;
    }
  }
}
const edgeTo = (n: number, name: string) => {
  for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF) if (strings[edges[e + 1]!] === name) return edges[e + 2]! / NF;
  return -1;
};

// Source locations: closures and generators carry one; scripts are named through their function.
const location = new Map<number, number>();
const line = new Map<number, number>();
const scriptName = new Map<number, string>();
const L = after.locations ?? [];
for (let i = 0; i < L.length; i += 4) {
  const n = L[i]! / NF;
  const script = L[i + 1]!;
  location.set(n, script);
  line.set(n, L[i + 2]! + 1);
  if (scriptName.has(script)) continue;
  const shared = edgeTo(n, "shared");
  const source = shared < 0 ? -1 : edgeTo(shared, "script_or_debug_info");
  const name = source < 0 ? "" : strings[nodes[source * NF + NAME]!]!;
  if (name.length > 3) scriptName.set(script, name.replace(/^.*node_modules\//, "").replace(/^file:\/\//, "").replace(process.cwd() + "/", ""));
}
const label = (n: number) => {
  const type = nodeTypes[nodes[n * NF + TYPE]!]!;
  const name = type.includes("string") ? "" : strings[nodes[n * NF + NAME]!]!.slice(0, 40);
  return `${type}:${name}`;
};

let total = 0;
const byFile = new Map<string, number>();
const groups = new Map<string, { count: number; size: number }>();
const fileGroups = new Map<string, { count: number; size: number }>();
const add = (map: Map<string, { count: number; size: number }>, key: string, size: number) => {
  const g = map.get(key) ?? { count: 0, size: 0 };
  g.count++;
  g.size += size;
  map.set(key, g);
};
for (let n = 0; n < count; n++) {
  if (!isNew(n)) continue;
  const size = nodes[n * NF + SIZE]!;
  total += size;
  let file = "(unattributed)";
  for (let k = n, step = 0; k >= 0 && step < 12; k = owner[k]!, step++) {
    const script = location.get(k);
    if (script !== undefined) {
      file = scriptName.get(script) ?? `script ${script}`;
      break;
    }
  }
  byFile.set(file, (byFile.get(file) ?? 0) + size);
  const o = owner[n]!;
  const key = `${label(n)} <-${ownerEdge[n]! >= 0 ? edgeName(ownerEdge[n]!) : "?"}- ${o >= 0 ? label(o) : "?"}`;
  add(groups, key, size);
  if (filePart !== undefined && file.includes(filePart)) add(fileGroups, key, size);
}

const kb = (b: number) => `${(b / 1e3).toFixed(0).padStart(8)} KB`;
console.log(`new objects: ${(total / 1e6).toFixed(1)} MB (self size)\n\nby owning source file:`);
for (const [file, size] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${kb(size)}  ${file}`);
console.log("\nby kind <-edge- owner:");
for (const [key, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) console.log(`${kb(g.size)} ${String(g.count).padStart(8)}  ${key}`);
if (filePart !== undefined) {
  console.log(`\ncharged to files matching "${filePart}":`);
  for (const [key, g] of [...fileGroups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) console.log(`${kb(g.size)} ${String(g.count).padStart(8)}  ${key}`);
}
if (frames) {
  const suspended = new Map<string, number>();
  for (let n = 0; n < count; n++) {
    if (!isNew(n) || nodeTypes[nodes[n * NF + TYPE]!] !== "object" || strings[nodes[n * NF + NAME]!] !== "Generator") continue;
    const fn = edgeTo(n, "function");
    const script = location.get(n);
    const where = script === undefined ? "?" : `${scriptName.get(script) ?? `script ${script}`}:${line.get(n)}`;
    const key = `${fn < 0 ? "?" : strings[nodes[fn * NF + NAME]!] || "(anonymous)"}  ${where}`;
    suspended.set(key, (suspended.get(key) ?? 0) + 1);
  }
  console.log("\nsuspended async functions and generators (new):");
  for (const [key, n] of [...suspended].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${String(n).padStart(8)}  ${key}`);
}
