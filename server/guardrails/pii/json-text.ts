/**
 * JSON text (a tool call's arguments) as the detectors should read it: each escape (`\n`, `\"`,
 * `\u00e9`) as spaces of its length, so offsets are kept and findings apply to the JSON itself. Read
 * raw, a value after an escaped line break (`\n4111 …`) follows the letter `n`, and the detectors,
 * which refuse a match glued to a word, miss it. A lone `\` at the end (an escape split between
 * stream chunks) is left as it is: not a letter, and whole once the next chunk arrives.
 */
export function jsonEscapesAsSpaces(json: string): string {
  return json.replace(/\\(?:u[0-9A-Fa-f]{4}|[^u])/g, (e) => " ".repeat(e.length));
}

/** `text` as the detectors should read it: through {@link jsonEscapesAsSpaces} when it is JSON. */
export function detectorText(text: string, json: boolean): string {
  return json ? jsonEscapesAsSpaces(text) : text;
}
