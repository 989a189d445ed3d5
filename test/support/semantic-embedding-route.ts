import { TEST_PRICES } from "../../server/limits/money-harness.testing.js";
import { fakeTarget } from "./money-rig.js";
import type { MoneyClients } from "./money.js";

/** {@link TEST_PRICES} and the fake's embedding model `emb-test` at 3 µ$ per input token (the fake counts one token per word). */
export const EMBEDDING_PRICES = { ...TEST_PRICES, rows: [...TEST_PRICES.rows, { provider: "openai", model: "emb-test", effectiveFrom: "2020-01-01", input: 3_000_000, output: 0 }] };

/**
 * The route `emb` to the fake's `emb-test` (one attempt), and the semantic route `sem` to its
 * `gpt-test` (`maxAttempts` attempts, 600 s TTL) that embeds its lookups through `emb`.
 */
export async function createSemanticEmbeddingRoutes(admin: MoneyClients, maxAttempts = 1): Promise<void> {
  await admin.routes.createRoute({ routeId: "emb", route: { targets: [fakeTarget("emb-test")], retry: { maxAttempts: 1 } } });
  await admin.routes.createRoute({
    routeId: "sem",
    route: { targets: [fakeTarget()], retry: { maxAttempts }, cache: { ttl: { seconds: 600n }, semantic: true, embeddingRoute: "emb" } },
  });
}
