/**
 * Child process of heap-growth.test.ts: applies the percent in argv[2], keeps ≈ 60 MB live, then
 * allocates objects that live long enough to be promoted and die in the old generation (the shape
 * of a gateway under load), and prints the old space's largest size against its live size.
 */
import { getHeapSpaceStatistics } from "node:v8";
import { applyHeapGrowth } from "./heap-growth.js";

applyHeapGrowth(Number(process.argv[2]));
const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "old_space")!;
const live: unknown[] = [];
for (let i = 0; i < 300_000; i++) live.push({ i, text: `live ${i}`, list: [i] });
// Each object survives 100,000 allocations (several scavenges), then is dropped.
const ring: unknown[] = new Array(100_000);
let peak = 0;
for (let n = 0; n < 4_000_000; n++) {
  ring[n % ring.length] = { n, text: `promoted ${n}`, list: [n, n] };
  if (n % 5_000 === 0) peak = Math.max(peak, oldSpace().space_size);
}
(globalThis as { gc?: () => void }).gc?.();
process.stdout.write(JSON.stringify({ liveBytes: oldSpace().space_used_size, peakBytes: peak, kept: live.length + ring.length }) + "\n");
