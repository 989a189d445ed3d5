import { isIPv6 } from "node:net";

/**
 * The group a client address is counted under by the unknown-key throttle: an IPv4 address as
 * is (an IPv4-mapped IPv6 one, `::ffff:a.b.c.d`, as its IPv4 address), an IPv6 address by its
 * /64 prefix — the block a single subscriber or host is usually given, so a client cannot dodge
 * its count by stepping through its own 2^64 addresses. Anything else (a Unix socket's empty
 * address, say) is returned unchanged.
 */
export function addressGroup(address: string): string {
  const bare = address.includes("%") ? address.slice(0, address.indexOf("%")) : address;
  if (!isIPv6(bare)) return bare;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped !== null) return mapped[1]!;
  const [head = "", tail] = bare.split("::");
  const groups = (part: string | undefined): string[] => (part === undefined || part === "" ? [] : part.split(":"));
  const left = groups(head);
  const right = groups(tail);
  // An embedded IPv4 tail (`::1.2.3.4`) stands for two groups; only the first four matter here.
  const rightLength = right.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const full = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - rightLength).fill("0"), ...right];
  return `${full
    .slice(0, 4)
    .map((g) => (g.includes(".") ? g : parseInt(g, 16).toString(16)))
    .join(":")}::/64`;
}
