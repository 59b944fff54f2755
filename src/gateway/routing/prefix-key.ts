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
  if (kind === "completions") {
    let prompt = body.prompt;
    if (Array.isArray(prompt)) prompt = prompt[0];
    if (typeof prompt !== "string" || prompt.length === 0) return undefined;
    return prompt.length > maxChars ? prompt.slice(0, maxChars) : prompt;
  }
  const messages = body.messages;
  if (!Array.isArray(messages)) return undefined;
  let out = "";
  let text = false;
  for (let i = 0; i < messages.length && out.length < maxChars; i++) {
    const m: unknown = messages[i];
    if (!isObj(m)) continue;
    const role = m.role;
    out = append(out, typeof role === "string" ? role : "", maxChars);
    out = append(out, ":", maxChars);
    const content = m.content;
    if (typeof content === "string") {
      if (content.length > 0) text = true;
      out = append(out, content, maxChars);
    } else if (Array.isArray(content)) {
      for (let j = 0; j < content.length && out.length < maxChars; j++) {
        const part: unknown = content[j];
        if (!isObj(part) || typeof part.text !== "string") continue;
        if (part.type !== undefined && part.type !== "text") continue;
        if (part.text.length > 0) text = true;
        out = append(out, part.text, maxChars);
      }
    }
    out = append(out, "\n", maxChars);
  }
  return text ? out : undefined;
}

/** `out + s`, cut at `max`: only the part that fits is sliced off `s`. */
function append(out: string, s: string, max: number): string {
  const room = max - out.length;
  if (room <= 0) return out;
  return out + (s.length > room ? s.slice(0, room) : s);
}
