import type { ModelMessage } from "../providers/model.js";

/**
 * The messages of a repair call: the original conversation, the model's previous reply as its
 * own assistant turn, and a user turn with what was wrong. Showing the model its own output and
 * the exact problems fixes far more than repeating the request. The two added turns are written
 * by the gateway and the model, not by end users, so they are not flagged as user content.
 */
export function withRepairTurn(messages: readonly ModelMessage[], previousReply: string, feedback: string): ModelMessage[] {
  return [
    ...messages,
    { role: "assistant", content: [{ type: "text", text: previousReply.trim() === "" ? "(empty reply)" : previousReply }] },
    { role: "user", content: [{ type: "text", text: feedback }] },
  ];
}
