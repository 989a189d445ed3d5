import { describe, expect, it } from "vitest";
import { createEgressPolicy, parseEgressAllowEntry } from "./egress-policy.js";

const METADATA = ["169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "168.63.129.16", "fe80::1", "fd00:ec2::254"];
// The same addresses written inside IPv6 ones: mapped, compatible, NAT64 and 6to4.
const METADATA_IN_IPV6 = ["::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "::a9fe:a9fe", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "fe80::1%eth0"];
const PRIVATE = ["127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0", "::1", "::", "fd12::1", "::ffff:127.0.0.1"];
const PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1", "100.128.0.1"];

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
    ]) {
      expect(policy.urlRefusal(url), url).toBeDefined();
    }
    expect(policy.urlRefusal("https://hooks.example.com/budget?token=x")).toBeUndefined();
    expect(policy.urlRefusal("http://10-0-0-1.nip.io/")).toBeUndefined();
    expect(policy.urlRefusal("not a url")).toBeUndefined();
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
