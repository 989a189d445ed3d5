import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The shortest accepted pepper, in bytes of its UTF-8 form. */
export const MIN_PEPPER_BYTES = 32;

/** Where {@link resolveEmbeddedPepper} found or put the pepper. */
export interface ResolvedPepper {
  pepper: string;
  /** `file`: read from `<dataDir>/pepper`; `generated`: written there now; `memory`: in-memory database, kept in memory. */
  source: "file" | "generated" | "memory";
  /** Set when the file can be read by other users (mode not 0600): worth a warning. */
  looseMode?: string;
}

/** Options of {@link resolveEmbeddedPepper}. */
export interface EmbeddedPepperOptions {
  /**
   * Whether the database already holds keys. Then a missing pepper file is not a first start: the
   * keys were stored under a pepper this start does not have (the file deleted or not restored, or
   * an earlier start given `SWITCHBOARD_KEY_PEPPER`), and a new one would make every key — the
   * admin keys too — unusable for good, with no way back in (the break-glass needs no admin key to
   * be active, and these still are). So it is refused instead ({@link PepperMissingError}).
   */
  holdsKeys: boolean;
}

/** The pepper file is missing while the database holds keys stored under it. */
export class PepperMissingError extends Error {
  override readonly name = "PepperMissingError";
}

/**
 * The pepper for the embedded (PGlite) setup when none is configured: read from
 * `<dataDir>/pepper`, or, on first start, 32 random bytes (base64url) written there with mode
 * 0600 and used from then on. An in-memory database (`memory://…`) gets a random pepper that lives
 * as long as the process, like the data. Call after the database has created `dataDir`.
 *
 * With `DATABASE_URL` there is no such fallback: several replicas must share one pepper, so the
 * configuration requires it (see `loadConfig`).
 */
export function resolveEmbeddedPepper(dataDir: string, opts: EmbeddedPepperOptions): ResolvedPepper {
  if (dataDir.startsWith("memory://")) return { pepper: randomBytes(32).toString("base64url"), source: "memory" };
  const file = join(dataDir, "pepper");
  if (opts.holdsKeys && !existsSync(file)) {
    throw new PepperMissingError(
      `${file} is missing, but the embedded database in ${dataDir} holds keys stored under the pepper it held: ` +
        "a new one would make every key unusable, the admin keys included. Restore the file, or set SWITCHBOARD_KEY_PEPPER to that pepper",
    );
  }
  try {
    writeFileSync(file, randomBytes(32).toString("base64url"), { mode: 0o600, flag: "wx" });
    return { pepper: readPepper(file), source: "generated" };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const pepper = readPepper(file);
  const mode = statSync(file).mode & 0o777;
  return { pepper, source: "file", ...((mode & 0o077) !== 0 ? { looseMode: mode.toString(8).padStart(4, "0") } : {}) };
}

function readPepper(file: string): string {
  const pepper = readFileSync(file, "utf8").trim();
  if (Buffer.byteLength(pepper, "utf8") < MIN_PEPPER_BYTES) {
    throw new Error(`${file}: the pepper must be at least ${MIN_PEPPER_BYTES} bytes; delete the file to generate a new one (every key then stops working)`);
  }
  return pepper;
}
