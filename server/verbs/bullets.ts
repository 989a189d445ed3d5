const BULLET = /^\s*(?:[-*•‣◦▪–]|\d{1,3}[.)])\s+(.*)$/;

/**
 * The bullets of a model's list: lines starting with `-`, `*`, `•` (and similar marks) or a
 * number (`1.`, `2)`), marker removed. An indented line without a marker continues the bullet
 * before it; text before the first bullet (a stray preamble) is ignored.
 */
export function parseBullets(text: string): string[] {
  const bullets: string[] = [];
  let inList = false;
  for (const line of text.split(/\r?\n/)) {
    const m = BULLET.exec(line);
    if (m !== null) {
      const item = (m[1] ?? "").trim();
      if (item !== "") {
        bullets.push(item);
        inList = true;
      }
      continue;
    }
    const trimmed = line.trim();
    if (trimmed === "") continue;
    if (inList && /^\s/.test(line)) bullets[bullets.length - 1] += ` ${trimmed}`;
    else if (inList) inList = false;
  }
  return bullets;
}
