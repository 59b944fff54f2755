/**
 * Request bodies, strictly: valid UTF-8, bounded nesting, valid JSON — and when not, a message
 * that names the byte position (line and column) and never echoes the body (it may hold a
 * prompt, and error messages reach logs).
 */
import { isUtf8 } from "node:buffer";
import { InferplaneError } from "../../errors.js";

/** Deeper bodies are refused before parsing: relaying them would overflow JSON.stringify's stack. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

function lineCol(buf: Buffer, pos: number): string {
  let line = 1;
  let last = -1;
  for (let i = 0; i < pos && i < buf.length; i++) {
    if (buf[i] === 0x0a) {
      line++;
      last = i;
    }
  }
  return `line ${line}, column ${pos - last}`;
}

function invalid(buf: Buffer, pos: number, reason: string): InferplaneError {
  return new InferplaneError(
    "invalid_json",
    `the request body is not valid JSON: ${reason} at position ${pos} (${lineCol(buf, pos)})`,
  );
}

/** Position of the first byte that is not valid UTF-8 (only called once isUtf8 said no). */
function firstBadUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i] as number;
    const n =
      b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (n === 0 || i + n > buf.length || !isUtf8(buf.subarray(i, i + n))) return i;
    i += n;
  }
  return buf.length;
}

/** Nesting depth check on the raw bytes, strings skipped: O(n), no allocation. */
function checkDepth(buf: Buffer, max: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) throw invalid(buf, i, `nesting deeper than ${max} levels`);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
}

/** Finds the first syntax error (run only after JSON.parse failed, to name a position). */
export function locateJsonError(s: string): { pos: number; reason: string } {
  let i = 0;
  const ws = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === "\n" || s[i] === "\r")) i++;
  };
  const fail = (reason: string) => ({ pos: i, reason });
  const end = () => fail(i >= s.length ? "unexpected end of input" : "unexpected character");
  const stack: string[] = [];
  const value = (): { pos: number; reason: string } | undefined => {
    ws();
    const c = s[i];
    if (c === "{" || c === "[") {
      const closer = c === "{" ? "}" : "]";
      i++;
      ws();
      if (s[i] === closer)
        i++; // empty: a complete value
      else stack.push(closer);
      return undefined;
    }
    if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        const ch = s.charCodeAt(i);
        if (ch < 0x20) return fail("control character in a string");
        if (s[i] === "\\") {
          const e = s[i + 1];
          if (e === "u") {
            if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) return fail("bad \\u escape");
            i += 6;
            continue;
          }
          if (e === undefined || !'"\\/bfnrt'.includes(e)) return fail("bad escape");
          i += 2;
          continue;
        }
        i++;
      }
      if (i >= s.length) return fail("unterminated string");
      i++;
      return undefined;
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(s.slice(i, i + 400));
    if (!m) return end();
    i += m[0].length;
    return undefined;
  };
  // Iterative: after each value, expect `,`, a closer or the end.
  let expectValue = true;
  let expectKey = false;
  for (;;) {
    ws();
    const top = stack[stack.length - 1];
    if (expectKey) {
      if (s[i] !== '"') return fail(i >= s.length ? "unexpected end of input" : "expected a property name");
      const r = value();
      if (r) return r;
      ws();
      if (s[i] !== ":") return fail(i >= s.length ? "unexpected end of input" : "expected ':'");
      i++;
      expectKey = false;
      expectValue = true;
      continue;
    }
    if (expectValue) {
      const before = stack.length;
      const r = value();
      if (r) return r;
      if (stack.length > before) {
        expectKey = stack[stack.length - 1] === "}";
        expectValue = !expectKey;
        continue;
      }
      expectValue = false;
      continue;
    }
    if (top === undefined) {
      if (i < s.length) return fail("unexpected data after the JSON value");
      return fail("invalid JSON");
    }
    if (s[i] === ",") {
      i++;
      if (top === "}") expectKey = true;
      else expectValue = true;
      continue;
    }
    if (s[i] === top) {
      stack.pop();
      i++;
      continue;
    }
    return fail(i >= s.length ? "unexpected end of input" : `expected ',' or '${top}'`);
  }
}

/** Parses a request body: UTF-8, depth and syntax checked, errors name the position. */
export function parseJsonBody(buf: Buffer, maxDepth = MAX_JSON_DEPTH): unknown {
  if (!isUtf8(buf)) throw invalid(buf, firstBadUtf8(buf), "invalid UTF-8");
  checkDepth(buf, maxDepth);
  const text = buf.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    const { pos, reason } = locateJsonError(text);
    // pos counts UTF-16 units; report bytes, as a client's offset into what it sent
    throw invalid(buf, Buffer.byteLength(text.slice(0, pos)), reason);
  }
}
