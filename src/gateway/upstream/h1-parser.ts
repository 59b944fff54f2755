/**
 * An HTTP/1.1 response parser over latin1-held bytes (one char per byte): the status line and
 * headers, then the body framed by chunked encoding, a content-length or the connection's end.
 * Linear in the bytes it reads, with limits: a head or trailers over 64 KiB, a chunk-size line
 * over 1 KiB or a malformed head throws `H1Error("H1_PARSE")`.
 */

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 1024;
/** Char code → hex digit value (undefined: not a digit). */
const HEX: (number | undefined)[] = [];
for (let d = 0; d < 16; d++) {
  const c = d.toString(16);
  HEX[c.charCodeAt(0)] = d;
  HEX[c.toUpperCase().charCodeAt(0)] = d;
}

/** Failures of the HTTP/1.1 client; `code` is what the retry layer classifies (proxy/failure.ts). */
export class H1Error extends Error {
  constructor(
    readonly code:
      | "H1_CONNECT_TIMEOUT"
      | "H1_HEADERS_TIMEOUT"
      | "H1_BODY_TIMEOUT"
      | "H1_CLOSED"
      | "H1_PARSE"
      | "H1_ABORTED",
    message: string,
  ) {
    super(message);
  }
}

export interface H1Head {
  statusCode: number;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  /** The connection may carry another request after this response. */
  keepAlive: boolean;
  /** The server's `Keep-Alive: timeout=N`, ms; undefined when it sent none. */
  keepAliveMs: number | undefined;
}

enum S {
  Head = 0,
  Size = 1,
  Data = 2,
  DataEnd = 3,
  Trailers = 4,
  Length = 5,
  Eof = 6,
  Done = 7,
}

export class ResponseParser {
  private state: S = S.Head;
  /** A partial head or line. */
  private buf = "";
  private remaining = 0;
  /** Body bytes of the current read. */
  private out = "";
  /** Bytes arrived after the response ended (the connection cannot be reused). */
  extra = false;

  constructor(private readonly onHead: (head: H1Head) => void) {}

  get done(): boolean {
    return this.state === S.Done;
  }

  /** The body runs until the connection ends. */
  get untilEof(): boolean {
    return this.state === S.Eof;
  }

  /** The connection ended: the end of a body framed by it. */
  eof(): void {
    if (this.state === S.Eof) this.state = S.Done;
  }

  /** Advances over one read; returns the body bytes in it. */
  feed(text: string): string {
    this.out = "";
    let i = 0;
    while (i < text.length && this.state !== S.Done) {
      if (this.state === S.Head) {
        text = this.head(text, i);
        i = 0;
      } else i = this.step(text, i);
    }
    if (i < text.length) this.extra = true;
    return this.out;
  }

  private step(text: string, i: number): number {
    switch (this.state) {
      case S.Size:
        return this.size(text, i);
      case S.Data:
      case S.Length:
        return this.data(text, i);
      case S.DataEnd:
        return this.dataEnd(text, i);
      case S.Trailers:
        return this.trailers(text, i);
      default:
        this.out += i === 0 ? text : text.slice(i);
        return text.length;
    }
  }

  /** Gathers the head; returns what follows it ("" while it is incomplete). */
  private head(text: string, i: number): string {
    this.buf += i === 0 ? text : text.slice(i);
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.buf.length > MAX_HEAD) throw new H1Error("H1_PARSE", "response head over 64 KiB");
      return "";
    }
    const rest = this.buf.slice(end + 4);
    const headText = this.buf.slice(0, end);
    this.buf = "";
    this.parseHead(headText);
    return rest;
  }

  /** A line ending at the next LF (kept partial in `buf`); undefined when it has not ended yet. */
  private line(text: string, i: number, max: number): { line: string; next: number } | undefined {
    const nl = text.indexOf("\n", i);
    if (nl < 0) {
      this.buf += text.slice(i);
      if (this.buf.length > max) throw new H1Error("H1_PARSE", `a line over ${max} bytes`);
      return undefined;
    }
    const line = this.buf + text.slice(i, nl);
    this.buf = "";
    return { line: line.endsWith("\r") ? line.slice(0, -1) : line, next: nl + 1 };
  }

  private size(text: string, i: number): number {
    // The usual case, a whole size line in this read, is read in place (a token per chunk).
    const nl = this.buf === "" ? text.indexOf("\n", i) : -1;
    let line = text;
    let from = i;
    let next = nl + 1;
    if (nl < 0) {
      const l = this.line(text, i, MAX_LINE);
      if (l === undefined) return text.length;
      line = l.line;
      from = 0;
      next = l.next;
    }
    let size = 0;
    let digits = 0;
    for (let k = from; digits <= 12; k++, digits++) {
      const v = HEX[line.charCodeAt(k)] ?? -1;
      if (v < 0) break;
      size = size * 16 + v;
    }
    if (digits === 0 || digits > 12) throw new H1Error("H1_PARSE", "malformed chunk size");
    this.remaining = size;
    this.state = size === 0 ? S.Trailers : S.Data;
    return next;
  }

  private data(text: string, i: number): number {
    const take = Math.min(this.remaining, text.length - i);
    this.out += take === text.length ? text : text.slice(i, i + take);
    this.remaining -= take;
    if (this.remaining === 0) this.state = this.state === S.Length ? S.Done : S.DataEnd;
    return i + take;
  }

  /** The CRLF after a chunk's data (possibly split across reads). */
  private dataEnd(text: string, i: number): number {
    const c = text.charCodeAt(i);
    if (c === 10) this.state = S.Size;
    else if (c !== 13) throw new H1Error("H1_PARSE", "missing CRLF after chunk data");
    return i + 1;
  }

  private trailers(text: string, i: number): number {
    const l = this.line(text, i, MAX_HEAD);
    if (l === undefined) return text.length;
    if (l.line === "") this.state = S.Done;
    return l.next;
  }

  /** The status line and headers; picks the body's framing. */
  private parseHead(text: string): void {
    const lines = text.split("\r\n");
    const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? "");
    if (!status) throw new H1Error("H1_PARSE", "malformed status line");
    const code = Number(status[2]);
    const headers: Record<string, string> = {};
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k] as string;
      const colon = line.indexOf(":");
      if (colon <= 0) throw new H1Error("H1_PARSE", "malformed header line");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    if (code < 200) return; // an interim answer (100 Continue): the real head follows
    this.state = this.framing(code, headers);
    const connection = (headers.connection ?? "").toLowerCase();
    const hint = /timeout=(\d+)/.exec(headers["keep-alive"] ?? "");
    this.onHead({
      statusCode: code,
      headers,
      keepAlive:
        this.state !== S.Eof &&
        (status[1] === "1" ? !connection.includes("close") : connection.includes("keep-alive")),
      keepAliveMs: hint ? Number(hint[1]) * 1000 : undefined,
    });
  }

  private framing(code: number, headers: Record<string, string>): S {
    if ((headers["transfer-encoding"] ?? "").toLowerCase().includes("chunked")) return S.Size;
    const cl = headers["content-length"];
    if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) throw new H1Error("H1_PARSE", "bad content-length");
      this.remaining = Number(cl);
      return this.remaining === 0 ? S.Done : S.Length;
    }
    if (code === 204 || code === 304) return S.Done;
    return S.Eof;
  }
}
