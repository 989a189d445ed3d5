/**
 * UTF-16 surrogate halves. Text cut between the two halves of a pair (an emoji, most CJK extension
 * characters) leaves a lone half, which no UTF-8 writer can encode: protobuf and JSON writers turn
 * it into U+FFFD. Every place that cuts text it sends or stores on its own checks with these.
 */
export function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

export function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
