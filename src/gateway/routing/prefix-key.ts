/**
 * The prefix key of a request, for `prefix-affinity`: the start of what the engine will see
 * first (system prompt, then the first turns), so that requests sharing a cached KV prefix
 * hash alike. Reads the body as sent, never throws: anything malformed gives `undefined`
 * (the balancer then falls back to least-request).
 */

/** Characters kept at most; the balancer hashes fewer (KubeAI: 100). */
export const PREFIX_KEY_MAX_CHARS = 2_000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * chat: each message's role and content in order (`role:content\n`; string content, or the
 * text parts of array content), cut at `maxChars`; completions: the prompt (a string, or the
 * first string of a string array). `undefined` when there is no text.
 */
export function prefixKey(
  body: unknown,
  kind: "chat" | "completions",
  maxChars: number = PREFIX_KEY_MAX_CHARS,
): string | undefined {
  if (!isObj(body) || maxChars <= 0) return undefined;
  return kind === "completions" ? completionsKey(body, maxChars) : chatKey(body, maxChars);
}

function completionsKey(body: Obj, maxChars: number): string | undefined {
  let prompt = body.prompt;
  if (Array.isArray(prompt)) prompt = prompt[0];
  if (typeof prompt !== "string" || prompt.length === 0) return undefined;
  return prompt.length > maxChars ? prompt.slice(0, maxChars) : prompt;
}

function chatKey(body: Obj, maxChars: number): string | undefined {
  const messages = body.messages;
  if (!Array.isArray(messages)) return undefined;
  const key = new KeyText(maxChars);
  for (let i = 0; i < messages.length && !key.full; i++) {
    const m: unknown = messages[i];
    if (!isObj(m)) continue;
    const role = m.role;
    key.add(typeof role === "string" ? role : "");
    key.add(":");
    addContent(key, m.content);
    key.add("\n");
  }
  return key.text ? key.out : undefined;
}

/** A message's content: a string, or the text parts of an array (other parts skipped). */
function addContent(key: KeyText, content: unknown): void {
  if (typeof content === "string") {
    key.add(content, true);
    return;
  }
  if (!Array.isArray(content)) return;
  for (let j = 0; j < content.length && !key.full; j++) {
    const part: unknown = content[j];
    if (!isObj(part) || typeof part.text !== "string") continue;
    if (part.type !== undefined && part.type !== "text") continue;
    key.add(part.text, true);
  }
}

/** The key as it is built, cut at `max`; `text` once any message text (not only roles) went in. */
class KeyText {
  out = "";
  text = false;
  constructor(readonly max: number) {}

  get full(): boolean {
    return this.out.length >= this.max;
  }

  /** Appends `s`, only the part that fits. */
  add(s: string, isText = false): void {
    if (isText && s.length > 0) this.text = true;
    const room = this.max - this.out.length;
    if (room <= 0) return;
    this.out += s.length > room ? s.slice(0, room) : s;
  }
}
