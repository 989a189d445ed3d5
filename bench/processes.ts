/** The benchmark's child processes: started with tsx, ready when they print their port, killed on exit. */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { basename, join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const children: ChildProcess[] = [];
process.on("exit", () => children.forEach((c) => c.kill("SIGKILL")));

/** A started process: its pid, the port it printed, and a graceful stop. */
export interface BenchProcess {
  pid: number;
  port: number;
  /** SIGTERM and wait for the exit (a gateway started with --cpu-prof writes its profile then). */
  stop(): Promise<void>;
}

/** Options of {@link startNode}. */
export interface StartOptions {
  /** Added to this process's environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** The output line that says it is ready; group 1 is the port. Default: a line holding only a number. */
  readyLine?: RegExp;
  /** Flags before `--import tsx` (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
}

/**
 * Starts `node --import tsx <script> args…` from the repository root and resolves once it prints
 * its port. Output after that is drained and dropped (a gateway's access log would otherwise pile
 * up in this process), or written to `$SB_BENCH_LOG_DIR/<script>-<pid>.log` when that is set; the
 * last 4 KB before readiness are kept for the error of a failed start.
 */
export function startNode(script: string, args: string[], opts: StartOptions = {}): Promise<BenchProcess> {
  const readyLine = opts.readyLine ?? /^(\d+)$/m;
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), "--import", "tsx", script, ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  return new Promise((resolve, reject) => {
    let out = "";
    let ready = false;
    const onData = (c: Buffer) => {
      if (ready) return;
      out = (out + c.toString()).slice(-4096);
      const m = readyLine.exec(out);
      if (m) {
        ready = true;
        if (process.env.SB_BENCH_LOG_DIR) {
          const log = createWriteStream(join(process.env.SB_BENCH_LOG_DIR, `${basename(script, ".ts")}-${child.pid}.log`));
          log.write(out);
          child.stdout!.pipe(log);
          child.stderr!.pipe(log);
        }
        resolve({ pid: child.pid!, port: Number(m[1]), stop });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      if (!ready) reject(new Error(`${script} exited with ${code}:\n${out}`));
    });
  });
}
