/**
 * The three-snapshot technique for leaks: objects allocated between heap snapshots A and B of one
 * process (their ids are in B, not in A) that are still alive in C, a batch of work later. Work
 * that holds nothing per call leaves next to none; a leak leaves some for every call of the middle
 * batch. Compiled code, V8's hidden objects and native nodes are left out (the JIT's output is no
 * leak of the calls'), and each survivor's first strong retainer chain is kept, so a failure says
 * what holds them.
 */
import { readFileSync } from "node:fs";

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** What survived, grouped. */
export interface Survivors {
  count: number;
  bytes: number;
  /** `type:name` → count, largest first. */
  kinds: Array<[string, number]>;
  /** Retainer chains (up to 6 steps towards the roots) → count, most common first. */
  retainers: Array<[string, number]>;
}

const SKIPPED = new Set(["code", "hidden", "native", "synthetic", "object shape"]);

const load = (file: string) => JSON.parse(readFileSync(file, "utf8")) as RawSnapshot;

function ids(s: RawSnapshot): Set<number> {
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const at = fields.indexOf("id");
  const out = new Set<number>();
  for (let i = 0; i < s.nodes.length; i += width) out.add(s.nodes[i + at]!);
  return out;
}

/** Objects new in snapshot `b` (not in `a`) and still alive in `c`, three snapshot files of one process. */
export function heapSurvivors(a: string, b: string, c: string): Survivors {
  const before = ids(load(a));
  const after = ids(load(c));
  const s = load(b);
  const { node_fields: nf, node_types, edge_fields: ef, edge_types } = s.snapshot.meta;
  const [nw, ew] = [nf.length, ef.length];
  const [type, name, id, selfSize, edgeCount] = ["type", "name", "id", "self_size", "edge_count"].map((f) => nf.indexOf(f)) as [number, number, number, number, number];
  const [edgeType, edgeName, toNode] = ["type", "name_or_index", "to_node"].map((f) => ef.indexOf(f)) as [number, number, number];
  const nodeCount = s.nodes.length / nw;
  const typeOf = (i: number) => node_types[0][s.nodes[i * nw + type]!]!;
  const describe = (i: number) => `${typeOf(i)}:${String(s.strings[s.nodes[i * nw + name]!]).slice(0, 48)}`;

  // The first strong retainer of every node.
  const retainer = new Int32Array(nodeCount).fill(-1);
  const via: string[] = new Array<string>(nodeCount);
  for (let i = 0, e = 0; i < nodeCount; i++) {
    for (let k = s.nodes[i * nw + edgeCount]!; k > 0; k--, e++) {
      const kind = edge_types[0][s.edges[e * ew + edgeType]!]!;
      if (kind === "weak" || kind === "shortcut") continue;
      const to = s.edges[e * ew + toNode]! / nw;
      if (retainer[to] !== -1) continue;
      retainer[to] = i;
      // Element and hidden edges carry an index, and so do many internal ones: drop numbers so equal chains group.
      const label = kind === "element" || kind === "hidden" ? "" : String(s.strings[s.edges[e * ew + edgeName]!]);
      via[to] = /^\d*$/.test(label) ? kind : `${kind}:${label}`;
    }
  }

  const kinds = new Map<string, number>();
  const chains = new Map<string, number>();
  let count = 0;
  let bytes = 0;
  for (let i = 0; i < nodeCount; i++) {
    const nodeId = s.nodes[i * nw + id]!;
    if (before.has(nodeId) || !after.has(nodeId) || SKIPPED.has(typeOf(i))) continue;
    count++;
    bytes += s.nodes[i * nw + selfSize]!;
    const kind = describe(i);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    const chain: string[] = [];
    for (let at = i, step = 0; step < 6 && retainer[at] !== -1; step++, at = retainer[at]!) chain.push(`${via[at]} <- ${describe(retainer[at]!)}`);
    const key = `${kind}: ${chain.join(" | ")}`;
    chains.set(key, (chains.get(key) ?? 0) + 1);
  }
  const top = (m: Map<string, number>) => [...m].sort((x, y) => y[1] - x[1]).slice(0, 10);
  return { count, bytes, kinds: top(kinds), retainers: top(chains) };
}
