import { BlockList, isIP, isIPv4 } from "node:net";

/**
 * Where the gateway may connect when it calls a URL given through the admin API: budget alert
 * webhooks (`Budget.alert_webhook_url`, and `budgets.alertWebhookUrl`) and external guardrail
 * services (`ExternalRule.url`). An org admin sets those, so without a policy the gateway would
 * POST from inside the operator's network wherever they point (SSRF).
 *
 * The decision (README, "Outbound calls"):
 * - Link-local addresses (169.254.0.0/16, fe80::/10) and the cloud metadata and credential
 *   services outside them (Alibaba 100.100.100.200, Oracle 192.0.0.192, Azure WireServer
 *   168.63.129.16, AWS fd00:ec2::254 and EKS Pod Identity fd00:ec2::23, GCP fd20:ce::254, Scaleway
 *   fd00:42::42) are always refused: they hand out the host's cloud credentials, and no webhook
 *   or guardrail service lives there. So are addresses that are never one host (multicast
 *   224.0.0.0/4 and ff00::/8, 240.0.0.0/4 with the broadcast 255.255.255.255). Only an address
 *   entry of `SWITCHBOARD_EGRESS_ALLOW` (an IP or CIDR covering it) lifts that; a host name entry
 *   never does, as a name can be re-pointed.
 * - Loopback, unspecified (0.0.0.0/8, ::: Linux connects them to the local host), private, CGNAT,
 *   unique-local and the other ranges IANA's special-purpose registries mark not globally
 *   reachable are allowed by default
 *   (`SWITCHBOARD_EGRESS_PRIVATE=allow`): in-cluster guardrail services and webhook relays are the
 *   main use of these URLs (Portkey's private-host block had to be relaxed for
 *   `*.svc.cluster.local` names, Portkey-AI/gateway#1587; LiteLLM keeps an opt-out,
 *   `allow_requests_to_internal_ips`, for on-prem `api_base`s), local development and the tests
 *   point them at 127.0.0.1, and only authenticated admins with a write scope can set them — the
 *   response never reaches them (a webhook's status goes to the gateway log; a guardrail's answer
 *   must be a `CheckResponse`). A deployment whose org admins are not trusted with the internal
 *   network sets `deny` and lists the internal services it wants reachable in the allow list.
 *
 * Addresses are judged after resolution, at connect time (`egress-connect.ts`), so a name that
 * resolves (or rebinds) to a refused address is refused too; an IPv4 address inside an IPv6 one
 * (IPv4-mapped, -translated and -compatible, NAT64, 6to4, Teredo: {@link embeddedIPv4}) is judged,
 * and allowed, as that IPv4 address, besides the IPv6 one.
 */
export interface EgressPolicy {
  /** Why connecting to `address`, which `host` (the URL's host name) resolved to, is refused; undefined: allowed. */
  refusal(host: string, address: string): string | undefined;
  /**
   * Why `url`'s host as written is refused, with no DNS lookup: an IP literal, or a name that is
   * always that address (`localhost`, `metadata.google.internal`). Undefined: not refused here
   * (a name is judged by what it resolves to when it is called). Early feedback for the admin API.
   */
  urlRefusal(url: string): string | undefined;
}

/** The operator's settings (`egress.private`, `egress.allow`). */
export interface EgressPolicyOptions {
  /** Loopback and private ranges: `allow` (default) or `deny` unless listed in `allow`. */
  private?: "allow" | "deny";
  /** IPs, CIDRs, host names and `*.suffix` wildcards always allowed (see {@link parseEgressAllowEntry}). */
  allow?: readonly string[];
}

/** One parsed entry of the allow list. */
export type EgressAllowEntry = { kind: "address"; address: string; prefix: number; family: "ipv4" | "ipv6" } | { kind: "host"; host: string; wildcard: boolean };

/**
 * Always refused: link-local (169.254.0.0/16: the metadata service of AWS, GCP, Azure, OpenStack
 * and most others, ECS task credentials 169.254.170.2, EKS Pod Identity 169.254.170.23) and the
 * credential services outside it.
 */
