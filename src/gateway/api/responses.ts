/**
 * The OpenAI Responses door (`POST /v1/responses`), translated to one chat completion: `input`
 * (a string or an item list: messages, function_call, function_call_output), `instructions`,
 * function tools in Responses' flat shape, `tool_choice`, `text.format` (json_schema,
 * json_object), `max_output_tokens`, temperature, top_p, `parallel_tool_calls`, `metadata`,
 * `previous_response_id`, `store`, streaming. Shapes follow the official `openai` SDK's types
 * (resources/responses/responses.d.ts).
 *
 * `previous_response_id` reads a bounded in-memory store of this gateway process's own responses
 * (ResponseStore: the latest 1,000 for up to one hour by default); a stored response carries the
 * conversation that led to it, so the next request continues it. Several gateway replicas do not
 * share the store: a follow-up that reaches another replica is answered 400 (not found), as the
 * OpenAI API answers for an unknown id. Built-in tools (web search, file search, computer use,
 * MCP), background mode and conversations are refused with a 400 naming the field.
 */
import { InferplaneError } from "../../errors.js";
import {
  type ChatAnswer,
  type ChatUsage,
  hexId,
  isObject,
  readChatAnswer,
  readChatChunk,
  sseEvent,
} from "./chat-shapes.js";
import type { DoorStream, DoorTranslation, FrontDoor, SseFrame } from "./door.js";
import { validateTranslated } from "./params.js";

type Json = Record<string, unknown>;
type ChatMessage = Json;

const bad = (param: string, message: string): InferplaneError =>
  new InferplaneError("invalid_request", message, { param });

// ---------------------------------------------------------------------------------------------
// The store behind previous_response_id
// ---------------------------------------------------------------------------------------------

interface Stored {
  response: Json;
  /** The chat conversation up to and including this response's output (without instructions). */
  messages: ChatMessage[];
  at: number;
  /** The id of the API key that created it (undefined without keys): only that key sees it. */
  owner: string | undefined;
}

