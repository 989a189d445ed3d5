import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * A free loopback port for a listener another process opens later (a replica, a redis-server),
 * possibly more than once (a replica restarted on its port).
 *
 * It is taken from below the kernel's ephemeral range: a port the kernel handed out with
 * `listen(0)` comes from that range, and so does the local port of every outbound connection, so
 * between this check and the later listen (or while a replica is down for a restart) any of the
 * suite's many outbound connections could take it (CI saw EADDRINUSE this way). Below the range
 * only explicit binders compete, and each of them checks the port here first.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const floor = 20_000;
  if (low - floor < 1_000) return kernelPort();
  for (let tries = 0; tries < 50; tries++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    // Not one this process handed out already: its listener may not be up yet.
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  return kernelPort();
}

const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // Not Linux: the usual IANA range.
  }
  return [49_152, 65_535];
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port chosen by the kernel (from the ephemeral range), the fallback when there is no room below it. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