const METADATA = blockList([
  ["169.254.0.0", 16, "ipv4"],
  ["100.100.100.200", 32, "ipv4"], // Alibaba Cloud metadata
  ["192.0.0.192", 32, "ipv4"], // Oracle Cloud metadata (classic)
  ["168.63.129.16", 32, "ipv4"], // Azure WireServer: VM extension settings and certificates
  ["fe80::", 10, "ipv6"],
  ["fd00:ec2::254", 128, "ipv6"], // AWS instance metadata over IPv6
  ["fd00:ec2::23", 128, "ipv6"], // AWS EKS Pod Identity agent over IPv6
  ["fd20:ce::254", 128, "ipv6"], // GCP metadata on IPv6-only VMs
  ["fd00:42::42", 128, "ipv6"], // Scaleway metadata over IPv6
]);
/** Always refused: never one host (multicast, the limited broadcast, 240.0.0.0/4 reserved "for future use"). */
const NOT_UNICAST = blockList([
  ["224.0.0.0", 4, "ipv4"],
  ["240.0.0.0", 4, "ipv4"],
  ["ff00::", 8, "ipv6"],
]);
/**
 * Refused with `private: deny`: loopback, unspecified (which Linux connects to the local host),
 * private, CGNAT, unique-local, and the other IANA special-purpose ranges that are not globally
 * reachable (IETF protocol assignments, benchmarking, documentation, discard-only, local-use NAT64,
 * SRv6 SIDs): nothing a public provider, webhook or guardrail service lives at.
 */
