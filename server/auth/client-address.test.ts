import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientAddressOf, createClientAddressResolver, parseTrustedProxy } from "./client-address.js";

/** A request as the resolver reads it: its socket's peer and its headers. */
function request(peer: string | undefined, xff?: string | string[]): IncomingMessage & { socket: { remoteAddress: string | undefined } } {
  return { socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { "x-forwarded-for": xff } } as never;
}

const PROXIES = ["10.0.0.0/8", "192.0.2.7", "fd00::/8"];

describe("client address: the trusted-proxy rule", () => {
  it("trusts no x-forwarded-for by default, and says a request carried one", () => {
    const resolve = createClientAddressResolver([]);
    expect(resolve(request("198.51.100.1"))).toEqual({ address: "198.51.100.1", forwardedForIgnored: false });
    expect(resolve(request("10.0.0.1", "203.0.113.9"))).toEqual({ address: "10.0.0.1", forwardedForIgnored: true });
  });

  it("ignores x-forwarded-for from a peer that is not listed, however it is spelled", () => {
    const resolve = createClientAddressResolver(PROXIES);
    for (const peer of ["198.51.100.1", "11.0.0.1", "::ffff:198.51.100.1", "2001:db8::1"]) {
      expect(resolve(request(peer, "203.0.113.9, 10.0.0.5")), peer).toEqual({ address: peer, forwardedForIgnored: true });
    }
  });

  it("from a listed proxy, takes the right-most entry that is not a listed proxy itself", () => {
    const resolve = createClientAddressResolver(PROXIES);
    const client = (peer: string, xff: string | string[]) => resolve(request(peer, xff)).address;
    expect(client("10.0.0.2", "203.0.113.9")).toBe("203.0.113.9");
    // A client's own (spoofed) entries are left of what the proxy appended: never reached.
    expect(client("10.0.0.2", "1.1.1.1, 2.2.2.2, 203.0.113.9")).toBe("203.0.113.9");
    // A chain of listed proxies is walked through.
    expect(client("10.0.0.2", "1.1.1.1, 203.0.113.9, 192.0.2.7, 10.9.9.9")).toBe("203.0.113.9");
    // Every entry a listed proxy: the left-most.
    expect(client("10.0.0.2", "10.1.1.1, 192.0.2.7")).toBe("10.1.1.1");
    // Repeated headers are one list, in order.
    expect(client("10.0.0.2", ["1.1.1.1", "203.0.113.9, 10.1.1.1"])).toBe("203.0.113.9");
    // Empty entries are skipped; no entry at all leaves the peer.
    expect(client("10.0.0.2", "203.0.113.9, , ")).toBe("203.0.113.9");
    expect(client("10.0.0.2", " ")).toBe("10.0.0.2");
    expect(client("10.0.0.2", ",")).toBe("10.0.0.2");
  });

  it("reads IPv6 proxies and clients, IPv4-mapped peers, ports and brackets", () => {
    const resolve = createClientAddressResolver(PROXIES);
    const client = (peer: string, xff: string) => resolve(request(peer, xff)).address;
    expect(client("fd00::1", "2001:db8::9")).toBe("2001:db8::9");
    expect(client("fd12:3456::1%eth0", "2001:db8::9")).toBe("2001:db8::9");
    expect(client("::ffff:10.0.0.2", "203.0.113.9")).toBe("203.0.113.9");
    expect(client("10.0.0.2", "[2001:db8::9]:443")).toBe("2001:db8::9");
    expect(client("10.0.0.2", "203.0.113.9:5678")).toBe("203.0.113.9");
    expect(client("10.0.0.2", "203.0.113.9, ::ffff:10.1.2.3")).toBe("203.0.113.9");
  });

  it("an entry that is no address ends the walk at the nearest listed hop, the one that passed it on", () => {
    const resolve = createClientAddressResolver(PROXIES);
    expect(resolve(request("10.0.0.2", "203.0.113.9, unknown")).address).toBe("10.0.0.2");
    expect(resolve(request("10.0.0.2", "203.0.113.9, garbage, 10.3.3.3")).address).toBe("10.3.3.3");
    expect(resolve(request("10.0.0.2", `${"x".repeat(10_000)}, 203.0.113.9`)).address).toBe("203.0.113.9");
  });

  it("resolves a request once, as it arrives: its socket losing its peer later changes nothing", () => {
    const resolve = createClientAddressResolver(PROXIES);
    const req = request("10.0.0.2", "203.0.113.9");
    expect(clientAddressOf(req)).toEqual({ address: "10.0.0.2", forwardedForIgnored: false });
    resolve(req);
    req.socket.remoteAddress = undefined;
    expect(clientAddressOf(req)).toEqual({ address: "203.0.113.9", forwardedForIgnored: false });
    expect(resolve(req).address).toBe("203.0.113.9");
  });

  it("an unreadable peer is the empty address, and no header from it is trusted", () => {
    const resolve = createClientAddressResolver(PROXIES);
    expect(resolve(request(undefined, "203.0.113.9"))).toEqual({ address: "", forwardedForIgnored: true });
    expect(resolve(request(undefined))).toEqual({ address: "", forwardedForIgnored: false });
    // An HTTP/2 request's socket proxy throws once its session let go of the socket.
    const h2 = {
      get socket(): never {
        throw new Error("ERR_HTTP2_SOCKET_UNBOUND");
      },
      headers: {},
    } as never;
    expect(resolve(h2)).toEqual({ address: "", forwardedForIgnored: false });
  });
});

describe("parseTrustedProxy", () => {
  it("takes IPs and CIDRs of either family", () => {
    expect(parseTrustedProxy("10.0.0.0/8")).toEqual({ address: "10.0.0.0", prefix: 8, family: "ipv4" });
    expect(parseTrustedProxy(" 192.0.2.7 ")).toEqual({ address: "192.0.2.7", prefix: 32, family: "ipv4" });
    expect(parseTrustedProxy("FD00::/8")).toEqual({ address: "fd00::", prefix: 8, family: "ipv6" });
    expect(parseTrustedProxy("::1")).toEqual({ address: "::1", prefix: 128, family: "ipv6" });
  });

  it("refuses a prefix out of range, a host name and anything else, quoting it", () => {
    expect(parseTrustedProxy("10.0.0.0/33")).toEqual({ error: expect.stringContaining("from 0 to 32") });
    expect(parseTrustedProxy("proxy.internal")).toEqual({ error: expect.stringContaining('"proxy.internal": a host name') });
    expect(parseTrustedProxy("10.0.0.0/8/8")).toEqual({ error: expect.stringContaining("not an IP address or a CIDR") });
    expect(parseTrustedProxy("*.internal")).toEqual({ error: expect.stringContaining("a host name") });
    expect(parseTrustedProxy("300.1.1.1")).toEqual({ error: expect.stringContaining("not an IP address or a CIDR") });
    expect(() => createClientAddressResolver(["10.0.0.0/8", "300.1.1.1"])).toThrow(/300\.1\.1\.1/);
  });
});
