/**
 * The gateway's front doors beyond OpenAI chat/completions/embeddings (Responses, Anthropic
 * Messages), each translating to the one dispatch. The server registers every door listed here.
 */
import type { FrontDoor } from "./door.js";

export const doors: FrontDoor[] = [];
