/**
 * The gateway's front doors beyond OpenAI chat/completions/embeddings (Responses, Anthropic
 * Messages), each translating to the one dispatch. The server registers every door listed here.
 */
import type { FrontDoor } from "./door.js";
import { messagesDoor } from "./messages.js";
import { responsesDoor } from "./responses.js";

/** The Responses door; its store answers `previous_response_id` and `GET /v1/responses/{id}` (retrieveResponse). */
export const responses = responsesDoor();

export const doors: FrontDoor[] = [responses, messagesDoor()];

export { retrieveResponse } from "./responses.js";
