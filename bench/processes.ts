/**
 * The benchmark's child processes: started with tsx (or, for the gateway, from the build `npm start`
 * runs), ready when they print their port, killed on exit.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
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
  /** The Node binary to run it with. Default: this process's. */
  node?: string;
  /**
   * Run the script compiled, from this build folder ({@link buildOnce}), as `npm start` does:
   * `node --enable-source-maps <dist>/<script>.js`. Default: from source with tsx.
   */
  dist?: string;
}

/** How the gateway runs: compiled by scripts/build.mjs, as `npm start` runs it (default), or with tsx. */
export type Runtime = "build" | "tsx";

/** The benchmark's `--runtime build|tsx` flag (default `build`). */
export function runtimeFlag(argv: readonly string[] = process.argv): Runtime {
  const i = argv.indexOf("--runtime");
  const value = i === -1 ? "build" : argv[i + 1];
  if (value !== "build" && value !== "tsx") throw new Error(`--runtime: expected build or tsx, got ${value}`);
  return value;
}

let built: string | undefined;

/**
 * Compiles the repository once per benchmark process (scripts/build.mjs, into a private temporary
 * folder beside a `node_modules` link, removed at exit: concurrent runs never rebuild under each
 * other's gateway) and returns the build folder, for {@link StartOptions.dist}.
 */
export function buildOnce(): string {
  if (built !== undefined) return built;
  const dir = mkdtempSync(join(tmpdir(), "sb-bench-build-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  execFileSync(process.execPath, ["scripts/build.mjs", "--out", join(dir, "dist")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  built = join(dir, "dist");
  return built;
}

/**
 * Starts `node --import tsx <script> args…` (or its build, with `dist`) from the repository root and resolves once it prints
 * its port. Output after that is drained and dropped (a gateway's access log would otherwise pile
 * up in this process), or written to `$SB_BENCH_LOG_DIR/<script>-<pid>.log` when that is set; the
 * last 4 KB before readiness are kept for the error of a failed start.
 */
export function startNode(script: string, args: string[], opts: StartOptions = {}): Promise<BenchProcess> {
  const readyLine = opts.readyLine ?? /^(\d+)$/m;
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const entry = opts.dist === undefined ? ["--import", "tsx", script] : ["--enable-source-maps", join(opts.dist, script.replace(/\.ts$/, ".js"))];
  const child = spawn(opts.node ?? process.execPath, [...(opts.nodeFlags ?? []), ...entry, ...args], {
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
