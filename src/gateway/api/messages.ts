/**
 * The Anthropic Messages door (`POST /v1/messages`), translated to one chat completion:
 * `system`, `messages` with text / image / tool_use / tool_result blocks, `tools`
 * (`input_schema`), `tool_choice` (auto, any, tool, none; `disable_parallel_tool_use`),
 * `max_tokens` (required), `stop_sequences`, temperature, top_p, top_k, streaming. Shapes follow
 * the official `@anthropic-ai/sdk` types (resources/messages/messages.d.ts); errors on this door
 * are Anthropic's `{"type":"error","error":{"type","message"}}`.
 */
import { InferplaneError } from "../../errors.js";
import { type ChatUsage, hexId, isObject, readChatAnswer, readChatChunk, sseEvent } from "./chat-shapes.js";
import type { DoorStream, DoorTranslation, FrontDoor, SseFrame } from "./door.js";
import { validateTranslated } from "./params.js";

type Json = Record<string, unknown>;

const bad = (param: string, message: string): InferplaneError =>
  new InferplaneError("invalid_request", message, { param });

/** Anthropic error types by HTTP status (docs.anthropic.com, "Errors"). */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

export function anthropicError(err: InferplaneError): Json {
  return { type: "error", error: { type: anthropicErrorType(err.def.status), message: err.message } };
}

// ---------------------------------------------------------------------------------------------
// Request: Messages → chat
// ---------------------------------------------------------------------------------------------

function blockText(b: Json, at: string): string {
  if (typeof b.text !== "string") throw bad(`${at}.text`, `${at}.text must be a string.`);
  return b.text;
}

function imagePart(b: Json, at: string): Json {
  const s = isObject(b.source) ? b.source : {};
  if (s.type === "base64" && typeof s.media_type === "string" && typeof s.data === "string")
    return { type: "image_url", image_url: { url: `data:${s.media_type};base64,${s.data}` } };
  if (s.type === "url" && typeof s.url === "string") return { type: "image_url", image_url: { url: s.url } };
  throw bad(`${at}.source`, `${at}.source must be {type: "base64", media_type, data} or {type: "url", url}.`);
}

/** Text parts joined (as chat templates do), or a parts list when an image is among them. */
function content(parts: Json[]): string | Json[] {
  return parts.every((p) => p.type === "text") ? parts.map((p) => p.text as string).join("\n") : parts;
}

function toolResultText(c: unknown, at: string): string {
  if (c === undefined || c === null) return "";
  if (typeof c === "string") return c;
  if (!Array.isArray(c)) throw bad(`${at}.content`, `${at}.content must be a string or text blocks.`);
  return c
    .map((b, j) => (isObject(b) && b.type === "text" ? blockText(b, `${at}.content[${j}]`) : ""))
    .join("\n");
}

function chatMessages(messages: unknown): Json[] {
  if (!Array.isArray(messages) || messages.length === 0)
    throw bad("messages", "`messages` must be a non-empty array.");
  const out: Json[] = [];
  messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (!isObject(m) || (m.role !== "user" && m.role !== "assistant"))
      throw bad(`${at}.role`, `${at}.role must be "user" or "assistant".`);
    if (typeof m.content === "string") {
      out.push({ role: m.role, content: m.content });
      return;
    }
    if (!Array.isArray(m.content))
      throw bad(`${at}.content`, `${at}.content must be a string or an array of blocks.`);
    const parts: Json[] = [];
    const toolCalls: Json[] = [];
    const results: Json[] = [];
    m.content.forEach((b, j) => {
      const bat = `${at}.content[${j}]`;
      if (!isObject(b)) throw bad(bat, `${bat} must be an object.`);
      switch (b.type) {
        case "text":
          parts.push({ type: "text", text: blockText(b, bat) });
          break;
        case "image":
          parts.push(imagePart(b, bat));
          break;
        case "tool_use":
          if (m.role !== "assistant")
            throw bad(`${bat}.type`, `${bat}: tool_use blocks belong to assistant messages.`);
          if (typeof b.id !== "string" || typeof b.name !== "string")
            throw bad(bat, `${bat}: tool_use needs a string id and name.`);
          toolCalls.push({
            id: b.id,
            type: "function",
            function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
          });
          break;
        case "tool_result":
          if (m.role !== "user")
            throw bad(`${bat}.type`, `${bat}: tool_result blocks belong to user messages.`);
          if (typeof b.tool_use_id !== "string")
            throw bad(`${bat}.tool_use_id`, `${bat}.tool_use_id must be a string.`);
          results.push({
            role: "tool",
            tool_call_id: b.tool_use_id,
            content: toolResultText(b.content, bat),
          });
          break;
        case "thinking":
        case "redacted_thinking":
          break; // earlier turns' reasoning: nothing a chat template reads
        default:
          throw bad(
            `${bat}.type`,
            `${bat}.type ${JSON.stringify(b.type)} is not supported (text, image, tool_use, tool_result).`,
          );
      }
    });
    // Tool results answer the previous assistant turn, so they come before any new user text.
    out.push(...results);
    if (m.role === "assistant") {
      if (parts.length > 0 || toolCalls.length > 0)
        out.push({
          role: "assistant",
          content: parts.length > 0 ? content(parts) : null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        });
    } else if (parts.length > 0) out.push({ role: "user", content: content(parts) });
  });
  return out;
}

