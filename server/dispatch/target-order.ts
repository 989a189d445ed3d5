/** What ordering needs to know of a target. */
export interface Orderable {
  priority: number;
  weight: number;
}

/**
 * The order to try targets in, as indexes into `targets`: ascending priority; within one
 * priority, a weighted random order (each next pick with probability weight / remaining weight),
 * so traffic splits by weight on the first pick and fallbacks stay within the priority first.
 * Zero-weight targets come last in their priority, in list order. `random` returns `[0, 1)`.
 */
export function orderTargets(targets: readonly Orderable[], random: () => number): number[] {
  const byPriority = new Map<number, number[]>();
  targets.forEach((t, i) => {
    const group = byPriority.get(t.priority);
    if (group) group.push(i);
    else byPriority.set(t.priority, [i]);
  });
  const order: number[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = byPriority.get(priority) ?? [];
    const weighted = group.filter((i) => (targets[i]?.weight ?? 0) > 0);
    const unweighted = group.filter((i) => (targets[i]?.weight ?? 0) <= 0);
    order.push(...weightedShuffle(weighted, (i) => targets[i]?.weight ?? 0, random), ...unweighted);
  }
  return order;
}

function weightedShuffle(items: number[], weightOf: (i: number) => number, random: () => number): number[] {
  const left = [...items];
  const out: number[] = [];
  while (left.length > 0) {
    const total = left.reduce((sum, i) => sum + weightOf(i), 0);
    let pick = random() * total;
    let chosen = left.length - 1;
    for (let k = 0; k < left.length; k++) {
      pick -= weightOf(left[k] as number);
      if (pick < 0) {
        chosen = k;
        break;
      }
    }
    out.push(...left.splice(chosen, 1));
  }
  return out;
}
