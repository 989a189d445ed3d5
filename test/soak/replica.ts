/**
 * One gateway replica as a separate Node process running the real entry point
 * (`node --import tsx server/main.ts`), so the nemesis can SIGKILL it, SIGTERM it and start it
 * again on the same port with the same ledger folder, as an orchestrator would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";

const ROOT = new URL("../..", import.meta.url).pathname;

/** How a replica is started. */
export interface ReplicaSpec {
  index: number;
  port: number;
  /** Environment on top of PATH and HOME (nothing else of the parent's leaks in). */
  env: Record<string, string>;
  /** stdout and stderr are appended here. */
  logFile: string;
}

/** A memory sample of one replica process. */
export interface MemorySample {
  replica: number;
  /** The process sampled (a restart is a new one). */
  pid: number;
  t: number;
  rssBytes: number;
  /** V8's old-generation objects after its last full collection (its `/metrics` `switchboard_heap_retained_bytes`), where it was read. */
  heapRetainedBytes?: number;
  /** Open file descriptors (sockets, files, pipes), from `/proc/<pid>/fd`. */
  fds?: number;
  /** The event loop's delay p99 since the previous sample (its `/metrics` `nodejs_eventloop_lag_p99_seconds`), where it was read. */
  lagP99Seconds?: number;
}

/** A replica process the soak controls. */
export interface Replica {
  readonly index: number;
  readonly url: string;
  /** False from a kill or term until the restarted process is ready. */
  readonly up: boolean;
  /** The live process id, if any. */
  pid(): number | undefined;
  /** Starts the process and waits until `/readyz` answers 200. */
  start(timeoutMs?: number): Promise<void>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM; resolves with how long the process took to exit and its exit code. */
  term(timeoutMs: number): Promise<{ exitMs: number; code: number | null }>;
  /** Resident set size from `/proc/<pid>/status`, if the process is alive. */
  rss(): number | undefined;
  /** Open file descriptors from `/proc/<pid>/fd`, if the process is alive. */
  fds(): number | undefined;
}

/** Reads one gauge from the `/metrics` of the replica at `url` (undefined when it cannot be read: restarting, or too slow). */
export async function gauge(url: string, name: string): Promise<number | undefined> {
  return (await gauges(url, [name]))[0];
}

/** Reads several gauges from one scrape of the `/metrics` of the replica at `url`, in the order asked (each undefined when it cannot be read). */
export async function gauges(url: string, names: readonly string[]): Promise<Array<number | undefined>> {
  try {
    const lines = (await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text()).split("\n");
    return names.map((name) => {
      const line = lines.find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      return line === undefined ? undefined : Number(line.split(" ").pop());
    });
  } catch {
    return names.map(() => undefined);
  }
}

/** Creates a replica handle; nothing runs until `start`. */
export function createReplica(spec: ReplicaSpec): Replica {
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let up = false;
  const url = `http://127.0.0.1:${spec.port}`;

  const ready = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child === undefined || child.exitCode !== null) break;
      const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const tail = readFileSync(spec.logFile, "utf8").slice(-3000);
    throw new Error(`replica ${spec.index} did not become ready on ${url}:\n${tail}`);
  };

  return {
    index: spec.index,
    url,
    get up() {
      return up;
    },
    pid: () => (child !== undefined && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    async start(timeoutMs = 60_000) {
      const fd = openSync(spec.logFile, "a");
      child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...spec.env, SWITCHBOARD_PORT: String(spec.port) },
        stdio: ["ignore", fd, fd],
      });
      closeSync(fd);
      const c = child;
      exited = new Promise((resolve) => c.once("exit", (code) => resolve(code)));
      await ready(timeoutMs);
      up = true;
    },
    async kill() {
      up = false;
      child?.kill("SIGKILL");
      await exited;
    },
    async term(timeoutMs) {
      up = false;
      const t0 = Date.now();
      child?.kill("SIGTERM");
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs));
      const code = await Promise.race([exited, timer]);
      if (code === "timeout") {
        child?.kill("SIGKILL");
        await exited;
        return { exitMs: Date.now() - t0, code: null };
      }
      return { exitMs: Date.now() - t0, code };
    },
    rss() {
      const pid = this.pid();
      if (pid === undefined) return undefined;
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
        return m ? Number(m[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    fds() {
      const pid = this.pid();
      if (pid === undefined) return undefined;
      try {
        return readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        return undefined;
      }
    },
  };
}
