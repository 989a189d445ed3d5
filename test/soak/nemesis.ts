/**
 * The nemesis: one cycle of faults, run while the load runs, each recorded with its window so the
 * checkers can tell which operations it could have touched. The faults never overlap, so an error
 * in a quiet window is the gateway's, not the schedule's.
 *
 * A cycle: SIGKILL a replica with streams in flight and restart it; a provider 503/429 storm (the
 * route falls back); Redis hung on every replica's link (a frozen server); Postgres refused on
 * every link; SIGTERM a replica (drain) and restart it.
 */
import type { Cluster } from "./soak-cluster.js";
import type { Load } from "./load-client.js";

/** One fault as it happened. */
export interface NemesisEvent {
  name: "kill" | "storm" | "redis_hang" | "postgres_cut" | "term";
  replica?: number;
  t_start: number;
  t_end: number;
  /** Kill and term: when the restart began (the kill's own window ends here) and when it was ready. */
  t_restart?: number;
  t_ready?: number;
  /** Term: how long the drain took and the exit code. */
  exitMs?: number;
  exitCode?: number | null;
  /** Kill and term: operations in flight on the replica when the signal was sent. */
  inFlight?: number;
}

/** Durations of one cycle's faults, ms. */
export interface NemesisTiming {
  quietMs: number;
  stormMs: number;
  redisMs: number;
  postgresMs: number;
  shutdownGraceMs: number;
  /** Start the drained replica again (a later cycle needs it; the last one need not wait for it). */
  restartAfterTerm: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Background watches that set a fault's `t_ready`; `settleRecoveries` waits for them. */
const recoveries: Promise<void>[] = [];

/** Waits until every background recovery watch has set its event's `t_ready` (before checking). */
export async function settleRecoveries(): Promise<void> {
  await Promise.all(recoveries.splice(0));
}

/**
 * When every running replica's breakers of `provider` read closed (`switchboard_breaker_state`
 * 0 or absent in /metrics), polled every 250 ms for at most 90 s; the time of the last poll then.
 */
async function breakersClosed(cluster: Cluster, provider: string): Promise<number> {
  const open = new RegExp(`^switchboard_breaker_state\\{[^}]*provider="${provider}"[^}]*\\} [12]$`, "m");
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const texts = await Promise.all(
      cluster.replicas.map((r) =>
        fetch(`${r.url}/metrics`, { signal: AbortSignal.timeout(1000) }).then(
          (res) => res.text(),
          () => "", // a replica being restarted: its fresh process starts closed
        ),
      ),
    );
    if (!texts.some((t) => open.test(t))) return Date.now();
    await sleep(250);
  }
  return Date.now();
}

/** Runs one cycle; `cycle` picks which replicas are killed and drained. */
export async function runNemesisCycle(cluster: Cluster, load: Load, timing: NemesisTiming, cycle: number, events: NemesisEvent[]): Promise<void> {
  // Replica 0 is never signalled, so one process lives the whole run (the memory slope, P24).
  const killed = cluster.replicas[1 + (cycle % 2)]!;
  const drained = cluster.replicas[2 - (cycle % 2)]!;

  await sleep(timing.quietMs);
  // Kill -9 with streams in flight (wait up to 5 s for at least two).
  for (let waited = 0; waited < 8000 && load.inFlight(killed.index, 300) < 2; waited += 50) await sleep(50);
  const inFlightKill = load.inFlight(killed.index);
  const tKill = Date.now();
  await killed.kill();
  const kill: NemesisEvent = { name: "kill", replica: killed.index, t_start: tKill, t_end: Date.now(), inFlight: inFlightKill };
  events.push(kill);
  await sleep(500);
  kill.t_restart = Date.now();
  await killed.start();
  kill.t_ready = Date.now();

  await sleep(timing.quietMs);
  const tStorm = Date.now();
  cluster.providers.setStorm("openai", { status: cycle % 2 === 0 ? 503 : 429, probability: 0.8 });
  await sleep(timing.stormMs);
  cluster.providers.setStorm("openai", undefined);
  const storm: NemesisEvent = { name: "storm", t_start: tStorm, t_end: Date.now() };
  events.push(storm);
  // The storm opened the openai breaker; until it closes again (30 s cool-down, then a probe) the
  // route has one target left, so a stall there cannot fail over: the storm is still recovering.
  // Watched in the background; the schedule goes on meanwhile.
  recoveries.push(breakersClosed(cluster, "openai").then((t) => void (storm.t_ready = t)));

  await sleep(timing.quietMs);
  const tRedis = Date.now();
  await cluster.setRedis("blackhole");
  await sleep(timing.redisMs);
  await cluster.setRedis("forward");
  events.push({ name: "redis_hang", t_start: tRedis, t_end: Date.now() });

  await sleep(timing.quietMs);
  const tPg = Date.now();
  await cluster.setPostgres("closed");
  await sleep(timing.postgresMs);
  await cluster.setPostgres("forward");
  events.push({ name: "postgres_cut", t_start: tPg, t_end: Date.now() });

  await sleep(timing.quietMs);
  // SIGTERM: the balancer stops sending first (`term` marks it down), then the drain.
  for (let waited = 0; waited < 8000 && load.inFlight(drained.index, 300) < 2; waited += 50) await sleep(50);
  const inFlightTerm = load.inFlight(drained.index);
  const tTerm = Date.now();
  const { exitMs, code } = await drained.term(timing.shutdownGraceMs + 5000);
  const term: NemesisEvent = { name: "term", replica: drained.index, t_start: tTerm, t_end: Date.now(), exitMs, exitCode: code, inFlight: inFlightTerm };
  events.push(term);
  if (!timing.restartAfterTerm) return;
  term.t_restart = Date.now();
  await drained.start();
  term.t_ready = Date.now();
}
