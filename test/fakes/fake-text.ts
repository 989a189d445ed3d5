/**
 * Deterministic text and token arithmetic shared by the fakes (one token per word). It lives with
 * the scripted server in `server/sandbox/`; this module keeps the names the tests use.
 */
export { countTokens, echoReply, filler, firstTokens, streamPieces } from "../../server/sandbox/word-text.js";
/** A deterministic vector for a text (the fakes' embeddings). */
export { hashedVector as fakeVector } from "../../server/sandbox/word-text.js";
