import type { TokenUsage } from "../providers/model.js";
import { costOfCall } from "./cost.js";
import type { PriceBook } from "./price-table.js";

/**
 * The cost function dispatch prices attempts with: the price book's price at the time of the
 * call, or 0 for a model the book does not know (reported through `onUnpriced`, so the gap is
 * visible; the budget stage refuses unpriced calls under a cap before they are sent).
 */
export function createAttemptCost(
  book: PriceBook,
  onUnpriced: (provider: string, model: string) => void = () => {},
  now: () => Date = () => new Date(),
): (provider: string, model: string, usage: TokenUsage) => bigint {
  return (provider, model, usage) => {
    const cost = costOfCall(book, { provider, model, usage, at: now() });
    if (cost.kind === "priced") return cost.micros;
    onUnpriced(provider, model);
    return 0n;
  };
}
