// The suite's log convention: every gateway (or other server) a test starts writes its log
// lines under one directory — $INFERPLANE_TEST_LOG_DIR, default .cache/test-logs/ — one file
// per process or test, so the log-scan test can read everything the suite wrote and prove no
// key, authorization header or prompt text reached a log.
import { appendFileSync, createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { createLogger, type Logger } from "../../../src/telemetry/logger.js";
import { REPO_ROOT } from "../../services/harness.js";

export function testLogDir(): string {
  const dir = process.env.INFERPLANE_TEST_LOG_DIR ?? join(REPO_ROOT, ".cache", "test-logs");
  mkdirSync(dir, { recursive: true });
  return dir;
}

function fileName(name: string): string {
  return join(testLogDir(), `${name.replace(/[^A-Za-z0-9._-]/g, "_")}-${process.pid}-${Date.now()}.log`);
}

/** A gateway `log` option that appends JSON lines to a file in the log directory. */
export function fileLog(name: string) {
  const file = fileName(name);
  return (level: string, msg: string, fields: Record<string, unknown> = {}) => {
    appendFileSync(file, `${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
  };
}

/** A pino logger (Inferplane's, with its redaction) writing to a file in the log directory. */
export function fileLogger(name: string): Logger {
  return createLogger({
    component: "gateway",
    destination: pino.destination({ dest: fileName(name), sync: true }),
  });
}

/** A stream for a child process' stdout/stderr. */
export function logStream(name: string): WriteStream {
  return createWriteStream(fileName(name), { flags: "a" });
}

/** Markers the tests put into every prompt and admin token; the scan looks for them. */
export const PROMPT_CANARY = "zebra-canary-prompt-41d7";
export const ADMIN_TOKEN = "adm-canary-token-9c2e51b0aa";
