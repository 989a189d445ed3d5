/**
 * The control surface every provider fake offers. The types live with the scripted server in
 * `server/sandbox/` (the sandbox provider runs on the same core); this module keeps the names the
 * tests use.
 */
export type { Fault, RecordedRequest, Reply, ScriptedUsage, ScriptStep, TruthEntry } from "../../server/sandbox/script-types.js";
/** A running fake provider: the scripted server's control surface. */
export type { ScriptedServer as FakeProvider } from "../../server/sandbox/script-types.js";
