import type { LookupAddress } from "node:dns";
import { lookup } from "node:dns/promises";
import type { ResolveAll } from "../../server/http/egress-connect.js";

/**
 * A resolver that answers the names of `zone` as an attacker's DNS zone would (a name pointing at
 * the metadata service, or rebound to it), and every other name through the system's resolver.
 * For `createEgress(policy, { resolve })`: the connection is then made to what it answers.
 */
export function fakeDns(zone: Readonly<Record<string, readonly string[]>>): ResolveAll {
  return async (hostname, options) => {
    const addresses = zone[hostname];
    if (addresses === undefined) return lookup(hostname, { ...options, all: true });
    return addresses.map((address): LookupAddress => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
}