const PRIVATE = blockList([
  ["0.0.0.0", 8, "ipv4"],
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"],
  ["127.0.0.0", 8, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.0.0.0", 24, "ipv4"],
  ["192.0.2.0", 24, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["198.18.0.0", 15, "ipv4"],
  ["198.51.100.0", 24, "ipv4"],
  ["203.0.113.0", 24, "ipv4"],
  ["::", 128, "ipv6"],
  ["::1", 128, "ipv6"],
  ["64:ff9b:1::", 48, "ipv6"],
  ["100::", 64, "ipv6"],
  ["2001:2::", 48, "ipv6"],
  ["2001:db8::", 32, "ipv6"],
  ["3fff::", 20, "ipv6"],
  ["5f00::", 16, "ipv6"],
  ["fc00::", 7, "ipv6"],
  ["fec0::", 10, "ipv6"],
]);
/** Names that are always one address, judged as that address before any lookup. */
const FIXED_NAMES: ReadonlyMap<string, string> = new Map([
  ["localhost", "127.0.0.1"],
  ["metadata.google.internal", "169.254.169.254"],
  ["metadata.goog", "169.254.169.254"],
]);

function blockList(subnets: ReadonlyArray<[string, number, "ipv4" | "ipv6"]>): BlockList {
  const list = new BlockList();
  for (const [address, prefix, family] of subnets) list.addSubnet(address, prefix, family);
  return list;
}

/**
 * One entry of `SWITCHBOARD_EGRESS_ALLOW`: an IP (`10.0.0.5`, `fd00::5`), a CIDR (`10.1.0.0/16`),
 * a host name (`guard.internal`) or a wildcard (`*.svc.cluster.local`: any name under it). An
 * error message for anything else.
 */
export function parseEgressAllowEntry(text: string): EgressAllowEntry | { error: string } {
  const entry = text.trim().toLowerCase();
  const [address = "", prefixText, extra] = entry.split("/");
  const family = isIP(address) === 4 ? "ipv4" : isIP(address) === 6 ? "ipv6" : undefined;
  if (family !== undefined && extra === undefined) {
    const max = family === "ipv4" ? 32 : 128;
    if (prefixText === undefined) return { kind: "address", address, prefix: max, family };
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (prefix >= 0 && prefix <= max) return { kind: "address", address, prefix, family };
    return { error: `"${text}": the prefix length must be from 0 to ${max}` };
  }
  const wildcard = entry.startsWith("*.");
  const host = wildcard ? entry.slice(2) : entry.replace(/\.$/, "");
  if (/^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/.test(host) && !/^[\d.]+$/.test(host)) return { kind: "host", host, wildcard };
  return { error: `"${text}": not an IP address, a CIDR (10.0.0.0/8), a host name or a *.suffix wildcard` };
}

/** Creates the policy from the operator's settings; throws on an allow-list entry that does not parse (config validation reports them first). */
export function createEgressPolicy(opts: EgressPolicyOptions = {}): EgressPolicy {
  const denyPrivate = opts.private === "deny";
  const allowed = new BlockList();
  const hosts: Array<{ host: string; wildcard: boolean }> = [];
  for (const text of opts.allow ?? []) {
    const entry = parseEgressAllowEntry(text);
    if ("error" in entry) throw new Error(`egress allow list: ${entry.error}`);
    if (entry.kind === "address") allowed.addSubnet(entry.address, entry.prefix, entry.family);
    else hosts.push(entry);
  }
  const hostAllowed = (host: string) => {
    const name = host.toLowerCase().replace(/\.$/, "");
    return hosts.some((h) => (h.wildcard ? name.endsWith(`.${h.host}`) : name === h.host));
  };
  const refusal = (host: string, address: string): string | undefined => {
    const ip = bare(address);
    const family = isIPv4(ip) ? "ipv4" : isIP(ip) === 6 ? "ipv6" : undefined;
    if (family === undefined) return `${address} is not an IP address`;
    // The address itself, then each IPv4 address it carries; an allow entry opens only the address
    // it covers (an IPv6 prefix entry does not open the IPv4 addresses inside it).
    const judged: Judged[] = [{ address: ip, family, metadataOnly: false }, ...(family === "ipv6" ? embeddedIPv4(ip) : [])];
    const refused = judged.filter((j) => !allowed.check(j.address, j.family));
    const shown = host === address ? address : `${host} (${address})`;
    const what = (j: Judged) => (j.address === ip ? `${shown} is` : `${shown} carries ${j.address}, which is`);
    const metadata = refused.find((j) => METADATA.check(j.address, j.family));
    if (metadata !== undefined) {
      return `${what(metadata)} a link-local or cloud metadata address, which the gateway never calls; an operator can allow it by listing the address in SWITCHBOARD_EGRESS_ALLOW`;
    }
    const broadcast = refused.find((j) => !j.metadataOnly && NOT_UNICAST.check(j.address, j.family));
    if (broadcast !== undefined) {
      return `${what(broadcast)} a multicast, broadcast or reserved address, not one host the gateway could call; an operator can allow it by listing the address in SWITCHBOARD_EGRESS_ALLOW`;
    }
    const internal = denyPrivate && !hostAllowed(host) ? refused.find((j) => !j.metadataOnly && PRIVATE.check(j.address, j.family)) : undefined;
    if (internal !== undefined) {
      return `${what(internal)} a loopback or private address and SWITCHBOARD_EGRESS_PRIVATE is deny; an operator can allow it by listing the host or address in SWITCHBOARD_EGRESS_ALLOW`;
    }
    return undefined;
  };
  return {
    refusal,
    urlRefusal(url) {
      let host: string;
      try {
        host = bare(new URL(url).hostname).toLowerCase().replace(/\.$/, "");
      } catch {
        return undefined; // the schema's pattern reports a URL that does not parse
      }
      if (isIP(host) !== 0) return refusal(host, host);
      const fixed = FIXED_NAMES.get(host) ?? (host.endsWith(".localhost") ? "127.0.0.1" : undefined);
      return fixed === undefined ? undefined : refusal(host, fixed);
    },
  };
}

/** An address without URL brackets or an IPv6 zone (`fe80::1%eth0`). */
function bare(address: string): string {
  return address.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
}

/** An address the policy judges: one connected to, or an IPv4 address inside it. */
interface Judged {
  address: string;
  family: "ipv4" | "ipv6";
  /** Where the IPv4 address sits is a guess (a local-use NAT64 prefix of unknown length): judged for metadata only. */
  metadataOnly: boolean;
}

/**
 * The IPv4 addresses an IPv6 one carries and is routed to: IPv4-mapped (::ffff:0:0/96),
 * IPv4-translated (::ffff:0:0:0/96, SIIT), IPv4-compatible (::/96, but not :: and ::1), NAT64
 * (64:ff9b::/96, and 64:ff9b:1::/48, RFC 8215), 6to4 (2002::/16: bits 16 to 48) and Teredo
 * (2001::/32: the client's address, XORed with all ones, in the last 32 bits).
 *
 * A local-use NAT64 prefix is a /48 to /96 the network chose (RFC 6052 places the IPv4 address
 * differently for each length, skipping bits 64 to 71): the /96 position, the usual one, is judged
 * in full, the /48, /56 and /64 positions for metadata only (read there, an address of the /96
 * layout is arbitrary bits, which must not make it look private). The prefix itself is private.
 */
function embeddedIPv4(address: string): Judged[] {
  const groups = ipv6Groups(address);
  if (groups === undefined) return [];
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  const at = (...i: number[]) => i.map((n) => bytes[n]!).join(".");
  const full = (v4: string): Judged => ({ address: v4, family: "ipv4", metadataOnly: false });
  const last = at(12, 13, 14, 15);
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  if (zeros(0, 5) && groups[5] === 0xffff) return [full(last)];
  if (zeros(0, 4) && groups[4] === 0xffff && groups[5] === 0) return [full(last)];
  if (zeros(0, 6) && (groups[6] !== 0 || groups[7]! > 1)) return [full(last)];
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return [full(last)];
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups[2] === 1) {
    const guess = (v4: string): Judged => ({ address: v4, family: "ipv4", metadataOnly: true });
    return [full(last), guess(at(6, 7, 9, 10)), guess(at(7, 9, 10, 11)), guess(at(9, 10, 11, 12))];
  }
  if (groups[0] === 0x2002) return [full(at(2, 3, 4, 5))];
  if (groups[0] === 0x2001 && groups[1] === 0) return [full(bytes.slice(12).map((b) => b ^ 0xff).join("."))];
  return [];
}

/** The eight 16-bit groups of an IPv6 address (canonicalised by the URL parser: no dotted tail). */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let canonical: string;
  try {
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const [head = "", tail] = canonical.split("::");
  const part = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}