function systemText(system: unknown): string | undefined {
  if (system === undefined || system === null) return undefined;
  if (typeof system === "string") return system;
  if (!Array.isArray(system)) throw bad("system", "`system` must be a string or an array of text blocks.");
  return system
    .map((b, j) => (isObject(b) && b.type === "text" ? blockText(b, `system[${j}]`) : ""))
    .join("\n");
}

function chatTools(tools: unknown): Json[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw bad("tools", "`tools` must be an array.");
  return tools.map((t, i) => {
    if (!isObject(t) || (t.type !== undefined && t.type !== "custom") || typeof t.name !== "string")
      throw bad(
        `tools[${i}]`,
        `tools[${i}] must be a client tool {name, input_schema}; server tools are not supported by this gateway.`,
      );
    if (!isObject(t.input_schema))
      throw bad(`tools[${i}].input_schema`, `tools[${i}].input_schema must be a JSON schema object.`);
    const fn: Json = { name: t.name, parameters: t.input_schema };
    if (typeof t.description === "string") fn.description = t.description;
    return { type: "function", function: fn };
  });
}

function applyToolChoice(chat: Json, choice: unknown): void {
  if (choice === undefined || choice === null) return;
  if (!isObject(choice))
    throw bad("tool_choice", '`tool_choice` must be an object such as {"type": "auto"}.');
  switch (choice.type) {
    case "auto":
      chat.tool_choice = "auto";
      break;
    case "any":
      chat.tool_choice = "required";
      break;
    case "none":
      chat.tool_choice = "none";
      break;
    case "tool":
      if (typeof choice.name !== "string")
        throw bad("tool_choice.name", "`tool_choice.name` must be a string.");
      chat.tool_choice = { type: "function", function: { name: choice.name } };
      break;
    default:
      throw bad("tool_choice.type", "`tool_choice.type` must be auto, any, tool or none.");
  }
  if (choice.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
}

// ---------------------------------------------------------------------------------------------
// Answer: chat → Messages
// ---------------------------------------------------------------------------------------------

function stopReason(
  finish: string | null,
  matched: string | null,
  stops: readonly string[],
  tools: boolean,
): { stop_reason: string; stop_sequence: string | null } {
  if (finish === "length") return { stop_reason: "max_tokens", stop_sequence: null };
  if (tools || finish === "tool_calls") return { stop_reason: "tool_use", stop_sequence: null };
  if (matched !== null && stops.includes(matched))
    return { stop_reason: "stop_sequence", stop_sequence: matched };
  return { stop_reason: "end_turn", stop_sequence: null };
}

function usageOf(u: ChatUsage | null): Json {
  return {
    input_tokens: u?.prompt ?? 0,
    output_tokens: u?.completion ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: u?.cached ?? 0,
  };
}

function parseInput(args: string): unknown {
  try {
    const v = JSON.parse(args === "" ? "{}" : args) as unknown;
    return isObject(v) ? v : { value: v };
  } catch {
    // A reply cut by max_tokens leaves the arguments unfinished: keep what came as text.
    return { _raw: args };
  }
}

const toolUseId = (upstream: string | null): string =>
  upstream !== null && upstream !== ""
    ? `toolu_${upstream.replace(/[^A-Za-z0-9_-]/g, "")}`
    : `toolu_${hexId(12)}`;

class MessagesStream implements DoorStream {
  private started = false;
  /** Index and kind of the open content block. */
  private block: { index: number; kind: "text" | "tool"; call: number } | null = null;
  private next = 0;
  private finish: string | null = null;
  private matched: string | null = null;
  private usage: ChatUsage | null = null;
  private sawTools = false;

  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly stops: readonly string[],
  ) {}

  private start(out: SseFrame[]): void {
    if (this.started) return;
    this.started = true;
    out.push(
      sseEvent("message_start", {
        type: "message_start",
        message: {
          id: this.id,
          type: "message",
          role: "assistant",
          model: this.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: usageOf(null),
        },
      }),
    );
  }

  private close(out: SseFrame[]): void {
    if (this.block === null) return;
    out.push(sseEvent("content_block_stop", { type: "content_block_stop", index: this.block.index }));
    this.block = null;
  }

  event(data: unknown): SseFrame[] {
    const out: SseFrame[] = [];
    if (data === "[DONE]") return out;
    const chunk = readChatChunk(data);
    if (chunk === null) return out;
    this.start(out);
    if (chunk.text !== "") {
      if (this.block?.kind !== "text") {
        this.close(out);
        this.block = { index: this.next++, kind: "text", call: -1 };
        out.push(
          sseEvent("content_block_start", {
            type: "content_block_start",
            index: this.block.index,
            content_block: { type: "text", text: "" },
          }),
        );
      }
      out.push(
        sseEvent("content_block_delta", {
          type: "content_block_delta",
          index: this.block.index,
          delta: { type: "text_delta", text: chunk.text },
        }),
      );
    }
    for (const d of chunk.toolCalls) {
      this.sawTools = true;
      if (this.block?.kind !== "tool" || this.block.call !== d.index) {
        this.close(out);
        this.block = { index: this.next++, kind: "tool", call: d.index };
        out.push(
          sseEvent("content_block_start", {
            type: "content_block_start",
            index: this.block.index,
            content_block: { type: "tool_use", id: toolUseId(d.id), name: d.name ?? "", input: {} },
          }),
        );
      }
      if (d.arguments !== "")
        out.push(
          sseEvent("content_block_delta", {
            type: "content_block_delta",
            index: this.block.index,
            delta: { type: "input_json_delta", partial_json: d.arguments },
          }),
        );
    }
    if (chunk.finishReason !== null) this.finish = chunk.finishReason;
    if (chunk.stopReason !== null) this.matched = chunk.stopReason;
    if (chunk.usage !== null) this.usage = chunk.usage;
    return out;
  }

  end(): SseFrame[] {
    const out: SseFrame[] = [];
    this.start(out);
    this.close(out);
    out.push(
      sseEvent("message_delta", {
        type: "message_delta",
        delta: stopReason(this.finish, this.matched, this.stops, this.sawTools),
        usage: usageOf(this.usage),
      }),
      sseEvent("message_stop", { type: "message_stop" }),
    );
    return out;
  }

  fail(err: InferplaneError): SseFrame[] {
    return [sseEvent("error", anthropicError(err))];
  }
}

