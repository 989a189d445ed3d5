import { execFile } from "node:child_process";
import { request as h1Request } from "node:http";
import { connect as h2Connect } from "node:http2";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { CacheService } from "../../gen/ts/switchboard/v1/cache_service_pb.js";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { CredentialService } from "../../gen/ts/switchboard/v1/credential_service_pb.js";
import { ChatRequestSchema, SummarizeRequestSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { SWITCHBOARD_SERVICES } from "../../server/schema.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

const execFileAsync = promisify(execFile);
const BUF = new URL("../../node_modules/.bin/buf", import.meta.url).pathname;

let gw: TestGateway;
let transports: Record<string, Transport>;

beforeAll(async () => {
  gw = await startTestGateway();
  transports = {
    "gRPC over h2c": createGrpcTransport({ baseUrl: gw.url }),
    "Connect over HTTP/1.1": createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1" }),
    "Connect over HTTP/2": createConnectTransport({ baseUrl: gw.url, httpVersion: "2" }),
    "gRPC-Web over HTTP/1.1": createGrpcWebTransport({ baseUrl: gw.url, httpVersion: "1.1" }),
  };
});
afterAll(async () => {
  await gw.close();
});

describe("one port, every protocol", () => {
  for (const name of ["gRPC over h2c", "Connect over HTTP/1.1", "Connect over HTTP/2", "gRPC-Web over HTTP/1.1"]) {
    it(`health answers SERVING over ${name}`, async () => {
      const health = createClient(Health, transports[name]!);
      const res = await health.check({ service: "" });
      expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      const named = await health.check({ service: "switchboard.v1.CapabilityService" });
      expect(named.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    });
  }

  for (const name of ["gRPC over h2c", "Connect over HTTP/1.1", "Connect over HTTP/2", "gRPC-Web over HTTP/1.1"]) {
    it(`authenticates switchboard methods from the authorization header over ${name}`, async () => {
      const client = createClient(CapabilityService, transports[name]!);
      const anonymous = await client.summarize({ text: "hello" }).catch((e: unknown) => ConnectError.from(e));
      expect((anonymous as ConnectError).code).toBe(Code.Unauthenticated);
      const authorized = await client.summarize({ text: "hello" }, { headers: gw.adminHeaders });
      expect(authorized.usage?.provider).toBe("sandbox");
      expect(authorized.summary.length).toBeGreaterThan(0);
    });
  }

  it("answers unknown HTTP paths with 404, not a hang", async () => {
    const res = await fetch(`${gw.url}/nope`);
    expect(res.status).toBe(404);
  });

  it("answers a procedure it does not serve Unimplemented over every protocol, not the NotFound of a missing route", async () => {
    // Under a path prefix the gateway does not serve. connect-node alone answers a bare 404, which
    // every client reads as Unimplemented; a Connect unary client reads a JSON body's code instead.
    const base = `${gw.url}/v0`;
    const elsewhere: Record<string, Transport> = {
      "gRPC over h2c": createGrpcTransport({ baseUrl: base }),
      "Connect over HTTP/1.1": createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
      "Connect JSON over HTTP/1.1": createConnectTransport({ baseUrl: base, httpVersion: "1.1", useBinaryFormat: false }),
      "Connect over HTTP/2": createConnectTransport({ baseUrl: base, httpVersion: "2" }),
      "gRPC-Web over HTTP/1.1": createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" }),
    };
    for (const [name, transport] of Object.entries(elsewhere)) {
      const err = ConnectError.from(await createClient(Health, transport).check({ service: "" }).catch((e: unknown) => e));
      expect([name, Code[err.code], err.rawMessage]).toEqual([name, "Unimplemented", expect.not.stringContaining("no such route")]);
    }
  });

  it("keeps a deadline beyond a Node timer's range on connect-node's paths (Connect over HTTP/2, gRPC-Web), as on the direct ones", async () => {
    // Raw requests: connect-node's client would itself time out at once on such a deadline.
    const summarize = toBinary(SummarizeRequestSchema, create(SummarizeRequestSchema, { text: "Switchboard routes model calls." }));
    const headers = { authorization: `Bearer ${gw.adminKey}` };
    const path = "/switchboard.v1.CapabilityService/Summarize";
    for (const timeout of ["2147483648", "9999999999"]) {
      const overH2 = await h2Post(gw.url, path, { ...headers, "content-type": "application/proto", "connect-timeout-ms": timeout }, summarize);
      expect([timeout, overH2.status, overH2.body.toString("utf8").slice(0, 80)]).toEqual([timeout, 200, expect.not.stringContaining("cancel")]);
      const overH1 = await h1Post(gw.url, path, { ...headers, "content-type": "application/proto", "connect-timeout-ms": timeout }, summarize);
      expect([timeout, overH1.status]).toEqual([timeout, 200]);
    }
    for (const timeout of ["2147484S", "99999999H"]) {
      const web = await h1Post(gw.url, path, { ...headers, "content-type": "application/grpc-web+proto", "grpc-timeout": timeout }, envelope(summarize));
      expect([timeout, web.status, web.body.toString("latin1")]).toEqual([timeout, 200, expect.stringContaining("grpc-status: 0")]);
      const grpc = await h2Post(gw.url, path, { ...headers, "content-type": "application/grpc", "grpc-timeout": timeout }, envelope(summarize));
      expect([timeout, grpc.trailers["grpc-status"]]).toEqual([timeout, "0"]);
    }
  });
});

describe("interceptors", () => {
  it("rejects an invalid request with InvalidArgument naming the field", async () => {
    const client = createClient(CapabilityService, transports["gRPC over h2c"]!);
    const err = await client.summarize({ text: "" }, { headers: gw.adminHeaders }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.InvalidArgument);
    const violations = err!.findDetails(ViolationsSchema).flatMap((v) => v.violations);
    expect(violations.map((v) => v.field?.elements.map((e) => e.fieldName).join("."))).toEqual(["text"]);
    expect(violations[0]?.ruleId).toBe("string.min_bytes");
  });

  it("names nested fields, e.g. a message's role", async () => {
    const client = createClient(CapabilityService, transports["Connect over HTTP/1.1"]!);
    const req = create(ChatRequestSchema, { messages: [{ content: [{ part: { case: "text", value: "hi" } }] }] });
    const err = await client.chat(req, { headers: gw.adminHeaders }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    const violations = (err as ConnectError).findDetails(ViolationsSchema).flatMap((v) => v.violations);
    expect(violations.map((v) => v.field?.elements.map((e) => e.fieldName).join("."))).toEqual(["messages.role"]);
  });

  it("serves the cache service, the last of the admin services to land (nothing answers Unimplemented)", async () => {
    const client = createClient(CacheService, transports["gRPC over h2c"]!);
    const stats = await client.getCacheStats({}, { headers: gw.adminHeaders });
    expect(stats.sinceTime).toBeDefined();
  });

  it("authenticates before validating: no key and an invalid request is Unauthenticated", async () => {
    const client = createClient(CapabilityService, transports["gRPC over h2c"]!);
    const err = await client.summarize({ text: "" }).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("returns a request id, keeps a well-formed one from the caller, and logs one line per RPC", async () => {
    const health = createClient(Health, transports["Connect over HTTP/1.1"]!);
    let seen: string | null = null;
    await health.check(
      { service: "" },
      { headers: { "x-request-id": "caller-id-123" }, onHeader: (h) => (seen = h.get("x-request-id")) },
    );
    expect(seen).toBe("caller-id-123");
    const lines = gw.log.lines().filter((l) => l.requestId === "caller-id-123");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: "rpc", procedure: "grpc.health.v1.Health/Check", protocol: "connect", code: "ok" });
    expect(typeof lines[0]!.durationMs).toBe("number");

    let generated: string | null = null;
    await health.check({ service: "" }, { headers: { "x-request-id": "bad id with spaces" }, onHeader: (h) => (generated = h.get("x-request-id")) });
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("never writes a secret from headers or request fields to the log", async () => {
    const canary = "sb_live_CANARY_7f3a9c1e5d";
    const providerKey = "sk-CANARY-provider-key-0042";
    const client = createClient(CredentialService, transports["gRPC over h2c"]!);
    const request = { credentialId: "openai", credential: { provider: "openai" }, value: providerKey };
    const rejected = await client
      .createCredential(request, { headers: { authorization: `Bearer ${canary}` } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((rejected as ConnectError).code).toBe(Code.Unauthenticated);
    expect(String((rejected as ConnectError).message)).not.toContain(canary);
    const created = await client.createCredential(request, { headers: gw.adminHeaders });
    expect(created.credential?.name).toBe("credentials/openai");
    const again = await client.createCredential(request, { headers: gw.adminHeaders }).catch((e: unknown) => ConnectError.from(e));
    expect((again as ConnectError).code).toBe(Code.AlreadyExists);
    expect(gw.log.text()).toContain("CredentialService/CreateCredential");
    expect(gw.log.text()).not.toContain(canary);
    expect(gw.log.text()).not.toContain(gw.adminKey);
    expect(gw.log.text()).not.toContain(providerKey);
    expect(JSON.stringify(created, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(providerKey);
    expect(String((again as ConnectError).message)).not.toContain(providerKey);
  });
});

describe("buf curl against the running server (reflection, no --schema)", () => {
  it("Health/Check over gRPC h2c answers SERVING", async () => {
    const { stdout } = await execFileAsync(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", `${gw.url}/grpc.health.v1.Health/Check`], { cwd: "/" });
    expect(JSON.parse(stdout)).toEqual({ status: "SERVING" });
  });

  it("Health/Check over Connect HTTP/1.1 answers SERVING", async () => {
    const { stdout } = await execFileAsync(BUF, ["curl", "--protocol", "connect", `${gw.url}/grpc.health.v1.Health/Check`], { cwd: "/" });
    expect(JSON.parse(stdout)).toEqual({ status: "SERVING" });
  });

  it("lists every switchboard.v1 service", async () => {
    const { stdout } = await execFileAsync(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", gw.url], { cwd: "/" });
    const listed = stdout.trim().split("\n");
    for (const service of SWITCHBOARD_SERVICES) expect(listed).toContain(service.typeName);
  });

  it("gets a validation error with exit code InvalidArgument×8", async () => {
    const err = await execFileAsync(
      BUF,
      [
        "curl",
        "--protocol",
        "connect",
        "-H",
        `authorization: Bearer ${gw.adminKey}`,
        "-d",
        '{"text":""}',
        `${gw.url}/switchboard.v1.CapabilityService/Summarize`,
      ],
      { cwd: "/" },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(Code.InvalidArgument * 8);
    expect((err as { stderr: string }).stderr).toContain("string.min_bytes");
  });

  it("without a key gets Unauthenticated (exit code Unauthenticated×8)", async () => {
    const err = await execFileAsync(
      BUF,
      ["curl", "--protocol", "connect", "-d", '{"text":""}', `${gw.url}/switchboard.v1.CapabilityService/Summarize`],
      { cwd: "/" },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(Code.Unauthenticated * 8);
  });

  it("lists the bootstrap key with the admin key over gRPC (the README example)", async () => {
    const { stdout } = await execFileAsync(
      BUF,
      [
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "-H",
        `authorization: Bearer ${gw.adminKey}`,
        "-d",
        '{"parent":"orgs/system/teams/-"}',
        `${gw.url}/switchboard.v1.KeyService/ListKeys`,
      ],
      { cwd: "/" },
    );
    const { keys } = JSON.parse(stdout) as { keys: Array<{ name: string; state: string }> };
    expect(keys).toEqual([expect.objectContaining({ name: "orgs/system/teams/admins/keys/bootstrap", state: "KEY_STATE_ACTIVE" })]);
    expect(stdout).not.toContain(gw.adminKey);
  });
});

/** A gRPC envelope (uncompressed) around `payload`. */
function envelope(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + payload.byteLength);
  out.writeUInt32BE(payload.byteLength, 1);
  out.set(payload, 5);
  return out;
}

interface RawAnswer {
  status: number;
  body: Buffer;
  trailers: Record<string, string>;
}

/** One POST over h2c (prior knowledge), on a connection of its own. */
function h2Post(url: string, path: string, headers: Record<string, string>, body: Uint8Array): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(url);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let status = 0;
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("trailers", (t) => (trailers = t as Record<string, string>));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      session.close();
      resolve({ status, body: Buffer.concat(chunks), trailers });
    });
    stream.on("error", reject);
    stream.end(body);
  });
}

/** One POST over HTTP/1.1. */
function h1Post(url: string, path: string, headers: Record<string, string>, body: Uint8Array): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = h1Request(`${url}${path}`, { method: "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), trailers: {} }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}
