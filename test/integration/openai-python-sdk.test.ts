/**
 * The OpenAI-compatible surface with the official Python `openai` package as the client: runs
 * `test/openai-python/` with pytest from `.tools/venv` (built by `scripts/tools.sh`, which pins
 * `openai`) against a gateway on the sandbox routes.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { clientsFor } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = `${ROOT}.tools/venv/bin/python`;

let gw: TestGateway;
const keys: Record<string, string> = {};

beforeAll(async () => {
  gw = await startTestGateway();
  const admin = clientsFor(gw.url, gw.adminKey);
  const create = (keyId: string, allowedRoutes: string[] = []) =>
    admin.keys.createKey({ parent: "orgs/system/teams/admins", keyId, key: { displayName: keyId, scopes: [Scope.INVOKE], allowedRoutes } });
  keys.limited = (await create("py-limited", ["fast"])).secret;
  const revoked = await create("py-revoked");
  await admin.keys.revokeKey({ name: revoked.key!.name });
  keys.revoked = revoked.secret;
});
afterAll(async () => {
  await gw?.close();
});

function pytest(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "test/openai-python"], { cwd: ROOT, env: { ...process.env, ...env } });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("the Python openai SDK against the OpenAI-compatible surface", () => {
  it("passes test/openai-python (unary, streaming, tools, embeddings, models, policy errors)", async () => {
    expect(existsSync(PYTHON), `${PYTHON} is missing: run bash scripts/tools.sh`).toBe(true);
    const { code, output } = await pytest({
      SWITCHBOARD_OPENAI_BASE_URL: `${gw.url}/v1`,
      SWITCHBOARD_KEY: gw.adminKey,
      SWITCHBOARD_LIMITED_KEY: keys.limited!,
      SWITCHBOARD_REVOKED_KEY: keys.revoked!,
    });
    expect(code, output).toBe(0);
    expect(output).toMatch(/\d+ passed/);
  }, 120_000);
});
