import { request as httpRequest } from "node:http";
import { request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeDns } from "../../test/support/fake-dns.js";
import { startRecordingServer, type RecordingServer } from "../../test/support/recording-server.js";
import { createEgress, EgressRefusedError, type Egress } from "./egress-connect.js";
import { createEgressPolicy, type EgressPolicyOptions } from "./egress-policy.js";

const zone = {
  "imds.test": ["169.254.169.254"],
  "mapped.test": ["::ffff:169.254.169.254"],
  // 169.254.169.254 inside a Teredo address (XORed) and GCP's IPv6 metadata address.
  "teredo.test": ["2001:0:4136:e378:8000:63bf:5601:5601"],
  "gcp6.test": ["fd20:ce::254"],
  "split.test": ["169.254.169.254", "127.0.0.1"],
};
const egressOf = (opts: EgressPolicyOptions = {}): Egress => createEgress(createEgressPolicy(opts), { resolve: fakeDns(zone) });

/** POST through undici with `egress`; the status, or the error it failed with. */
async function viaUndici(egress: Egress, url: string): Promise<number | Error> {
  try {
    const res = await request(url, { method: "POST", body: "{}", dispatcher: egress.dispatcher, signal: AbortSignal.timeout(3000) });
    await res.body.dump();
    return res.statusCode;
  } catch (err) {
    return err as Error;
  }
}

/** POST through `http.request` with `egress.agentFor(url)` (the external guardrails' path). */
function viaNodeAgent(egress: Egress, url: string): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: "POST", agent: egress.agentFor(url), timeout: 3000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", resolve);
    req.end("{}");
  });
}

describe.each([
  ["undici dispatcher (budget alert webhooks)", viaUndici],
  ["Node agent (external guardrails)", viaNodeAgent],
])("egress at connect time: %s", (_, post) => {
  let server: RecordingServer;
  let port: string;
  beforeEach(async () => {
    server = await startRecordingServer({ status: 204 });
    port = new URL(server.origin).port;
  });
  afterEach(async () => server.close());

  it("refuses a name that resolves to the metadata address, in any spelling, before dialling it", async () => {
    for (const host of ["imds.test", "mapped.test", "teredo.test", "gcp6.test"]) {
      const err = await post(egressOf(), `http://${host}:${port}/latest/meta-data/`);
      expect(err, host).toBeInstanceOf(EgressRefusedError);
      expect((err as Error).message).toContain(`${host} (`);
      expect((err as Error).message).toMatch(/link-local or cloud metadata/);
    }
  });

  it("dials only the allowed addresses of a name that resolves to a refused one too", async () => {
    expect(await post(egressOf(), `http://split.test:${port}/hook`)).toBe(204);
    expect(server.requests).toHaveLength(1);
  });

  it("with private=deny, never connects to a loopback server reached by name (real DNS) or by literal; by default it does", async () => {
    const closed = egressOf({ private: "deny" });
    for (const url of [`http://localhost:${port}/hook`, `http://127.0.0.1:${port}/hook`, `http://[::ffff:127.0.0.1]:${port}/hook`]) {
      const err = await post(closed, url);
      expect(err, url).toBeInstanceOf(EgressRefusedError);
      expect((err as Error).message).toMatch(/SWITCHBOARD_EGRESS_PRIVATE is deny/);
    }
    expect(server.connections()).toBe(0);
    // The same URLs reach the server under the default policy, or through an allow-list entry.
    expect(await post(egressOf(), `http://localhost:${port}/hook`)).toBe(204);
    expect(await post(egressOf({ private: "deny", allow: ["localhost"] }), `http://localhost:${port}/hook`)).toBe(204);
    expect(await post(egressOf({ private: "deny", allow: ["127.0.0.0/8"] }), `http://127.0.0.1:${port}/hook`)).toBe(204);
    expect(server.requests).toHaveLength(3);
  });
});
