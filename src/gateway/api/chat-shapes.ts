/**
 * The OpenAI chat-completion shapes the doors read back from an upstream (a response, a stream
 * chunk), narrowed from `unknown` once here, and the SSE framing the doors write.
 */
import type { SseFrame } from "./door.js";

export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

export interface ChatToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatUsage {
  prompt: number;
  completion: number;
  cached: number;
}

/** The first choice of a non-streaming chat completion. */
export interface ChatAnswer {
  text: string;
  toolCalls: ChatToolCall[];
  finishReason: string | null;
  /** vLLM's `stop_reason`: the stop string matched, when one ended the reply. */
  stopReason: string | null;
  usage: ChatUsage | null;
}

export function readUsage(u: unknown): ChatUsage | null {
  if (!isObject(u)) return null;
  const details = isObject(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  return {
    prompt: typeof u.prompt_tokens === "number" ? u.prompt_tokens : 0,
    completion: typeof u.completion_tokens === "number" ? u.completion_tokens : 0,
    cached: typeof details.cached_tokens === "number" ? details.cached_tokens : 0,
  };
}

const firstChoice = (body: unknown): Record<string, unknown> => {
  const choices = isObject(body) && Array.isArray(body.choices) ? body.choices : [];
  return isObject(choices[0]) ? choices[0] : {};
};

export function readChatAnswer(body: unknown): ChatAnswer {
  const choice = firstChoice(body);
  const message = isObject(choice.message) ? choice.message : {};
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  return {
    text: typeof message.content === "string" ? message.content : "",
    toolCalls: calls.flatMap((c, i) => {
      const fn = isObject(c) && isObject(c.function) ? c.function : null;
      if (fn === null || typeof fn.name !== "string") return [];
      return [
        {
          id: isObject(c) && typeof c.id === "string" ? c.id : `call_${i}`,
          name: fn.name,
          arguments: typeof fn.arguments === "string" ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
        },
      ];
    }),
    finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : null,
    stopReason: typeof choice.stop_reason === "string" ? choice.stop_reason : null,
    usage: readUsage(isObject(body) ? body.usage : undefined),
  };
}

/** One streamed tool-call delta: `id`/`name` start a call (at `index`), `arguments` continue it. */
export interface ToolCallDelta {
  index: number;
  id: string | null;
  name: string | null;
  arguments: string;
}

/** What one upstream stream chunk says (first choice only: the doors ask for one). */
export interface ChatChunk {
  text: string;
  toolCalls: ToolCallDelta[];
  finishReason: string | null;
  stopReason: string | null;
  usage: ChatUsage | null;
}

export function readChatChunk(data: unknown): ChatChunk | null {
  if (!isObject(data)) return null;
  const choice = firstChoice(data);
  const delta = isObject(choice.delta) ? choice.delta : {};
  const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
  return {
    text: typeof delta.content === "string" ? delta.content : "",
    toolCalls: calls.flatMap((c) => {
      if (!isObject(c)) return [];
      const fn = isObject(c.function) ? c.function : {};
      return [
        {
          index: typeof c.index === "number" ? c.index : 0,
          id: typeof c.id === "string" ? c.id : null,
          name: typeof fn.name === "string" ? fn.name : null,
          arguments: typeof fn.arguments === "string" ? fn.arguments : "",
        },
      ];
    }),
    finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : null,
    stopReason: typeof choice.stop_reason === "string" ? choice.stop_reason : null,
    usage: readUsage(data.usage),
  };
}

/** `event: NAME` + `data: JSON` frame. */
export function sseEvent(event: string, data: unknown): SseFrame {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Random hex for ids (not secret: only unique). */
export function hexId(bytes = 12): string {
  let s = "";
  for (let i = 0; i < bytes * 2; i++) s += "0123456789abcdef"[Math.floor(Math.random() * 16)];
  return s;
}
