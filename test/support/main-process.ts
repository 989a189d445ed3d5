import { spawn, type ChildProcess } from "node:child_process";

const ROOT = new URL("../..", import.meta.url).pathname;

/** A gateway process started by {@link startMain}, with what it has printed so far. */
export interface MainProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Runs `server/main.ts` as `npm start` does, with the given environment on top of a clean one. */
export function startMain(env: Record<string, string>): MainProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", SWITCHBOARD_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** The URL once the gateway logs "listening"; undefined when it exited first; throws when it did neither in time. */
export async function listeningUrl(run: MainProcess, timeoutMs = 30_000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = run
      .stdout()
      .split("\n")
      .find((l) => l.includes('"msg":"listening"'));
    if (line) return (JSON.parse(line) as { url: string }).url;
    if (run.child.exitCode !== null) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gateway neither started nor exited:\n${run.stdout()}\n${run.stderr()}`);
}

/** The URL once the gateway listens; throws when it exited instead. */
export async function waitListening(run: MainProcess, timeoutMs = 30_000): Promise<string> {
  const url = await listeningUrl(run, timeoutMs);
  if (url === undefined) throw new Error(`gateway did not start:\n${run.stdout()}\n${run.stderr()}`);
  return url;
}

/** The bootstrap secret the start-up banner printed, if it printed one. */
export function bannerKey(run: MainProcess): string | undefined {
  return /export SWITCHBOARD_KEY=(sb_live_[0-9A-Za-z]+)/.exec(run.stderr())?.[1];
}
