/**
 * The fakes' HTTP server with its script queue and transport faults. It is the scripted server
 * in `server/sandbox/`, shared with the sandbox provider; this module keeps the names the tests use.
 */
export type { WireFormat, WirePlan, WireRequest } from "../../server/sandbox/scripted-server.js";
/** Starts a fake provider for a wire format on 127.0.0.1 with a free port. */
export { startScriptedServer as startFakeServer } from "../../server/sandbox/scripted-server.js";
