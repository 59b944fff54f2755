import { manageLifecycle } from "../gateway/lifecycle.js";
import { startGateway } from "../gateway/server.js";
import { loadSpec, resolveSpecFile } from "../spec/load.js";
import { createLogger, logFn } from "../telemetry/logger.js";
import type { CliIO } from "./io.js";

export interface ServeOptions {
  config?: string;
  env?: string;
  host?: string;
  port?: string;
  drainDelay?: string;
}

/** Runs the gateway until SIGTERM/SIGINT; resolves to the exit code after draining. */
export async function serveCommand(opts: ServeOptions, io: CliIO): Promise<number> {
  const file = resolveSpecFile(opts.config);
  const { platform } = loadSpec({ file, ...(opts.env ? { env: opts.env } : {}) });
  // One pino logger (spec observability.logging) for operational lines and the access log.
  const { level, format } = platform.observability.logging;
  const logger = createLogger({ level, format, component: "gateway" });
  const log = logFn(logger);
  const gw = await startGateway(platform, {
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.port ? { port: Number(opts.port) } : {}),
    drainDelayMs: Number(opts.drainDelay ?? 0),
    logger,
  });
  io.out(`inferplane gateway listening on ${gw.url} (${platform.routes.length} routes, spec ${file})`);
  return new Promise((resolve) => {
    manageLifecycle(gw, { file, ...(opts.env ? { env: opts.env } : {}), log, onExit: resolve });
  });
}