/** Chat parameter names back to the Messages names a client sent. */
const PARAM_NAMES: Readonly<Record<string, string>> = { stop: "stop_sequences" };

/** A non-streaming chat answer as an Anthropic message. */
function messageOf(upstream: unknown, id: string, model: string, stops: string[]): Json {
  const a = readChatAnswer(upstream);
  const blocks: Json[] = [];
  if (a.text !== "") blocks.push({ type: "text", text: a.text });
  for (const c of a.toolCalls)
    blocks.push({ type: "tool_use", id: toolUseId(c.id), name: c.name, input: parseInput(c.arguments) });
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content: blocks,
    ...stopReason(a.finishReason, a.stopReason, stops, a.toolCalls.length > 0),
    usage: usageOf(a.usage),
  };
}

/** The fields Anthropic requires, and temperature's narrower range, before any translation. */
function checkRequired(b: Json): Json & { model: string; max_tokens: number } {
  if (typeof b.model !== "string" || b.model === "")
    throw bad("model", "model: Field required (a non-empty string).");
  if (typeof b.max_tokens !== "number" || !Number.isInteger(b.max_tokens) || b.max_tokens < 1)
    throw bad("max_tokens", "max_tokens: Field required (an integer ≥ 1).");
  if (typeof b.temperature === "number" && !(b.temperature >= 0 && b.temperature <= 1))
    throw bad("temperature", `temperature: must be in [0, 1], got ${b.temperature}.`);
  return b as Json & { model: string; max_tokens: number };
}

function stopSequences(value: unknown): string[] {
  const stops = value ?? [];
  if (!Array.isArray(stops) || !stops.every((s) => typeof s === "string"))
    throw bad("stop_sequences", "stop_sequences must be an array of strings.");
  return stops;
}

/** The chat request's model, conversation (system prompt first) and max_tokens. */
function chatRequest(b: Json & { model: string; max_tokens: number }): Json {
  const system = systemText(b.system);
  const messages = chatMessages(b.messages);
  return {
    model: b.model,
    messages:
      system !== undefined && system !== "" ? [{ role: "system", content: system }, ...messages] : messages,
    max_tokens: b.max_tokens,
  };
}

export function messagesDoor(): FrontDoor {
  return {
    path: "/v1/messages",
    op: "chat",
    errorBody: anthropicError,
    translate(body: unknown): DoorTranslation {
      if (!isObject(body))
        throw new InferplaneError("invalid_json", "The request body must be a JSON object.");
      const b = checkRequired(body);
      const chat = chatRequest(b);
      const stops = stopSequences(b.stop_sequences);
      if (stops.length > 0) chat.stop = stops;
      for (const key of ["temperature", "top_p", "top_k"] as const)
        if (b[key] !== undefined && b[key] !== null) chat[key] = b[key];
      const tools = chatTools(b.tools);
      if (tools !== undefined && tools.length > 0) {
        chat.tools = tools;
        applyToolChoice(chat, b.tool_choice);
      }
      const stream = b.stream === true;
      if (stream) {
        chat.stream = true;
        chat.stream_options = { include_usage: true };
      }
      validateTranslated("chat", chat, PARAM_NAMES);
      const id = `msg_${hexId(12)}`;
      const model = b.model;
      return {
        op: "chat",
        body: chat,
        stream,
        response: (upstream: unknown) => messageOf(upstream, id, model, stops),
        streamTranslator: () => new MessagesStream(id, model, stops),
      };
    },
  };
}
