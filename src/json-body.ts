/**
 * Request bodies, strictly: valid UTF-8, bounded nesting, valid JSON — and when not, a message
 * that names the byte position (line and column) and never echoes the body (it may hold a
 * prompt, and error messages reach logs).
 */
import { isUtf8 } from "node:buffer";
import { InferplaneError } from "./errors.js";

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

/** Where JSON text breaks, and how. */
export interface JsonErrorAt {
  pos: number;
  reason: string;
}

/** What the scan expects next: a property name, a value, or `,` / a closer / the end. */
type Expect = "key" | "value" | "next";

const SCALAR = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/;

/** A cursor over JSON text that stops at the first syntax error; iterative, so depth costs no stack. */
class JsonScan {
  private i = 0;
  private readonly stack: string[] = [];
  constructor(private readonly s: string) {}

  /** One step of the grammar from `expect`: what to expect next, or the error. */
  step(expect: Expect): Expect | JsonErrorAt {
    this.ws();
    if (expect === "key") return this.key();
    if (expect === "value") return this.valueThen();
    return this.next();
  }

  private ws(): void {
    const s = this.s;
    while (
      this.i < s.length &&
      (s[this.i] === " " || s[this.i] === "\t" || s[this.i] === "\n" || s[this.i] === "\r")
    )
      this.i++;
  }

  private fail(reason: string): JsonErrorAt {
    return { pos: this.i, reason };
  }

  /** `reason`, or "unexpected end of input" when the text ran out. */
  private failOrEnd(reason: string): JsonErrorAt {
    return this.fail(this.i >= this.s.length ? "unexpected end of input" : reason);
  }

  private key(): Expect | JsonErrorAt {
    if (this.s[this.i] !== '"') return this.failOrEnd("expected a property name");
    const r = this.value();
    if (r) return r;
    this.ws();
    if (this.s[this.i] !== ":") return this.failOrEnd("expected ':'");
    this.i++;
    return "value";
  }

  private valueThen(): Expect | JsonErrorAt {
    const before = this.stack.length;
    const r = this.value();
    if (r) return r;
    if (this.stack.length > before) return this.stack[this.stack.length - 1] === "}" ? "key" : "value";
    return "next";
  }

  /** After a value: `,`, the closer of the open container, or the end of the text. */
  private next(): Expect | JsonErrorAt {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined)
      return this.fail(this.i < this.s.length ? "unexpected data after the JSON value" : "invalid JSON");
    if (this.s[this.i] === ",") {
      this.i++;
      return top === "}" ? "key" : "value";
    }
    if (this.s[this.i] !== top) return this.failOrEnd(`expected ',' or '${top}'`);
    this.stack.pop();
    this.i++;
    return "next";
  }

  /** A value; a container only opens (its contents are later steps). */
  private value(): JsonErrorAt | undefined {
    this.ws();
    const c = this.s[this.i];
    if (c === "{" || c === "[") {
      const closer = c === "{" ? "}" : "]";
      this.i++;
      this.ws();
      if (this.s[this.i] === closer)
        this.i++; // empty: a complete value
      else this.stack.push(closer);
      return undefined;
    }
    if (c === '"') return this.string();
    const m = SCALAR.exec(this.s.slice(this.i, this.i + 400));
    if (!m) return this.failOrEnd("unexpected character");
    this.i += m[0].length;
    return undefined;
  }

  private string(): JsonErrorAt | undefined {
    this.i++;
    while (this.i < this.s.length && this.s[this.i] !== '"') {
      const bad = this.stringChar();
      if (bad) return bad;
    }
    if (this.i >= this.s.length) return this.fail("unterminated string");
    this.i++;
    return undefined;
  }

  /** One character or escape of a string. */
  private stringChar(): JsonErrorAt | undefined {
    const s = this.s;
    const i = this.i;
    if (s.charCodeAt(i) < 0x20) return this.fail("control character in a string");
    if (s[i] !== "\\") {
      this.i++;
      return undefined;
    }
    const e = s[i + 1];
    if (e === "u") {
      if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) return this.fail("bad \\u escape");
      this.i += 6;
      return undefined;
    }
    if (e === undefined || !'"\\/bfnrt'.includes(e)) return this.fail("bad escape");
    this.i += 2;
    return undefined;
  }
}

/** Finds the first syntax error (run only after JSON.parse failed, to name a position). */
export function locateJsonError(s: string): JsonErrorAt {
  const scan = new JsonScan(s);
  let expect: Expect = "value";
  for (;;) {
    const r = scan.step(expect);
    if (typeof r !== "string") return r;
    expect = r;
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
