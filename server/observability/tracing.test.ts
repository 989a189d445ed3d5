import { execFile } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createTracing, tracesUrl } from "./tracing.js";

describe("tracing", () => {
  it("is off without an endpoint or exporter: nothing recorded, nothing propagated", async () => {
    const tracing = await createTracing();
    expect(tracing.enabled).toBe(false);
    const span = tracing.startSpan("x");
    expect(span.isRecording()).toBe(false);
    expect(tracing.inject(tracing.extract(() => "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))).toEqual({});
  });

  it("does not load the OpenTelemetry SDK while tracing is off", async () => {
    const child = fileURLToPath(new URL("./tracing-lazy.child.ts", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", child]);
    // With the SDK's packages unresolvable, a disabled tracer still starts and an enabled one cannot.
    expect(JSON.parse(stdout)).toEqual({ disabled: false, enabled: expect.stringMatching(/^refused: @opentelemetry\//) });
  }, 20_000);

  it("finds the traces path of a collector URL", () => {
    expect(tracesUrl("http://collector:4318")).toBe("http://collector:4318/v1/traces");
    expect(tracesUrl("http://collector:4318/")).toBe("http://collector:4318/v1/traces");
    expect(tracesUrl("http://collector:4318/v1/traces")).toBe("http://collector:4318/v1/traces");
  });

  it("exports spans over OTLP/HTTP to <endpoint>/v1/traces", async () => {
    const received: Array<{ path: string; body: string }> = [];
    const collector = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        received.push({ path: req.url ?? "", body });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    try {
      const tracing = await createTracing({ otlpEndpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`, serviceName: "sb-test" });
      const parent = tracing.extract(() => "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
      tracing.startSpan("exported-span", { parent, attributes: { "gen_ai.system": "openai" } }).end();
      await tracing.shutdown();
      expect(received).toHaveLength(1);
      expect(received[0]!.path).toBe("/v1/traces");
      expect(received[0]!.body).toContain("exported-span");
      expect(received[0]!.body).toContain("sb-test");
    } finally {
      await new Promise((resolve) => collector.close(resolve));
    }
  });
});
