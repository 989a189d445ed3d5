import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import { laterTurn } from "../runtime/after-this-turn.testing.js";
import { kRequestId } from "./context-keys.js";
import { createErrorsInterceptor } from "./errors.js";
import { createTelemetryInterceptor } from "./telemetry.js";

const SECRET = "sk-live-LEAKED-provider-body-secret";

function clientWith(impl: Parameters<typeof createRouterTransport>[0]) {
  const log = createLogCapture();
  const transport = createRouterTransport(impl, {
    router: { interceptors: [createErrorsInterceptor(log), createTelemetryInterceptor(log)] },
  });
  return { client: createClient(Health, transport), log };
}

describe("errors interceptor", () => {
  it("turns an unknown throw into Internal, keeps the cause in the log with the request id", async () => {
    const { client, log } = clientWith(({ service }) =>
      service(Health, {
        check() {
          throw new Error(`upstream said: ${SECRET}`);
        },
      }),
    );
    const err = await client.check({}).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Internal);
    expect((err as ConnectError).rawMessage).toBe("internal error");
    expect(JSON.stringify(err)).not.toContain(SECRET);
    const logged = log.lines().find((l) => l.msg === "unhandled error");
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain(SECRET);
    expect(logged!.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // The access line (written once the answer has left, on its turn) reports the same request
    // id with the code the caller saw.
    await laterTurn();
    expect(log.lines().find((l) => l.msg === "rpc")).toMatchObject({ requestId: logged!.requestId, code: "internal" });
  });

  it("passes a ConnectError through with its code and message", async () => {
    const { client, log } = clientWith(({ service }) =>
      service(Health, {
        check() {
          throw new ConnectError("no such service", Code.NotFound);
        },
      }),
    );
    const err = await client.check({}).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect((err as ConnectError).rawMessage).toBe("no such service");
    expect(log.lines().some((l) => l.msg === "unhandled error")).toBe(false);
  });

  it("sanitizes a stream that fails after its first message", async () => {
    const { client, log } = clientWith(({ service }) =>
      service(Health, {
        async *watch(_req, ctx) {
          expect(ctx.values.get(kRequestId)).not.toBe("");
          yield { status: HealthCheckResponse_ServingStatus.SERVING };
          throw new TypeError(`cannot read ${SECRET}`);
        },
      }),
    );
    const received: HealthCheckResponse_ServingStatus[] = [];
    const err = await (async () => {
      for await (const res of client.watch({})) received.push(res.status);
    })().catch((e: unknown) => ConnectError.from(e));
    expect(received).toEqual([HealthCheckResponse_ServingStatus.SERVING]);
    expect((err as ConnectError).code).toBe(Code.Internal);
    expect((err as ConnectError).message).not.toContain(SECRET);
    await laterTurn();
    const access = log.lines().filter((l) => l.msg === "rpc");
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ code: "internal", messagesOut: 1 });
  });
});
