import { closeSync, fsyncSync, linkSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createFileDurably, type DurableFileOps } from "./durable-file.js";

const folder = () => mkdtempSync(join(tmpdir(), "durable-file-"));

/** node:fs's calls, recorded as `call(name)` in order; `failLink` makes `link` fail with that code. */
function recording(failLink?: string): { ops: DurableFileOps; calls: string[] } {
  const calls: string[] = [];
  const names = new Map<number, string>();
  const ops: DurableFileOps = {
    openSync: (path, flags, mode) => {
      const fd = openSync(path, flags, mode);
      names.set(fd, path.endsWith(".tmp") ? "temp" : path.endsWith("key") ? "file" : "dir");
      calls.push(`open(${names.get(fd)})`);
      return fd;
    },
    writeSync: (fd, text) => (calls.push(`write(${names.get(fd)})`), writeSync(fd, text)),
    fsyncSync: (fd) => (calls.push(`fsync(${names.get(fd)})`), fsyncSync(fd)),
    closeSync: (fd) => (calls.push(`close(${names.get(fd)})`), closeSync(fd)),
    linkSync: (a, b) => {
      calls.push("link");
      if (failLink !== undefined) throw Object.assign(new Error(failLink), { code: failLink });
      linkSync(a, b);
    },
    unlinkSync: (p) => (calls.push("unlink(temp)"), unlinkSync(p)),
  };
  return { ops, calls };
}

describe("createFileDurably", () => {
  it("syncs the text before the name appears, and the folder after", () => {
    const dir = folder();
    const { ops, calls } = recording();
    createFileDurably(join(dir, "key"), "secret\n", 0o600, ops);
    expect(calls).toEqual(["open(temp)", "write(temp)", "fsync(temp)", "close(temp)", "link", "unlink(temp)", "open(dir)", "fsync(dir)", "close(dir)"]);
    expect(readFileSync(join(dir, "key"), "utf8")).toBe("secret\n");
    expect(statSync(join(dir, "key")).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["key"]);
  });

  it("refuses an existing file (EEXIST) and leaves it and nothing else", () => {
    const dir = folder();
    createFileDurably(join(dir, "key"), "first\n", 0o600);
    expect(() => createFileDurably(join(dir, "key"), "second\n", 0o600)).toThrow(expect.objectContaining({ code: "EEXIST" }));
    expect(readFileSync(join(dir, "key"), "utf8")).toBe("first\n");
    expect(readdirSync(dir)).toEqual(["key"]);
  });

  it("on a file system without hard links, creates the file in place, synced", () => {
    const dir = folder();
    const { ops, calls } = recording("EPERM");
    createFileDurably(join(dir, "key"), "secret\n", 0o600, ops);
    expect(calls.slice(4)).toEqual(["link", "open(file)", "write(file)", "fsync(file)", "close(file)", "unlink(temp)", "open(dir)", "fsync(dir)", "close(dir)"]);
    expect(readFileSync(join(dir, "key"), "utf8")).toBe("secret\n");
    expect(readdirSync(dir)).toEqual(["key"]);
  });

  it("passes on any other failure to link, leaving no temporary file", () => {
    const dir = folder();
    const { ops } = recording("EIO");
    expect(() => createFileDurably(join(dir, "key"), "secret\n", 0o600, ops)).toThrow("EIO");
    expect(readdirSync(dir)).toEqual([]);
  });
});
