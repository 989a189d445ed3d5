import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { BlockList, isIP } from "node:net";
import { parseEgressAllowEntry } from "../http/egress-policy.js";

/** Where a request came from, as the gateway counts (the unknown-key throttle) and records (the audit log's `peer`) it. */
export interface ClientAddress {
  /**
   * The client's IP address: the socket's peer, or — when that peer is a trusted proxy — the
   * address it forwarded in `X-Forwarded-For`. Empty when the socket's peer could not be read.
   */
  readonly address: string;
  /**
   * The request carried `X-Forwarded-For` from a peer that is not a trusted proxy, so the header
   * was ignored. The authenticator says so (once a minute) when it throttles such a call: the
   * sign of a proxy missing from `server.trustedProxies`, whose clients then share its bucket.
   */
  readonly forwardedForIgnored: boolean;
}

/** Finds a request's {@link ClientAddress} once, when it arrives (see {@link createClientAddressResolver}). */
export type ClientAddressResolver = (req: IncomingMessage | Http2ServerRequest) => ClientAddress;

/** One entry of `server.trustedProxies`: an IP or a CIDR, IPv4 or IPv6. */
export interface TrustedProxy {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/**
 * One entry of `SWITCHBOARD_TRUSTED_PROXIES` (`10.0.0.5`, `10.1.0.0/16`, `fd00::/8`), parsed as
 * the egress allow list parses its IPs and CIDRs; host names are refused (a proxy's address is
 * what the socket shows, and a name can be re-pointed). An error message for anything else.
 */
export function parseTrustedProxy(text: string): TrustedProxy | { error: string } {
  const entry = parseEgressAllowEntry(text);
  if ("error" in entry && !/prefix length/.test(entry.error)) return { error: `"${text}": not an IP address or a CIDR (10.0.0.0/8, fd00::/8)` };
  if ("error" in entry) return entry;
  if (entry.kind !== "address") return { error: `"${text}": a host name; list the proxy's IP address or CIDR` };
  return { address: entry.address, prefix: entry.prefix, family: entry.family };
}

/** What server.ts resolved for each request in flight (a request's entry goes with it). */
const resolved = new WeakMap<object, ClientAddress>();

/**
 * The resolver of the standard trusted-proxy rule (nginx `real_ip_recursive`, Envoy
 * `xff_num_trusted_hops`, express `trust proxy`): when the socket's peer is one of
 * `trustedProxies`, the client is the right-most `X-Forwarded-For` entry that is not itself a
 * trusted proxy (the left-most when all are; the nearest trusted hop when that entry is no IP
 * address — it wrote what it was given); from any other peer the header is ignored, as anyone can
 * send one. The list is compiled once; a request from an untrusted peer costs one check of its
 * address, and the header is only read from a trusted one. Throws on an entry that does not parse
 * (config validation reports those first).
 *
 * The resolver remembers what it found for the request ({@link clientAddressOf}): server.ts calls
 * it as a request arrives, while its socket still knows its peer — a client that resets the
 * connection right after sending leaves a socket whose peer Node can no longer read.
 */
export function createClientAddressResolver(trustedProxies: readonly string[]): ClientAddressResolver {
  const trusted = new BlockList();
  for (const text of trustedProxies) {
    const entry = parseTrustedProxy(text);
    if ("error" in entry) throw new Error(`trusted proxies: ${entry.error}`);
    trusted.addSubnet(entry.address, entry.prefix, entry.family);
  }
  const isTrusted = trustedProxies.length === 0 ? () => false : (ip: string) => trusted.check(ip, isIP(ip) === 4 ? "ipv4" : "ipv6");
  return (req) => {
    const known = resolved.get(req);
    if (known !== undefined) return known;
    const peer = peerOf(req);
    const header = req.headers["x-forwarded-for"];
    let client: ClientAddress;
    if (header === undefined) client = { address: peer, forwardedForIgnored: false };
    else if (peer === "" || !isTrusted(peer)) client = { address: peer, forwardedForIgnored: true };
    else client = { address: forwardedClient(Array.isArray(header) ? header.join(",") : header, peer, isTrusted), forwardedForIgnored: false };
    resolved.set(req, client);
    return client;
  };
}

/**
 * The {@link ClientAddress} the server's resolver found for `req` when it arrived; for a request
 * it never saw (a handler called on its own, in a test), the socket's peer, no header trusted.
 */
export function clientAddressOf(req: IncomingMessage | Http2ServerRequest): ClientAddress {
  return resolved.get(req) ?? { address: peerOf(req), forwardedForIgnored: false };
}

/** The socket's peer address without an IPv6 zone; empty when it cannot be read. */
function peerOf(req: IncomingMessage | Http2ServerRequest): string {
  let address: string | undefined;
  try {
    address = req.socket?.remoteAddress;
  } catch {
    // An HTTP/2 request's socket is a proxy, which can throw once its session has let go of the socket.
  }
  return address === undefined ? "" : withoutZone(address);
}

/** Walks `X-Forwarded-For` from the right (without splitting what lies left of the answer). */
function forwardedClient(header: string, peer: string, isTrusted: (ip: string) => boolean): string {
  let nearest = peer;
  let end = header.length;
  for (;;) {
    const start = end === 0 ? -1 : header.lastIndexOf(",", end - 1);
    const entry = header.slice(start + 1, end);
    const hop = hopAddress(entry);
    if (hop !== undefined) {
      if (!isTrusted(hop)) return hop;
      nearest = hop;
    } else if (entry.trim() !== "") {
      // Not an address: the nearest trusted hop passed it on, and is the one known to have sent it.
      return nearest;
    }
    if (start < 0) return nearest;
    end = start;
  }
}

/** The IP address of one `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`. */
function hopAddress(entry: string): string | undefined {
  let text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed !== null) text = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(text)) text = text.slice(0, text.indexOf(":"));
  text = withoutZone(text);
  return isIP(text) === 0 ? undefined : text;
}

function withoutZone(address: string): string {
  const zone = address.indexOf("%");
  return zone < 0 ? address : address.slice(0, zone);
}
