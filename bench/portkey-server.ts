/**
 * Starts Portkey's open-source gateway (`@portkey-ai/gateway`, installed in `bench/node_modules`
 * only) as the benchmark's peer, bound to loopback. Its server binds every interface on the port
 * given as `--port=`; this launcher makes it listen on 127.0.0.1 (a free port with 0) and prints the
 * port it got, like the other bench processes. Requests name the upstream per call with
 * `x-portkey-provider: openai` and `x-portkey-custom-host: http://127.0.0.1:PORT/v1` (loopback is
 * on Portkey's default trusted-custom-host list).
 *
 * One workaround, no change to what Portkey does per request: @hono/node-server (1.19, which
 * Portkey's `^1.3.3` resolves to) replaces the global `Response` with a lightweight class that,
 * given a fetch `Response` as its init (Portkey's `new Response(stream, upstreamResponse)` for every
 * SSE stream), reuses that response's immutable `Headers`; Portkey then appends its
 * `x-portkey-*` headers and every stream fails with `TypeError: immutable`. The launcher copies the
 * headers in that one case, so streams work as they do on the combination Portkey was tested with.
 *
 *   node --import tsx bench/portkey-server.ts PORT
 */
import { Server } from "node:net";

const port = Number(process.argv[2] ?? 0);
const NativeResponse = globalThis.Response;
const listen = Server.prototype.listen;
// Portkey calls listen(port, cb) through @hono/node-server; pin the host and report the port.
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  if (typeof args[0] === "number") {
    copyImmutableHeaders();
    this.once("listening", () => {
      const address = this.address();
      process.stdout.write(`${typeof address === "object" && address ? address.port : port}\n`);
    });
    return listen.call(this, { port: args[0], host: "127.0.0.1" }, ...(args.slice(1) as [() => void]));
  }
  return listen.apply(this, args as Parameters<typeof listen>);
} as typeof Server.prototype.listen;

/** Wraps the global (by now @hono/node-server's) `Response` so a fetch `Response` init gets fresh headers. */
function copyImmutableHeaders(): void {
  const Light = globalThis.Response;
  if (Light === NativeResponse) return;
  globalThis.Response = new Proxy(Light, {
    construct(target, [body, init]: [unknown, unknown]) {
      const native = init instanceof NativeResponse && !(init instanceof (Light as unknown as typeof Object)) ? (init as Response) : undefined;
      const fixed = native ? { status: native.status, statusText: native.statusText, headers: new Headers(native.headers) } : init;
      return Reflect.construct(target, [body, fixed]) as object;
    },
  });
}

process.argv.splice(2, process.argv.length, `--port=${port}`, "--headless");
process.env.NODE_ENV ??= "production";
await import("./node_modules/@portkey-ai/gateway/build/start-server.js" as string);
