/**
 * Structured logs (pino, one JSON object per line) for every Inferplane server. Secrets and user
 * text are redacted by path before a line is written: the list (authorization headers, API keys,
 * prompt and document text) lives in `./redaction.ts`.
 * Callers still never pass request bodies; redaction is the second fence, not the first.
 */
import { Writable } from "node:stream";
import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import type { ObservabilitySpec } from "../spec/schema.js";
import { REDACTED_CENSOR, redactPaths } from "./redaction.js";

export { REDACTED_KEYS } from "./redaction.js";
export type { Logger };

const REDACT_PATHS = redactPaths();

export interface LoggerSettings {
  level?: ObservabilitySpec["logging"]["level"];
  format?: ObservabilitySpec["logging"]["format"];
  /** `component` field on every line: gateway, rag, sim. */
  component?: string;
  /** Where lines go (default: stderr, asynchronously flushed by pino). */
  destination?: DestinationStream;
}

/** pino with Inferplane's redaction, ISO timestamps and level names instead of numbers. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? "info",
    base: settings.component ? { component: settings.component } : null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: REDACTED_CENSOR },
  };
  const destination =
    settings.destination ?? (settings.format === "pretty" ? prettyStream(process.stderr) : bufferedStderr());
  return pino(options, destination);
}

/** How long a buffered line may wait for its write. */
const FLUSH_INTERVAL_MS = 200;

/**
 * stderr, written in blocks of 8 KiB instead of one write per line: with an access line per
 * request, one write each cost ~35 µs of gateway CPU per request (CPU profile, `inferplane serve`
 * under wrk). A timer flushes what a quiet server has buffered; pino flushes the rest at exit.
 */
function bufferedStderr(): DestinationStream {
  const dest = pino.destination({ fd: 2, sync: false, minLength: 8192 });
  setInterval(() => {
    // flush() throws while the stream is still opening or already destroyed: nothing to do then.
    try {
      dest.flush();
    } catch {}
  }, FLUSH_INTERVAL_MS).unref();
  return dest;
}

/** `time LEVEL msg key=value …` for a terminal; the JSON line is the source of truth. */
export function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line === "") continue;
        try {
          const { time, level, msg, component, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const fields = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
            .join(" ");
          const t = typeof time === "string" ? time.slice(11, 23) : "";
          out.write(
            `${t} ${String(level).toUpperCase().padEnd(5)} ${component ? `[${component}] ` : ""}${msg ?? ""}${fields ? ` ${fields}` : ""}\n`,
          );
        } catch {
          out.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

/** The `(level, msg, fields)` callback the servers' lifecycles take, writing to a logger. */
export type LogFn = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
export function logFn(logger: Logger): LogFn {
  return (level, msg, fields) => {
    if (fields) logger[level](fields, msg);
    else logger[level](msg);
  };
}
