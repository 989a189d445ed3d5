import { BlockList, isIP, isIPv4 } from "node:net";

/**
 * Where the gateway may connect when it calls a URL given through the admin API: budget alert
 * webhooks (`Budget.alert_webhook_url`, and `budgets.alertWebhookUrl`) and external guardrail
 * services (`ExternalRule.url`). An org admin sets those, so without a policy the gateway would
 * POST from inside the operator's network wherever they point (SSRF).
 *
 * The decision (README, "Outbound calls"):
 * - Link-local addresses (169.254.0.0/16, fe80::/10) and the cloud metadata services outside them
 *   (Alibaba 100.100.100.200, Oracle 192.0.0.192, Azure WireServer 168.63.129.16, AWS IPv6
 *   fd00:ec2::254) are always refused: they hand out the host's cloud credentials, and no webhook
 *   or guardrail service lives there. Only an address entry of `SWITCHBOARD_EGRESS_ALLOW` (an IP or
 *   CIDR covering it) lifts that; a host name entry never does, as a name can be re-pointed.
 * - Loopback, private, CGNAT, unique-local and unspecified addresses are allowed by default
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
 * resolves (or rebinds) to a refused address is refused too; IPv4 addresses inside IPv6 ones
 * (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged as the IPv4 one.
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

const ALWAYS_REFUSED = blockList([
  ["169.254.0.0", 16, "ipv4"],
  ["100.100.100.200", 32, "ipv4"],
  ["192.0.0.192", 32, "ipv4"],
  ["168.63.129.16", 32, "ipv4"],
  ["fe80::", 10, "ipv6"],
  ["fd00:ec2::254", 128, "ipv6"],
]);
const PRIVATE = blockList([
  ["0.0.0.0", 8, "ipv4"],
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"],
  ["127.0.0.0", 8, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["::", 128, "ipv6"],
  ["::1", 128, "ipv6"],
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
    const v4 = isIPv4(ip) ? ip : embeddedIPv4(ip);
    const family = v4 !== undefined ? "ipv4" : "ipv6";
    const judged = v4 ?? ip;
    if (isIP(judged) === 0) return `${address} is not an IP address`;
    if (allowed.check(judged, family) || (v4 !== undefined && isIP(ip) === 6 && allowed.check(ip, "ipv6"))) return undefined;
    const shown = host === address ? address : `${host} (${address})`;
    if (ALWAYS_REFUSED.check(judged, family)) {
      return `${shown} is a link-local or cloud metadata address, which the gateway never calls; an operator can allow it by listing the address in SWITCHBOARD_EGRESS_ALLOW`;
    }
    if (denyPrivate && PRIVATE.check(judged, family) && !hostAllowed(host)) {
      return `${shown} is a loopback or private address and SWITCHBOARD_EGRESS_PRIVATE is deny; an operator can allow it by listing the host or address in SWITCHBOARD_EGRESS_ALLOW`;
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

/**
 * The IPv4 address an IPv6 one carries and is routed to: IPv4-mapped (::ffff:0:0/96),
 * IPv4-compatible (::/96, but not :: and ::1), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
 */
function embeddedIPv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  if (groups === undefined) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  if (zeros(0, 5) && groups[5] === 0xffff) return v4(groups[6]!, groups[7]!);
  if (zeros(0, 6) && (groups[6] !== 0 || groups[7]! > 1)) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x2002) return v4(groups[1]!, groups[2]!);
  return undefined;
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