/** The latest `max` responses for `ttlMs`, oldest dropped first. */
export class ResponseStore {
  private readonly entries = new Map<string, Stored>();
  constructor(
    readonly max = 1000,
    readonly ttlMs = 3_600_000,
    private readonly now: () => number = Date.now,
  ) {}
  put(id: string, response: Json, messages: ChatMessage[], owner?: string): void {
    this.entries.delete(id);
    this.entries.set(id, { response, messages, at: this.now(), owner });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
  get(id: string): Stored | undefined {
    const e = this.entries.get(id);
    if (e === undefined) return undefined;
    if (this.now() - e.at > this.ttlMs) {
      this.entries.delete(id);
      return undefined;
    }
    return e;
  }
  get size(): number {
    return this.entries.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Request: Responses → chat
// ---------------------------------------------------------------------------------------------

function textOfParts(parts: unknown, where: string): string | Json[] {
  if (typeof parts === "string") return parts;
  if (!Array.isArray(parts)) throw bad(where, `${where} must be a string or an array of content parts.`);
  const out: Json[] = [];
  parts.forEach((p, j) => {
    const at = `${where}[${j}]`;
    if (!isObject(p)) throw bad(at, `${at} must be an object.`);
    if (
      (p.type === "input_text" || p.type === "output_text" || p.type === "text") &&
      typeof p.text === "string"
    )
      out.push({ type: "text", text: p.text });
    else if (p.type === "input_image" && typeof p.image_url === "string")
      out.push({ type: "image_url", image_url: { url: p.image_url } });
    else
      throw bad(
        `${at}.type`,
        `${at}.type ${JSON.stringify(p.type)} is not supported (input_text, output_text, input_image with image_url).`,
      );
  });
  return out.every((p) => p.type === "text") ? out.map((p) => p.text as string).join("\n") : out;
}

function messageOfItem(item: Json, at: string): ChatMessage {
  const role = item.role === "developer" ? "system" : item.role;
  if (role !== "user" && role !== "system" && role !== "assistant")
    throw bad(`${at}.role`, `${at}.role must be user, system, developer or assistant.`);
  return { role, content: textOfParts(item.content, `${at}.content`) };
}

/** A function_call item joins the assistant turn before it, as chat's tool_calls do. */
function addFunctionCall(out: ChatMessage[], item: Json, at: string): void {
  if (typeof item.call_id !== "string" || typeof item.name !== "string")
    throw bad(at, `${at}: a function_call needs a string call_id and name.`);
  const call = {
    id: item.call_id,
    type: "function",
    function: { name: item.name, arguments: typeof item.arguments === "string" ? item.arguments : "{}" },
  };
  const last = out[out.length - 1];
  if (last !== undefined && last.role === "assistant" && Array.isArray(last.tool_calls))
    last.tool_calls.push(call);
  else if (last !== undefined && last.role === "assistant" && last.tool_calls === undefined)
    last.tool_calls = [call];
  else out.push({ role: "assistant", content: null, tool_calls: [call] });
}

function toolResultOfItem(item: Json, at: string): ChatMessage {
  if (typeof item.call_id !== "string") throw bad(`${at}.call_id`, `${at}.call_id must be a string.`);
  const output = textOfParts(item.output, `${at}.output`);
  return {
    role: "tool",
    tool_call_id: item.call_id,
    content: typeof output === "string" ? output : JSON.stringify(output),
  };
}

function inputMessages(input: unknown): ChatMessage[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  if (!Array.isArray(input)) throw bad("input", "`input` must be a string or an array of input items.");
  const out: ChatMessage[] = [];
  input.forEach((item, i) => {
    const at = `input[${i}]`;
    if (!isObject(item)) throw bad(at, `${at} must be an object.`);
    const type = item.type ?? "message";
    if (type === "message") out.push(messageOfItem(item, at));
    else if (type === "function_call") addFunctionCall(out, item, at);
    else if (type === "function_call_output") out.push(toolResultOfItem(item, at));
    else if (type === "reasoning") {
      // Reasoning items of earlier turns carry nothing a chat template reads.
    } else throw bad(`${at}.type`, `${at}.type ${JSON.stringify(type)} is not supported by this gateway.`);
  });
  return out;
}

function chatTools(tools: unknown): Json[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw bad("tools", "`tools` must be an array.");
  return tools.map((t, i) => {
    if (!isObject(t) || t.type !== "function")
      throw bad(
        `tools[${i}].type`,
        `tools[${i}]: only function tools are supported by this gateway, got ${JSON.stringify(isObject(t) ? t.type : t)}.`,
      );
    if (typeof t.name !== "string" || t.name === "")
      throw bad(`tools[${i}].name`, `tools[${i}].name must be a non-empty string.`);
    const fn: Json = { name: t.name };
    if (typeof t.description === "string") fn.description = t.description;
    if (t.parameters !== undefined && t.parameters !== null) fn.parameters = t.parameters;
    return { type: "function", function: fn };
  });
}

function chatToolChoice(choice: unknown): unknown {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  if (isObject(choice) && choice.type === "function" && typeof choice.name === "string")
    return { type: "function", function: { name: choice.name } };
  throw bad(
    "tool_choice",
    '`tool_choice` must be "auto", "none", "required" or {"type": "function", "name": …}.',
  );
}

function responseFormat(text: unknown): unknown {
  if (text === undefined || text === null) return undefined;
  if (!isObject(text)) throw bad("text", "`text` must be an object.");
  const f = text.format;
  if (f === undefined || f === null) return undefined;
  if (!isObject(f)) throw bad("text.format", "`text.format` must be an object.");
  if (f.type === "text") return undefined;
  if (f.type === "json_object") return { type: "json_object" };
  if (f.type === "json_schema") {
    if (typeof f.name !== "string" || !isObject(f.schema))
      throw bad("text.format", "`text.format` json_schema needs a `name` and a `schema` object.");
    return {
      type: "json_schema",
      json_schema: {
        name: f.name,
        schema: f.schema,
        ...(f.strict !== undefined ? { strict: f.strict } : {}),
      },
    };
  }
  throw bad("text.format.type", "`text.format.type` must be text, json_object or json_schema.");
}

/** Chat parameter names back to the Responses names a client sent. */
const PARAM_NAMES: Readonly<Record<string, string>> = {
  max_tokens: "max_output_tokens",
  response_format: "text.format",
  "response_format.json_schema": "text.format",
  "response_format.json_schema.schema": "text.format.schema",
};

const UNSUPPORTED = ["background", "conversation", "prompt"];

// ---------------------------------------------------------------------------------------------
// Answer: chat → Responses
// ---------------------------------------------------------------------------------------------

function usageOf(u: ChatUsage | null): Json | null {
  if (u === null) return null;
  return {
    input_tokens: u.prompt,
    input_tokens_details: { cached_tokens: u.cached },
    output_tokens: u.completion,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.prompt + u.completion,
  };
}

const messageItem = (id: string, text: string, status: string): Json => ({
  id,
  type: "message",
  status,
  role: "assistant",
  content:
    status === "in_progress" && text === ""
      ? []
      : [{ type: "output_text", text, annotations: [], logprobs: [] }],
});

const functionItem = (id: string, callId: string, name: string, args: string, status: string): Json => ({
  id,
  type: "function_call",
  status,
  call_id: callId,
  name,
  arguments: args,
});

/** One request's translation state: what the response object echoes, and the conversation. */
class Exchange {
  readonly id = `resp_${hexId(24)}`;
  readonly created = Math.floor(Date.now() / 1000);
  /** The caller's key id, once admission has named it (bind). */
  owner: string | undefined = undefined;
  constructor(
    readonly req: Json,
    readonly model: string,
    /** Conversation without instructions (what the store keeps). */
    readonly history: ChatMessage[],
    private readonly store: ResponseStore,
  ) {}

  object(status: string, output: Json[], usage: Json | null, finish: string | null): Json {
    const r = this.req;
    return {
      id: this.id,
      object: "response",
      created_at: this.created,
      status,
      background: false,
      error: null,
      incomplete_details: finish === "length" ? { reason: "max_output_tokens" } : null,
      instructions: typeof r.instructions === "string" ? r.instructions : null,
      max_output_tokens: typeof r.max_output_tokens === "number" ? r.max_output_tokens : null,
      metadata: isObject(r.metadata) ? r.metadata : {},
      model: this.model,
      output,
      parallel_tool_calls: r.parallel_tool_calls !== false,
      previous_response_id: typeof r.previous_response_id === "string" ? r.previous_response_id : null,
      reasoning: { effort: null, summary: null },
      store: r.store !== false,
      temperature: typeof r.temperature === "number" ? r.temperature : null,
      text:
        isObject(r.text) && isObject(r.text.format)
          ? { format: r.text.format }
          : { format: { type: "text" } },
      tool_choice: r.tool_choice ?? "auto",
      tools: Array.isArray(r.tools) ? r.tools : [],
      top_p: typeof r.top_p === "number" ? r.top_p : null,
      truncation: "disabled",
      usage,
      user: null,
    };
  }

  /** The finished response; kept for previous_response_id unless `store: false`. */
  finish(output: Json[], answer: Pick<ChatAnswer, "text" | "toolCalls" | "finishReason" | "usage">): Json {
    const status = answer.finishReason === "length" ? "incomplete" : "completed";
    const response = this.object(status, output, usageOf(answer.usage), answer.finishReason);
    if (this.req.store !== false) {
      const reply: ChatMessage = { role: "assistant", content: answer.text === "" ? null : answer.text };
      if (answer.toolCalls.length > 0)
        reply.tool_calls = answer.toolCalls.map((c) => ({
          id: c.id,
          type: "function",
          function: { name: c.name, arguments: c.arguments },
        }));
      this.store.put(this.id, response, [...this.history, reply], this.owner);
    }
    return response;
  }
}

class ResponsesStream implements DoorStream {
  private seq = 0;
  private started = false;
  private readonly output: Json[] = [];
  /** The open message item, if any. */
  private message: { id: string; index: number; text: string } | null = null;
  /** Function-call items by upstream tool-call index. */
  private readonly calls = new Map<
    number,
    { id: string; callId: string; name: string; args: string; index: number; open: boolean }
  >();
  private text = "";
  private finishReason: string | null = null;
  private usage: ChatUsage | null = null;

  constructor(private readonly ex: Exchange) {}

  private emit(type: string, fields: Json): SseFrame {
    return sseEvent(type, { type, sequence_number: this.seq++, ...fields });
  }

  private start(out: SseFrame[]): void {
    if (this.started) return;
    this.started = true;
    const r = this.ex.object("in_progress", [], null, null);
    out.push(
      this.emit("response.created", { response: r }),
      this.emit("response.in_progress", { response: r }),
    );
  }

  private closeMessage(out: SseFrame[]): void {
    const m = this.message;
    if (m === null) return;
    this.message = null;
    const part = { type: "output_text", text: m.text, annotations: [], logprobs: [] };
    out.push(
      this.emit("response.output_text.done", {
        item_id: m.id,
        output_index: m.index,
        content_index: 0,
        text: m.text,
        logprobs: [],
      }),
      this.emit("response.content_part.done", {
        item_id: m.id,
        output_index: m.index,
        content_index: 0,
        part,
      }),
    );
    const item = messageItem(m.id, m.text, "completed");
    this.output[m.index] = item;
    out.push(this.emit("response.output_item.done", { output_index: m.index, item }));
  }

  private closeCalls(out: SseFrame[]): void {
    for (const c of this.calls.values()) {
      if (!c.open) continue;
      c.open = false;
      out.push(
        this.emit("response.function_call_arguments.done", {
          item_id: c.id,
          output_index: c.index,
          name: c.name,
          arguments: c.args,
        }),
      );
      const item = functionItem(c.id, c.callId, c.name, c.args, "completed");
      this.output[c.index] = item;
      out.push(this.emit("response.output_item.done", { output_index: c.index, item }));
    }
  }

  event(data: unknown): SseFrame[] {
    const out: SseFrame[] = [];
    if (data === "[DONE]") return out;
    const chunk = readChatChunk(data);
    if (chunk === null) return out;
    this.start(out);
    if (chunk.text !== "") {
      if (this.message === null) {
        this.closeCalls(out);
        const index = this.output.length;
        this.message = { id: `msg_${hexId(24)}`, index, text: "" };
        const item = messageItem(this.message.id, "", "in_progress");
        this.output.push(item);
        out.push(
          this.emit("response.output_item.added", { output_index: index, item }),
          this.emit("response.content_part.added", {
            item_id: this.message.id,
            output_index: index,
            content_index: 0,
            part: { type: "output_text", text: "", annotations: [], logprobs: [] },
          }),
        );
      }
      this.message.text += chunk.text;
      this.text += chunk.text;
      out.push(
        this.emit("response.output_text.delta", {
          item_id: this.message.id,
          output_index: this.message.index,
          content_index: 0,
          delta: chunk.text,
          logprobs: [],
        }),
      );
    }
    for (const d of chunk.toolCalls) {
      let c = this.calls.get(d.index);
      if (c === undefined) {
        this.closeMessage(out);
        const index = this.output.length;
        c = {
          id: `fc_${hexId(24)}`,
          callId: d.id ?? `call_${hexId(12)}`,
          name: d.name ?? "",
          args: "",
          index,
          open: true,
        };
        this.calls.set(d.index, c);
        const item = functionItem(c.id, c.callId, c.name, "", "in_progress");
        this.output.push(item);
        out.push(this.emit("response.output_item.added", { output_index: index, item }));
      }
      if (d.arguments !== "") {
        c.args += d.arguments;
        out.push(
          this.emit("response.function_call_arguments.delta", {
            item_id: c.id,
            output_index: c.index,
            delta: d.arguments,
          }),
        );
      }
    }
    if (chunk.finishReason !== null) this.finishReason = chunk.finishReason;
    if (chunk.usage !== null) this.usage = chunk.usage;
    return out;
  }

  end(): SseFrame[] {
    const out: SseFrame[] = [];
    this.start(out);
    this.closeMessage(out);
    this.closeCalls(out);
    const toolCalls = [...this.calls.values()].map((c) => ({
      id: c.callId,
      name: c.name,
      arguments: c.args,
    }));
    const response = this.ex.finish(this.output, {
      text: this.text,
      toolCalls,
      finishReason: this.finishReason,
      usage: this.usage,
    });
    const type = response.status === "incomplete" ? "response.incomplete" : "response.completed";
    out.push(this.emit(type, { response }));
    return out;
  }

  fail(err: InferplaneError): SseFrame[] {
    return [this.emit("error", { code: err.code, message: err.message, param: err.param })];
  }
}

/** The refused fields first, then the two every request needs. */
function checkRequired(b: Json): Json & { model: string } {
  for (const key of UNSUPPORTED)
    if (b[key] !== undefined && b[key] !== null && b[key] !== false)
      throw bad(key, `\`${key}\` is not supported by this gateway's Responses API.`);
  if (typeof b.model !== "string" || b.model === "")
    throw bad("model", "`model` must be a non-empty string.");
  if (b.input === undefined || b.input === null) throw bad("input", "`input` is required.");
  return b as Json & { model: string };
}

/** undefined: none asked for; null: asked for but not in this process's store. */
function previousOf(b: Json, store: ResponseStore): Stored | null | undefined {
  const id = b.previous_response_id;
  if (id === undefined || id === null) return undefined;
  return (typeof id === "string" && store.get(id)) || null;
}

/** The chat request a Responses request asks for (instructions first, then the conversation). */
function chatRequest(b: Json & { model: string }, history: ChatMessage[]): Json {
  if (b.instructions !== undefined && b.instructions !== null && typeof b.instructions !== "string")
    throw bad("instructions", "`instructions` must be a string.");
  const messages =
    typeof b.instructions === "string" ? [{ role: "system", content: b.instructions }, ...history] : history;
  const chat: Json = { model: b.model, messages };
  const tools = chatTools(b.tools);
  if (tools !== undefined && tools.length > 0) chat.tools = tools;
  const choice = chatToolChoice(b.tool_choice);
  if (choice !== undefined && chat.tools !== undefined) chat.tool_choice = choice;
  const rf = responseFormat(b.text);
  if (rf !== undefined) chat.response_format = rf;
  if (b.max_output_tokens !== undefined && b.max_output_tokens !== null)
    chat.max_tokens = b.max_output_tokens;
  for (const key of ["temperature", "top_p", "parallel_tool_calls", "user"] as const)
    if (b[key] !== undefined && b[key] !== null) chat[key] = b[key];
  if (b.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return chat;
}

/** A whole chat answer as Responses output items: the text, then each tool call. */
function outputItems(a: ChatAnswer): Json[] {
  const output: Json[] = [];
  if (a.text !== "") output.push(messageItem(`msg_${hexId(24)}`, a.text, "completed"));
  for (const c of a.toolCalls)
    output.push(functionItem(`fc_${hexId(24)}`, c.id, c.name, c.arguments, "completed"));
  return output;
}

export interface ResponsesDoorOptions {
  store?: ResponseStore;
}

/** The Responses door, with its own store (one per gateway process). */
export function responsesDoor(options: ResponsesDoorOptions = {}): FrontDoor & { store: ResponseStore } {
  const store = options.store ?? new ResponseStore();
  return {
    path: "/v1/responses",
    op: "chat",
    store,
    errorBody: (err) => err.toOpenAI(),
    translate(body: unknown): DoorTranslation {
      if (!isObject(body))
        throw new InferplaneError("invalid_json", "The request body must be a JSON object.");
      const b = checkRequired(body);
      // Whether the caller may continue it is known after admission (bind): until then a missing
      // response and another key's look alike, so that no one learns which ids exist.
      const prev = previousOf(b, store);
      const history = [...(prev?.messages ?? []), ...inputMessages(b.input)];
      if (history.length === 0) throw bad("input", "`input` must hold at least one message or item.");
      const chat = chatRequest(b, history);
      validateTranslated("chat", chat, PARAM_NAMES);
      const ex = new Exchange(b, b.model, history, store);
      return {
        op: "chat",
        body: chat,
        stream: chat.stream === true,
        bind(owner: string | undefined): void {
          if (prev === null || (prev !== undefined && prev.owner !== owner))
            throw bad(
              "previous_response_id",
              `Previous response with id '${String(b.previous_response_id)}' not found.`,
            );
          ex.owner = owner;
        },
        response(upstream: unknown): unknown {
          const answer = readChatAnswer(upstream);
          return ex.finish(outputItems(answer), answer);
        },
        streamTranslator: () => new ResponsesStream(ex),
      };
    },
  };
}

/**
 * A stored response by id (`GET /v1/responses/{id}`), or undefined: also when another key
 * created it (`owner`: the caller's key id; undefined without keys).
 */
export function retrieveResponse(store: ResponseStore, id: string, owner?: string): unknown {
  const e = store.get(id);
  return e !== undefined && e.owner === owner ? e.response : undefined;
}
