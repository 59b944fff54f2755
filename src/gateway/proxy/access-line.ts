/**
 * The access log's one line per request, written straight to the logger's destination: the same
 * JSON line pino would write (`level`, `time`, the logger's bindings, the fields, `msg`), without
 * pino's per-line work — its redaction pass and serializer walk (the line holds ids, names,
 * numbers and URLs, never a header or a body) and a fresh ISO time string per line (formatted
 * once per millisecond here). That was ~8% of the gateway's CPU per proxied request in the
 * closed-loop profile of bench/gateway-overhead.ts.
 */
import pino from "pino";
import type { Logger } from "../../telemetry/logger.js";

interface Writer {
  write(line: string): unknown;
}

interface Target {
  dest: Writer;
  /** `,"component":"gateway"` — the logger's bindings as JSON members. */
  bindings: string;
}

const targets = new WeakMap<Logger, Target | null>();

function targetOf(logger: Logger): Target | null {
  let t = targets.get(logger);
  if (t === undefined) {
    const dest = (logger as unknown as Record<symbol, Writer | undefined>)[pino.symbols.streamSym];
    const b = JSON.stringify(logger.bindings());
    t =
      dest && typeof dest.write === "function"
        ? { dest, bindings: b === "{}" ? "" : `,${b.slice(1, -1)}` }
        : null;
    targets.set(logger, t);
  }
  return t;
}

let timeMs = -1;
let timeIso = "";

function isoNow(): string {
  const now = Date.now();
  if (now !== timeMs) {
    timeMs = now;
    timeIso = new Date(now).toISOString();
  }
  return timeIso;
}

/** Logs `fields` at info with message `msg` (through pino itself when its destination is not reachable). */
export function writeAccessLine(logger: Logger, fields: Record<string, unknown>, msg: string): void {
  if (!logger.isLevelEnabled("info")) return;
  const t = targetOf(logger);
  if (t === null) {
    logger.info(fields, msg);
    return;
  }
  const body = JSON.stringify(fields);
  const members = body === "{}" ? "" : `,${body.slice(1, -1)}`;
  t.dest.write(`{"level":"info","time":"${isoNow()}"${t.bindings}${members},"msg":${JSON.stringify(msg)}}\n`);
}
