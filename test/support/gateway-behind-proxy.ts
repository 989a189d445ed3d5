import type { AuthenticatorOptions } from "../../server/auth/authenticator.js";
import { clientsFor, type KeyedClients } from "./clients.js";
import { startTestGateway, type TestGateway } from "./gateway.js";
import { createTestDatabase, type TestDatabase } from "./postgres.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/** A test gateway on its own throwaway database, reached through a TCP proxy a test can close or hang. */
export interface GatewayBehindProxy {
  database: TestDatabase;
  proxy: TcpProxy;
  gw: TestGateway;
  /** Clients with the gateway's admin key; org `acme` exists. */
  admin: KeyedClients;
  /** Puts the proxy back to forwarding, stops the gateway and the proxy, drops the database. */
  close(): Promise<void>;
}

/** Starts a {@link GatewayBehindProxy} (pool of 2, the given key-cache settings) with org `acme`. */
export async function startGatewayBehindProxy(auth: AuthenticatorOptions): Promise<GatewayBehindProxy> {
  const database = await createTestDatabase();
  const direct = new URL(database.url);
  const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port) });
  const gw = await startTestGateway({ databaseUrl: proxy.rewrite(database.url), pool: 2, auth });
  const admin = clientsFor(gw.url, gw.adminKey);
  await admin.tenants.createOrg({ orgId: "acme", org: { displayName: "Acme" } });
  return {
    database,
    proxy,
    gw,
    admin,
    async close() {
      await proxy.setMode("forward");
      await gw.close();
      await proxy.close();
      await database.drop();
    },
  };
}
