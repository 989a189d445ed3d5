/** One signal of a likely prompt injection, with where it was seen. */
export interface InjectionSignal {
  name: string;
  weight: number;
  start: number;
  end: number;
}

/** The injection score of a text and the signals behind it. */
export interface InjectionVerdict {
  /** 0 (nothing suspicious) to 1; `1 − Π(1 − weight)` over the distinct signals seen. */
  score: number;
  signals: InjectionSignal[];
}

/**
 * Heuristic signals, each a pattern with a weight: phrases that try to replace the application's
 * instructions, extract them, switch the model into an unrestricted persona, or smuggle role
 * markers of chat formats into user text; plus hiding techniques (invisible characters, long
 * encoded blobs). OWASP LLM01 says no filter is fool-proof: this is a tripwire that scores, for a
 * policy to log or block at its threshold, not a guarantee. Patterns are linear-time (bounded
 * gaps, no nested quantifiers).
 */
const SIGNALS: ReadonlyArray<{ name: string; weight: number; pattern: string; flags?: string }> = [
  { name: "override_instructions", weight: 0.8, pattern: String.raw`\b(ignore|disregard|forget|skip|override)\b[^.\n]{0,40}?\b(previous|prior|above|earlier|preceding|all|your|system|original)\b[^.\n]{0,30}?\b(instructions?|prompts?|rules|directions|guidelines|context|messages?)\b` },
  { name: "new_instructions", weight: 0.5, pattern: String.raw`\b(new|updated|real|actual)\s+(instructions?|system prompt|rules)\s*[:\-]` },
  { name: "prompt_extraction", weight: 0.7, pattern: String.raw`\b(reveal|show|print|repeat|output|tell me|display|leak|dump)\b[^.\n]{0,30}?\b(system prompt|hidden prompt|initial prompt|original prompt|your instructions|your prompt|developer message|the prompt above)\b` },
  { name: "persona_switch", weight: 0.5, pattern: String.raw`\b(you are now|from now on,? you are|pretend (to be|you are)|act as|roleplay as)\b[^.\n]{0,60}?\b(unrestricted|unfiltered|uncensored|without (any )?(rules|restrictions|limits|filters)|no (rules|restrictions|limits|filters)|evil|jailbroken)\b` },
  { name: "jailbreak_mode", weight: 0.6, pattern: String.raw`\b(developer mode|dan mode|god mode|jailbreak(ed)?|do anything now)\b` },
  { name: "no_restrictions", weight: 0.3, pattern: String.raw`\b(without|ignore|bypass|disable)\b[^.\n]{0,20}?\b(restrictions|limitations|filters|censorship|safety (rules|guidelines|filters)|content policy)\b` },
  // Horizontal whitespace only after `^`: `^\s*` in multiline mode re-scans every newline run from
  // each line start (quadratic: 100 KB of newlines took over a minute).
  { name: "role_marker", weight: 0.5, pattern: String.raw`(<\|(im_start|im_end|system|assistant|user)\|>|\[/?INST\]|<<SYS>>|^[ \t]*#{2,}[ \t]*(system|instruction)s?\b|^[ \t]*(system|assistant)[ \t]*:)`, flags: "m" },
  { name: "invisible_characters", weight: 0.3, pattern: "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]" },
  // Anchored at the start of a run: unanchored, every position of a 199-character run is tried.
  { name: "encoded_blob", weight: 0.2, pattern: "(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{200,}={0,2}" },
];

/**
 * Scores `text` for prompt injection. Each distinct signal counts once, combined as independent
 * evidence: one strong signal ("ignore previous instructions", 0.8) crosses the default 0.5
 * threshold alone; weak ones (an encoded blob, 0.2) need company.
 */
export function scoreInjection(text: string): InjectionVerdict {
  const signals: InjectionSignal[] = [];
  for (const s of SIGNALS) {
    const m = new RegExp(s.pattern, `i${s.flags ?? ""}`).exec(text);
    if (m !== null) signals.push({ name: s.name, weight: s.weight, start: m.index, end: m.index + m[0].length });
  }
  const score = 1 - signals.reduce((p, s) => p * (1 - s.weight), 1);
  return { score: Math.round(score * 1000) / 1000, signals };
}
