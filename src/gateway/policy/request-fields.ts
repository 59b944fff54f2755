/**
 * Type checks on the request fields the gateway itself reads (`model`, `messages`, `prompt`,
 * `input`, `stream`, `max_tokens`, …): a wrong type is a 400 naming the parameter, before any
 * routing, limit or upstream work. Everything else passes through untouched.
 */
import { InferplaneError } from "../../errors.js";

export type Op = "chat" | "completions" | "embeddings" | "rerank";

const bad = (param: string, message: string) => new InferplaneError("invalid_request", message, { param });

function describe(v: unknown): string {
  return v === undefined ? "nothing" : v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
}

function optionalPositiveInt(body: Record<string, unknown>, name: string): InferplaneError | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    return bad(name, `\`${name}\` must be an integer ≥ 1, got ${typeof v === "number" ? v : describe(v)}`);
  }
  return undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Absent (undefined or null) or of the given `typeof`. */
function absentOr(v: unknown, type: "boolean" | "string"): boolean {
  return v === undefined || v === null || typeof v === type;
}

/** The fields every operation shares: model, stream, stream_options, token limits, user. */
function checkCommonFields(b: Record<string, unknown>): InferplaneError | undefined {
  if (typeof b.model !== "string" || b.model === "") {
    return bad(
      "model",
      b.model === undefined
        ? "`model` is required"
        : `\`model\` must be a non-empty string, got ${describe(b.model)}`,
    );
  }
  if (!absentOr(b.stream, "boolean")) {
    return bad("stream", `\`stream\` must be a boolean, got ${describe(b.stream)}`);
  }
  const so = b.stream_options;
  if (so !== undefined && so !== null && !isPlainObject(so)) {
    return bad("stream_options", `\`stream_options\` must be an object, got ${describe(so)}`);
  }
  const limit = optionalPositiveInt(b, "max_tokens") ?? optionalPositiveInt(b, "max_completion_tokens");
  if (limit) return limit;
  if (!absentOr(b.user, "string")) {
    return bad("user", `\`user\` must be a string, got ${describe(b.user)}`);
  }
  return undefined;
}

/** One chat message: an object with a string role and string-or-parts content. */
function checkChatMessage(i: number, msg: unknown): InferplaneError | undefined {
  if (!isPlainObject(msg)) {
    return bad(`messages[${i}]`, `\`messages[${i}]\` must be an object, got ${describe(msg)}`);
  }
  const { role, content } = msg as { role?: unknown; content?: unknown };
  if (typeof role !== "string") {
    return bad(`messages[${i}].role`, `\`messages[${i}].role\` must be a string, got ${describe(role)}`);
  }
  if (!absentOr(content, "string") && !Array.isArray(content)) {
    return bad(
      `messages[${i}].content`,
      `\`messages[${i}].content\` must be a string or an array of parts, got ${describe(content)}`,
    );
  }
  return undefined;
}

function checkChat(b: Record<string, unknown>): InferplaneError | undefined {
  const m = b.messages;
  if (!Array.isArray(m)) {
    return bad(
      "messages",
      m === undefined ? "`messages` is required" : `\`messages\` must be an array, got ${describe(m)}`,
    );
  }
  for (let i = 0; i < m.length; i++) {
    const problem = checkChatMessage(i, m[i] as unknown);
    if (problem) return problem;
  }
  return undefined;
}

function checkCompletions(b: Record<string, unknown>): InferplaneError | undefined {
  const p = b.prompt;
  if (typeof p !== "string" && !Array.isArray(p)) {
    return bad(
      "prompt",
      p === undefined
        ? "`prompt` is required"
        : `\`prompt\` must be a string or an array, got ${describe(p)}`,
    );
  }
  return undefined;
}

function checkEmbeddings(b: Record<string, unknown>): InferplaneError | undefined {
  const input = b.input;
  const ok =
    typeof input === "string" ||
    (Array.isArray(input) &&
      input.length > 0 &&
      input.every((x) => typeof x === "string" || typeof x === "number" || Array.isArray(x)));
  if (!ok) {
    return bad(
      "input",
      input === undefined
        ? "`input` is required"
        : "`input` must be a string, an array of strings or an array of token arrays",
    );
  }
  return undefined;
}

function checkRerank(b: Record<string, unknown>): InferplaneError | undefined {
  if (typeof b.query !== "string")
    return bad("query", `\`query\` must be a string, got ${describe(b.query)}`);
  if (!Array.isArray(b.documents)) {
    return bad("documents", `\`documents\` must be an array, got ${describe(b.documents)}`);
  }
  return undefined;
}

/** The fields only one operation reads, checked after the common ones. */
const OP_FIELDS: Record<Op, (b: Record<string, unknown>) => InferplaneError | undefined> = {
  chat: checkChat,
  completions: checkCompletions,
  embeddings: checkEmbeddings,
  rerank: checkRerank,
};

/** The first problem with the fields the gateway reads, or undefined. */
export function checkRequestFields(op: Op, body: unknown): InferplaneError | undefined {
  if (!isPlainObject(body)) {
    return new InferplaneError(
      "invalid_json",
      `the request body must be a JSON object, got ${describe(body)}`,
    );
  }
  return checkCommonFields(body) ?? OP_FIELDS[op]?.(body);
}

/** Characters of prompt text in a request (chat messages, prompt, input, rerank documents). */
export function promptChars(op: Op, body: Record<string, unknown>): number {
  let n = 0;
  const add = (v: unknown) => {
    if (typeof v === "string") n += v.length;
    else if (Array.isArray(v)) {
      for (const x of v) {
        if (typeof x === "string") n += x.length;
        else if (typeof x === "number")
          n += 4; // a token id
        else if (Array.isArray(x)) n += 4 * x.length;
        else if (typeof x === "object" && x !== null && typeof (x as { text?: unknown }).text === "string") {
          n += ((x as { text: string }).text as string).length;
        }
      }
    }
  };
  if (op === "chat" && Array.isArray(body.messages)) {
    for (const m of body.messages) {
      if (typeof m === "object" && m !== null) add((m as { content?: unknown }).content);
    }
  } else if (op === "completions") add(body.prompt);
  else if (op === "embeddings") add(body.input);
  else if (op === "rerank") {
    add(body.query);
    add(body.documents);
  }
  return n;
}
