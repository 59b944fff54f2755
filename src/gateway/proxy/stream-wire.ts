/**
 * Where a relayed stream's frames go. The first write goes through the ServerResponse (it sends
 * the status line and headers with it); after that, relayed bytes go to the socket itself,
 * framed here as HTTP chunks: one string and one write per call (the upstream client hands over
 * whatever one read brought in one call), instead of ServerResponse's cork, next-tick uncork
 * and three-buffer writev per chunk — the bulk of a relayed token's CPU in
 * bench/gateway-overhead-stream.ts. The end
 * (last bytes, a closing frame, the zero-length chunk) goes through the ServerResponse again,
 * which writes to the same socket after everything before it.
 */
import type { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

export class StreamWire {
  private socket: Socket | null = null;
  private chunked = false;

  /** @param encoding latin1: relayed bytes held one char per byte; utf8: text (a door's frames). */
  constructor(
    private readonly res: ServerResponse,
    private readonly encoding: "latin1" | "utf8",
  ) {}

  /** false: wait for drainTarget()'s `drain`. */
  write(text: string): boolean {
    if (text === "") return true;
    const socket = this.socket;
    if (socket === null) {
      const res = this.res;
      const ok = res.write(text, this.encoding);
      // Only bytes have a length that is their chunk size; a door's text keeps ServerResponse.
      if (this.encoding === "latin1" && res.socket !== null && !res.destroyed) {
        this.socket = res.socket;
        this.chunked = res.chunkedEncoding;
      }
      return ok;
    }
    if (socket.destroyed) return true; // the client went away: the exchange's cancel ends the relay
    return socket.write(this.chunked ? `${text.length.toString(16)}\r\n${text}\r\n` : text, "latin1");
  }

  /** Ends the response with the rest of the relayed bytes, then a text frame (an error event, a door's end). */
  end(rest: string, frame: string): void {
    const res = this.res;
    if (rest !== "") res.write(rest, this.encoding);
    res.end(frame);
  }

  /** What emits `drain` once a refused write has gone out. */
  drainTarget(): EventEmitter {
    return this.socket ?? this.res;
  }
}
