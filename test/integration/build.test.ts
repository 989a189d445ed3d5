/**
 * `npm run build` (scripts/build.mjs) and what `npm start` runs from it: the compiled gateway must
 * start on the embedded default and answer, or a broken build would only show in production.
 * The build goes to a temporary folder (a `node_modules` link beside it), not the repo's `dist/`.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { KeyService } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { generateSecret } from "../../server/auth/key-format.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "sb-build-"));
const dist = join(work, "dist");
symlinkSync(join(ROOT, "node_modules"), join(work, "node_modules"), "dir");
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

/** Every file under `dir`, relative to it. */
const tree = (dir: string) => readdirSync(dir, { recursive: true, encoding: "utf8" });

describe("scripts/build.mjs", () => {
  it("compiles the server, generated code and migrations (no tests, no keepNames) with linked source maps", async () => {
    await run(process.execPath, ["scripts/build.mjs", "--out", dist], { cwd: ROOT });
    const files = tree(dist);
    expect(files).toContain("server/main.js");
    expect(files).toContain("server/main.js.map");
    expect(files).toContain("gen/ts/switchboard/v1/key_service_pb.js");
    for (const m of readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".ts"))) {
      expect(files, m).toContain(`migrations/${m.replace(/\.ts$/, ".js")}`);
    }
    expect(files.filter((f) => /\.(test|testing|contract|model)\.(js|ts)$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".ts"))).toEqual([]);
    const main = readFileSync(join(dist, "server/main.js"), "utf8");
    expect(main).toMatch(/\/\/# sourceMappingURL=main\.js\.map\n$/);
    expect(main).not.toContain("__name(");
    // Maps carry the mappings only: node --enable-source-maps holds every loaded map for good.
    const map = JSON.parse(readFileSync(join(dist, "server/main.js.map"), "utf8")) as { mappings: string; sourcesContent?: unknown };
    expect(map.mappings.length).toBeGreaterThan(0);
    expect(map.sourcesContent).toBeUndefined();

    // A stack trace through compiled code names the TypeScript source (migrate.ts refuses a relative folder).
    const probe = `import { migrateToLatest } from ${JSON.stringify(join(dist, "server/store/migrate.js"))};
      await migrateToLatest(null, { migrationFolder: "relative" }).catch((e) => console.log(e.stack));`;
    const { stdout } = await run(process.execPath, ["--enable-source-maps", "--input-type=module", "-e", probe], { cwd: work });
    expect(stdout).toContain("migrationFolder must be an absolute path");
    expect(stdout).toMatch(/server\/store\/migrate\.ts:\d+:\d+/);
  }, 30_000);

  it("builds a gateway that starts on the embedded default and answers with its bootstrap key", async () => {
    expect(existsSync(join(dist, "server/main.js")), "the build of the first test").toBe(true);
    const adminKey = generateSecret();
    const child = spawn(process.execPath, ["--enable-source-maps", join(dist, "server/main.js")], {
      cwd: work,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/root",
        SWITCHBOARD_PORT: "0",
        SWITCHBOARD_DATA_DIR: join(work, "pglite"),
        SWITCHBOARD_BOOTSTRAP_KEY: adminKey,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const line = out.split("\n").find((l) => l.includes('"msg":"listening"'));
        if (line) resolve((JSON.parse(line) as { url: string }).url);
        else if (child.exitCode !== null) reject(new Error(`the built gateway exited:\n${out}`));
        else return;
        clearInterval(timer);
      }, 50);
    });

    const transport = createConnectTransport({ baseUrl: url, httpVersion: "1.1" });
    expect((await createClient(Health, transport).check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const listed = await createClient(KeyService, transport).listKeys(
      { parent: "orgs/system/teams/-" },
      { headers: { authorization: `Bearer ${adminKey}` } },
    );
    expect(listed.keys.map((k) => k.name)).toContain("orgs/system/teams/admins/keys/bootstrap");

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out).toContain('"msg":"stopped"');
  }, 60_000);
});
