/**
 * Structured logs (pino, one JSON object per line) for every Inferplane server. Secrets and user
 * text are redacted by path before a line is written: authorization headers, API keys and
 * anything that carries prompt or document text (messages, prompt, input, query, documents).
 * Callers still never pass request bodies; redaction is the second fence, not the first.
 */
import { Writable } from "node:stream";
import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import type { ObservabilitySpec } from "../spec/schema.js";

export type { Logger };

/** Keys whose values never reach a log line, at the top level or one object deep. */
export const REDACTED_KEYS = [
  "authorization",
  "Authorization",
  "cookie",
  "apiKey",
  "api_key",
  "x-api-key",
  "password",
  "token",
  "secret",
  "messages",
  "prompt",
  "input",
  "query",
  "documents",
  "text",
  "content",
];

/** Objects under which those keys are looked for too (explicit paths: a leading `*` wildcard made every line 20× dearer). */
const REDACTED_PARENTS = [
  "headers",
  "req.headers",
  "request",
  "request.headers",
  "body",
  "req.body",
  "err",
  "error",
  "config",
];

const REDACT_PATHS = REDACTED_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const dotted = key.startsWith("[") ? key : `.${key}`;
  return [key, ...REDACTED_PARENTS.map((p) => `${p}${dotted}`)];
});

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
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
  };
  const destination =
    settings.destination ??
    (settings.format === "pretty" ? prettyStream(process.stderr) : pino.destination({ fd: 2, sync: false }));
  return pino(options, destination);
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
