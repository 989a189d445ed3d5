import { expect } from "vitest";
import { ConfigError } from "./config-error.js";

/** The `path: message` lines of the `ConfigError` that `fn` must throw (fails the test otherwise). */
export function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error("expected a ConfigError");
}
