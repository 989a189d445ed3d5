import { ServingStatus, type HealthStatus } from "../services/health.js";

/** A dependency check: resolves when healthy, rejects (or resolves a reason) when degraded. */
export interface DependencyProbe {
  /** Short name: `postgres`, `state`, `providers`; the health service is `switchboard.readiness.<name>`. */
  name: string;
  /** Resolves `undefined` when healthy, a caller-safe reason when degraded; a rejection is degraded too. */
  check(): Promise<string | undefined>;
}

/** One dependency's current verdict. */
export interface DependencyState {
  status: "up" | "down";
  /** Why it is down (the last failed check's reason). */
  reason?: string;
  /** Epoch ms of the last change. */
  since: number;
}

/** What `/readyz` reports. */
export interface ReadinessReport {
  /** `ready`: every dependency up; `degraded`: serving with some down; `draining`: shutting down. */
  status: "ready" | "degraded" | "draining";
  dependencies: Record<string, DependencyState>;
}

/** Options of {@link createReadiness}. */
export interface ReadinessOptions {
  /** How often every probe runs (default 2 s). */
  intervalMs?: number;
  /** A check that takes longer failed (default 1 s). */
  timeoutMs?: number;
  /** Consecutive failures before an up dependency is reported down (default 3). */
  fall?: number;
  /** Consecutive successes before a down dependency is reported up again (default 2). */
  rise?: number;
  now?: () => number;
}

/**
 * The gateway's readiness: each dependency probed on an interval, its verdict changed only after
 * `fall` consecutive failures (or `rise` consecutive successes), so one slow ping does not flap it
 * — except the first check, which sets the starting verdict at once (a gateway started while
 * Redis is down reports it at once). Each verdict is published as the gRPC health status of
 * `switchboard.readiness.<name>` (NOT_SERVING while down). The whole server ("") stays SERVING
 * while degraded — the gateway serves in its degraded modes (cache bypass, the Postgres budget
 * check, cached keys) — and turns NOT_SERVING only when it drains. Liveness is not this: a live
 * process answers `/healthz` whatever its dependencies say.
 */
export interface Readiness {
  /** Runs every probe once now (start-up; tests). */
  probeNow(): Promise<void>;
  /** Starts probing every `intervalMs`. */
  start(): void;
  stop(): void;
  report(): ReadinessReport;
}

/** The health service name of a dependency. */
export function readinessService(name: string): string {
  return `switchboard.readiness.${name}`;
}

/** Creates the readiness of one server over its health status and probes. */
export function createReadiness(deps: { health: HealthStatus; probes: readonly DependencyProbe[] }, opts: ReadinessOptions = {}): Readiness {
  const intervalMs = opts.intervalMs ?? 2_000;
  const timeoutMs = opts.timeoutMs ?? 1_000;
  const fall = opts.fall ?? 3;
  const rise = opts.rise ?? 2;
  const now = opts.now ?? Date.now;
  interface Tracked {
    probe: DependencyProbe;
    state?: DependencyState;
    streak: number;
    running?: Promise<void>;
  }
  const tracked: Tracked[] = deps.probes.map((probe) => ({ probe, streak: 0 }));
  for (const t of tracked) deps.health.set(readinessService(t.probe.name), ServingStatus.SERVING);
  let timer: NodeJS.Timeout | undefined;

  const publish = (t: Tracked, status: "up" | "down", reason: string | undefined) => {
    t.state = { status, since: now(), ...(reason === undefined ? {} : { reason }) };
    t.streak = 0;
    deps.health.set(readinessService(t.probe.name), status === "up" ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  };
  const observe = (t: Tracked, reason: string | undefined) => {
    const ok = reason === undefined;
    if (t.state === undefined) return publish(t, ok ? "up" : "down", reason);
    if ((t.state.status === "up") === ok) {
      t.streak = 0;
      if (!ok) t.state.reason = reason;
      return;
    }
    t.streak++;
    if (t.streak >= (ok ? rise : fall)) publish(t, ok ? "up" : "down", reason);
  };
  const runOne = (t: Tracked): Promise<void> => {
    t.running ??= withTimeout(t.probe.check(), timeoutMs)
      .then(
        (reason) => observe(t, reason),
        (err: unknown) => observe(t, reasonOf(err)),
      )
      .finally(() => (t.running = undefined));
    return t.running;
  };
  const probeNow = async () => {
    await Promise.all(tracked.map(runOne));
  };

  return {
    probeNow,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => void probeNow(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
    report() {
      const dependencies: Record<string, DependencyState> = {};
      for (const t of tracked) dependencies[t.probe.name] = t.state ? { ...t.state } : { status: "up", since: now() };
      const status = deps.health.isShutdown ? "draining" : Object.values(dependencies).some((d) => d.status === "down") ? "degraded" : "ready";
      return { status, dependencies };
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** A short, caller-safe reason: the error's class and message, never a stack or a URL's credentials. */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\/\/[^@/\s]*@/g, "//").slice(0, 200);
}
