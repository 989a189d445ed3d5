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
  const low = ephemeralLow();
  const floor = 20_000;
  if (low - floor < 1_000) return kernelPort();
  for (let tries = 0; tries < 50; tries++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    // Not one this process handed out already: its listener may not be up yet.
    if (handedOut.has(port) || (await listenOnce(port)) === undefined) continue;
    handedOut.add(port);
    return port;
  }
  return kernelPort();
}

const handedOut = new Set<number>();

/** The bottom of the kernel's ephemeral port range. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low)) return low;
  } catch {
    // Not Linux: the usual IANA range.
  }
  return 49_152;
}

/** Listens on `port` (0: the kernel's choice) and closes again: the port it got, or `undefined` if it could not. */
function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}

/** A port chosen by the kernel (from the ephemeral range), the fallback when there is no room below it. */
async function kernelPort(): Promise<number> {
  const port = await listenOnce(0);
  if (port === undefined) throw new Error("no loopback port to listen on");
  return port;
}
