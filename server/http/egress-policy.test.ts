import { describe, expect, it } from "vitest";
import { createEgressPolicy, parseEgressAllowEntry } from "./egress-policy.js";

const METADATA = ["169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "168.63.129.16", "fe80::1", "fd00:ec2::254"];
// The same addresses written inside IPv6 ones: mapped, compatible, NAT64 and 6to4.
const METADATA_IN_IPV6 = [
  ...["::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "::a9fe:a9fe", "::169.254.169.254", "64:ff9b::a9fe:a9fe", "64:ff9b::169.254.169.254", "2002:a9fe:a9fe::1"],
  ...["::ffff:100.100.100.200", "64:ff9b::a83f:8110", "2002:c000:c0::", "fe80::1%eth0", "fe80::a9fe:a9fe", "febf::1"],
];
const PRIVATE = [
  ...["127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3"],
  // IANA special-purpose, not globally reachable: IETF protocol assignments, benchmarking, documentation.
  ...["192.0.0.8", "192.0.0.170", "198.18.0.1", "198.19.255.254", "192.0.2.1", "198.51.100.1", "203.0.113.1"],
  ...["::1", "::", "fd12::1", "fec0::1", "100::1", "2001:2::1", "2001:db8::1", "3fff::1", "5f00::1"],
  // IPv4 addresses inside IPv6 ones: mapped (both spellings), compatible, NAT64, 6to4.
  ...["::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::a00:1", "::0.0.0.2", "64:ff9b::a00:1", "64:ff9b::c0a8:101", "2002:a00:1::1", "2002:c612:1::"],
];
const PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1", "100.128.0.1", "100.63.255.255", "192.0.1.1", "198.20.0.1", "223.255.255.255", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:4860:4860::8888", "2001:1::1"];

describe("egress policy", () => {
  it("always refuses link-local and cloud metadata addresses, in any form, whatever the private setting", () => {
    for (const mode of ["allow", "deny"] as const) {
      const policy = createEgressPolicy({ private: mode });
      for (const address of [...METADATA, ...METADATA_IN_IPV6]) expect(policy.refusal("hook.example", address), `${mode} ${address}`).toMatch(/link-local or cloud metadata/);
    }
  });

  it("allows loopback and private addresses by default, refuses them with private=deny, and allows public ones either way", () => {
    const open = createEgressPolicy();
    const closed = createEgressPolicy({ private: "deny" });
    for (const address of PRIVATE) {
      expect(open.refusal("svc", address), address).toBeUndefined();
      expect(closed.refusal("svc", address), address).toMatch(/loopback or private address and SWITCHBOARD_EGRESS_PRIVATE is deny/);
    }
    for (const address of PUBLIC) {
      expect(open.refusal("svc", address), address).toBeUndefined();
      expect(closed.refusal("svc", address), address).toBeUndefined();
    }
  });

  it("refuses, whatever the private setting, addresses that are never one host: multicast, broadcast, reserved", () => {
    for (const mode of ["allow", "deny"] as const) {
      const policy = createEgressPolicy({ private: mode });
      for (const address of ["224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "ff02::1", "ff05::1:3", "::ffff:224.0.0.251", "2002:e000:1::1"]) {
        expect(policy.refusal("hook.example", address), `${mode} ${address}`).toMatch(/multicast, broadcast or reserved/);
      }
    }
    // An address entry lifts it, as for metadata (a network routing 240.0.0.0/4 as its own space).
    expect(createEgressPolicy({ allow: ["240.0.0.0/4"] }).refusal("x", "240.1.2.3")).toBeUndefined();
  });

  it("refuses the IPv6 metadata and credential services of AWS, EKS, GCP and Scaleway always", () => {
    for (const address of ["fd00:ec2::254", "fd00:ec2::23", "fd20:ce::254", "fd00:42::42"]) {
      expect(createEgressPolicy().refusal("x", address), address).toMatch(/link-local or cloud metadata/);
    }
  });

  it("judges an IPv4 address carried in Teredo, SIIT and local-use NAT64 addresses as that IPv4 address", () => {
    const open = createEgressPolicy();
    const closed = createEgressPolicy({ private: "deny" });
    // Teredo (2001::/32): the client's IPv4 address XORed with all ones in the last 32 bits.
    expect(open.refusal("x", "2001:0:4136:e378:8000:63bf:5601:5601"), "Teredo 169.254.169.254").toMatch(/link-local or cloud metadata/);
    expect(closed.refusal("x", "2001:0:4136:e378:8000:63bf:f5ff:fffe"), "Teredo 10.0.0.1").toMatch(/SWITCHBOARD_EGRESS_PRIVATE is deny/);
    expect(closed.refusal("x", "2001:0:4136:e378:8000:63bf:a2b4:2b9f"), "Teredo 93.75.212.96").toBeUndefined();
    // SIIT IPv4-translated (::ffff:0:a.b.c.d).
    expect(open.refusal("x", "::ffff:0:a9fe:a9fe")).toMatch(/link-local or cloud metadata/);
    expect(closed.refusal("x", "::ffff:0:7f00:1")).toMatch(/SWITCHBOARD_EGRESS_PRIVATE is deny/);
    // Local-use NAT64 (64:ff9b:1::/48, RFC 8215): the IPv4 address at the /96 position, and a
    // metadata address at any other position its prefix length could put it.
    for (const address of ["64:ff9b:1::a9fe:a9fe", "64:ff9b:1:a9fe:a9:fe00::", "64:ff9b:1:a9:fe:a9fe::", "64:ff9b:1:0:a9:fea9:fe00:0"]) {
      expect(open.refusal("x", address), address).toMatch(/link-local or cloud metadata/);
    }
    expect(open.refusal("x", "64:ff9b:1::808:808")).toBeUndefined();
    // The prefix is not globally reachable: private, so deny needs it listed; the listing lifts only the prefix.
    expect(closed.refusal("x", "64:ff9b:1::808:808")).toMatch(/SWITCHBOARD_EGRESS_PRIVATE is deny/);
    const nat64 = createEgressPolicy({ private: "deny", allow: ["64:ff9b:1::/48"] });
    expect(nat64.refusal("x", "64:ff9b:1::808:808")).toBeUndefined();
    expect(nat64.refusal("x", "64:ff9b:1::a00:1")).toMatch(/SWITCHBOARD_EGRESS_PRIVATE is deny/);
    expect(nat64.refusal("x", "64:ff9b:1::a9fe:a9fe")).toMatch(/link-local or cloud metadata/);
    // The same for the well-known prefix and 6to4: an IPv6 entry does not open the IPv4 address inside.
    expect(createEgressPolicy({ private: "deny", allow: ["2002::/16"] }).refusal("x", "2002:a00:1::1")).toMatch(/SWITCHBOARD_EGRESS_PRIVATE is deny/);
    // The message names the IPv4 address that decided.
    expect(open.refusal("x", "2002:a9fe:a9fe::1")).toContain("169.254.169.254");
  });

  it("lets the allow list open private addresses by address, CIDR, host name or wildcard", () => {
    const policy = createEgressPolicy({ private: "deny", allow: ["10.1.0.0/16", "192.168.7.7", "guard.internal", "*.svc.cluster.local", "fd00::/8"] });
    expect(policy.refusal("x", "10.1.200.3")).toBeUndefined();
    expect(policy.refusal("x", "10.2.0.1")).toBeDefined();
    expect(policy.refusal("x", "192.168.7.7")).toBeUndefined();
    expect(policy.refusal("x", "192.168.7.8")).toBeDefined();
    expect(policy.refusal("GUARD.internal.", "10.9.9.9")).toBeUndefined();
    expect(policy.refusal("pii.guards.svc.cluster.local", "10.9.9.9")).toBeUndefined();
    expect(policy.refusal("svc.cluster.local.evil", "10.9.9.9")).toBeDefined();
    expect(policy.refusal("x", "fd00::5")).toBeUndefined();
  });

  it("lifts the metadata refusal only for an address entry, never for a host name (a name can be re-pointed)", () => {
    const byName = createEgressPolicy({ allow: ["hooks.example", "*.example"] });
    expect(byName.refusal("hooks.example", "169.254.169.254")).toBeDefined();
    const byAddress = createEgressPolicy({ allow: ["169.254.169.254/32"] });
    expect(byAddress.refusal("imds", "169.254.169.254")).toBeUndefined();
    expect(byAddress.refusal("imds", "::ffff:169.254.169.254")).toBeUndefined();
    expect(byAddress.refusal("imds", "169.254.169.253")).toBeDefined();
  });

  it("judges a URL's literal host before any lookup, however the IP is spelled, and leaves names to connect time", () => {
    const policy = createEgressPolicy({ private: "deny" });
    for (const url of [
      "http://169.254.169.254/latest/meta-data/",
      "http://2852039166/", // 169.254.169.254 in decimal
      "http://0xa9.0xfe.0xa9.0xfe/",
      "https://[::ffff:169.254.169.254]:8443/x",
      "http://[fd00:ec2::254]/",
      "http://metadata.google.internal/computeMetadata/v1/",
      "http://METADATA.GOOGLE.INTERNAL./",
      "http://user:pw@127.0.0.1:8080/hook",
      "http://localhost:8080/",
      "http://api.localhost/",
      // WHATWG host parsing: octal, hex, shortened and percent-encoded IPv4, full-width digits.
      "http://0251.0376.0251.0376/",
      "http://0xa9fea9fe/",
      "http://169.254.43518/",
      "http://%31%36%39.254.169.254/",
      "http://１６９.２５４.１６９.２５４/",
      "http://0/", // 0.0.0.0: the local host
      "http://0x7f.1/",
      "http://0177.0.0.01/",
      "http://4294967295/", // 255.255.255.255
      "http://224.0.0.1/",
      // Bracketed IPv6 carrying a refused IPv4 address, in whatever spelling the parser canonicalises.
      "http://[::ffff:a9fe:a9fe]/",
      "http://[0:0:0:0:0:ffff:169.254.169.254]/",
      "http://[::169.254.169.254]/",
      "http://[64:ff9b::169.254.169.254]/",
      "http://[2002:a9fe:a9fe::]/",
      "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",
      "http://[fd20:ce::254]/",
      "http://[::]/",
    ]) {
      expect(policy.urlRefusal(url), url).toBeDefined();
    }
    expect(policy.urlRefusal("https://hooks.example.com/budget?token=x")).toBeUndefined();
    expect(policy.urlRefusal("http://10-0-0-1.nip.io/")).toBeUndefined();
    expect(policy.urlRefusal("not a url")).toBeUndefined();
    // A name that merely looks like an address is judged by what it resolves to, at connect time.
    expect(policy.urlRefusal("http://169.254.169.254.nip.io/")).toBeUndefined();
    expect(policy.urlRefusal("http://[2606:4700::1111]/")).toBeUndefined();
    expect(policy.urlRefusal("http://134744072/")).toBeUndefined(); // 8.8.8.8
    expect(createEgressPolicy().urlRefusal("http://127.0.0.1:9/hook")).toBeUndefined();
    expect(createEgressPolicy().urlRefusal("http://169.254.169.254/")).toBeDefined();
  });

  it("parses allow-list entries and names what it cannot", () => {
    expect(parseEgressAllowEntry("10.0.0.0/8")).toEqual({ kind: "address", address: "10.0.0.0", prefix: 8, family: "ipv4" });
    expect(parseEgressAllowEntry(" FD00::5 ")).toEqual({ kind: "address", address: "fd00::5", prefix: 128, family: "ipv6" });
    expect(parseEgressAllowEntry("*.svc.cluster.local")).toEqual({ kind: "host", host: "svc.cluster.local", wildcard: true });
    expect(parseEgressAllowEntry("guard.internal")).toEqual({ kind: "host", host: "guard.internal", wildcard: false });
    for (const bad of ["10.0.0.0/33", "10.0.0.0/8/1", "http://guard", "10.0.0", "*", "a b", ""]) expect(parseEgressAllowEntry(bad), bad).toHaveProperty("error");
    expect(() => createEgressPolicy({ allow: ["10.0.0.0/40"] })).toThrow(/prefix length/);
  });
});
