/**
 * The answer the soak's fakes give each upstream attempt: a text unique to the operation's tag
 * and the attempt's number, so a spliced or mixed answer cannot pass for a whole one (P14). Worked
 * out again wherever it is needed rather than kept with every attempt, which a long run cannot afford.
 */

/** The words of a tag's answer: 10..25 of them, fixed per tag. */
function answerWords(tag: string): number {
  let h = 0;
  for (const c of tag) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return 10 + (h % 16);
}

/** The whole answer text attempt `attemptNo` of the operation tagged `tag` sends (when it answers at all). */
export function attemptText(a: { tag: string; attemptNo: number }): string {
  // Every word carries the attempt's number too: two attempts' texts differ at every word, so a
  // stream resumed at an offset from another attempt cannot pass for one attempt's text.
  const words = Array.from({ length: answerWords(a.tag) }, (_, i) => `w${i + 1}.${a.attemptNo}`);
  return `${a.tag} a${a.attemptNo} ${words.join(" ")}`;
}
