import { startTestGateway, type TestGateway, type TestGatewayOptions } from "./gateway.js";
import { createTestDatabase } from "./postgres.js";

/** A test gateway on a fresh Postgres database of its own: `close()` stops it, then drops the database. */
export async function startPostgresGateway(opts: Omit<TestGatewayOptions, "databaseUrl"> = {}): Promise<TestGateway> {
  const database = await createTestDatabase();
  const gw = await startTestGateway({ ...opts, databaseUrl: database.url }).catch(async (err: unknown) => {
    await database.drop();
    throw err;
  });
  return {
    ...gw,
    async close() {
      await gw.close();
      await database.drop();
    },
  };
}
