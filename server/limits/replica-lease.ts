import { randomBytes } from "node:crypto";
import type { Logger } from "../observability/logger.js";
import type { StateBackend } from "../store/state/state-backend.js";

/** Dependencies of {@link createReplicaLease}. */
export interface ReplicaLeaseDeps {
  state: StateBackend;
  logger: Logger;
}

/** Options of {@link createReplicaLease}. */
export interface ReplicaLeaseOptions {
  /**
   * How long the lease outlives its last refresh (default 15 s; `budgets.holdLeaseTtlMs`): how
   * long after a replica dies its budget holds may still count, and how long a replica may stall
   * (event loop blocked, Redis unreachable) before its holds are treated as a dead replica's.
   */
  ttlMs?: number;
  /** How often the lease is refreshed (default 4 s; `budgets.holdLeaseRefreshMs`, checked at start to be under half of `ttlMs`). */
  refreshMs?: number;
  /** This replica's id (default: random per process start, so a restarted replica is a new one). */
  id?: string;
}

/** This replica's liveness in the shared state, and a way to ask about another's. */
export interface ReplicaLease {
  /** This replica's id: the owner its budget holds name. */
  readonly id: string;
  /** Writes the lease and keeps refreshing it (a failed write is logged and retried at the next refresh). */
  start(): Promise<void>;
  /** Whether replica `id`'s lease is current; rejects when the state backend fails. */
  isAlive(id: string): Promise<boolean>;
  /** Stops refreshing and deletes the lease, so this replica's leftover holds are swept at once. */
  stop(): Promise<void>;
}

/** The lease key of replica `id`. */
export function replicaLeaseKey(id: string): string {
  return `replica-lease:${id}`;
}

/**
 * A lease per replica: `replica-lease:<id>` with a TTL of `ttlMs`, rewritten every `refreshMs`
 * on an unref'd timer. A replica killed with -9 stops refreshing, so its lease lapses `ttlMs`
 * after its last refresh at the latest; that is what lets the other replicas give its budget
 * holds back (`hold-sweeper.ts`). The key always carries a TTL (P6).
 */
export function createReplicaLease(deps: ReplicaLeaseDeps, opts: ReplicaLeaseOptions = {}): ReplicaLease {
  const ttlMs = opts.ttlMs ?? 15_000;
  const refreshMs = opts.refreshMs ?? 4_000;
  const id = opts.id ?? randomBytes(8).toString("hex");
  const key = replicaLeaseKey(id);
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  const write = async (): Promise<void> => {
    try {
      await deps.state.set(key, new TextEncoder().encode(String(Date.now())), ttlMs);
      if (failing) deps.logger.info({ replica: id }, "replica lease renewed");
      failing = false;
    } catch (err) {
      if (!failing) deps.logger.warn({ replica: id, err: err instanceof Error ? err.message : String(err) }, "replica lease refresh failed; other replicas may release this replica's budget holds if it keeps failing");
      failing = true;
    }
  };

  return {
    id,
    async start() {
      if (timer !== undefined) return;
      timer = setInterval(() => void write(), refreshMs);
      timer.unref();
      await write();
    },
    async isAlive(other) {
      return (await deps.state.get(replicaLeaseKey(other))) !== undefined;
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await deps.state.delete(key).catch(() => false);
    },
  };
}
