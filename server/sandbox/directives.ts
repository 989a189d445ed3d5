/**
 * Prompt directives: a user message containing `[[sandbox:429]]`, `[[sandbox:500]]` (any status
 * from 400 to 599), `[[sandbox:cut]]`, `[[sandbox:slow]]` or `[[sandbox:hang]]` makes the sandbox
 * simulate that failure (see `SandboxFault`), so a demo can show retries, fallback and timeouts on
 * purpose. Directives are case-insensitive; unknown ones are left in the text.
 */
import type { SandboxFault } from "./models.js";

/** What a text asks of the sandbox. */
export interface SandboxDirectives {
  /** The faults named, in order of appearance. */
  faults: SandboxFault[];
  /** The text without its recognised directives (what the answer may quote). */
  text: string;
}

const DIRECTIVE = /\[\[\s*sandbox\s*:\s*([a-z0-9]+)\s*\]\]/gi;

/** Reads the directives in a text. */
export function readDirectives(text: string): SandboxDirectives {
  const faults: SandboxFault[] = [];
  const rest = text.replace(DIRECTIVE, (whole, raw: string) => {
    const name = raw.toLowerCase();
    if (name === "cut" || name === "slow" || name === "hang") {
      faults.push(name);
      return "";
    }
    const status = /^\d{3}$/.test(name) ? Number(name) : NaN;
    if (status >= 400 && status <= 599) {
      faults.push(status);
      return "";
    }
    return whole;
  });
  return { faults, text: rest.replace(/\s{2,}/g, " ").trim() };
}
