import { describe, expect, it } from "vitest";
import { addressGroup } from "./address-group.js";

describe("addressGroup", () => {
  it("keeps an IPv4 address, and reads an IPv4-mapped IPv6 one as it", () => {
    expect(addressGroup("192.0.2.1")).toBe("192.0.2.1");
    expect(addressGroup("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(addressGroup("::FFFF:192.0.2.1")).toBe("192.0.2.1");
  });

  it("groups IPv6 addresses by /64, however they are written", () => {
    const group = "2001:db8:1:2::/64";
    for (const address of ["2001:db8:1:2::1", "2001:0DB8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2:0:0:0:7", "2001:db8:1:2::1%eth0", "2001:db8:1:2::192.0.2.1"]) {
      expect(addressGroup(address), address).toBe(group);
    }
    expect(addressGroup("2001:db8:1:3::1")).not.toBe(group);
    expect(addressGroup("::1")).toBe("0:0:0:0::/64");
    expect(addressGroup("fe80::1")).toBe("fe80:0:0:0::/64");
    expect(addressGroup("2001:db8::")).toBe("2001:db8:0:0::/64");
  });

  it("returns anything that is no IP address unchanged", () => {
    expect(addressGroup("")).toBe("");
    expect(addressGroup("not-an-address")).toBe("not-an-address");
  });
});
