import { manageLifecycle } from "../gateway/lifecycle.js";
import { startGateway } from "../gateway/server.js";
import { loadSpec, resolveSpecFile } from "../spec/load.js";
import type { CliIO } from "./io.js";

export interface ServeOptions {
  config?: string;
  env?: string;
  host?: string;
  port?: string;
  drainDelay?: string;
}

function log(level: string, msg: string, fields: Record<string, unknown> = {}) {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

/** Runs the gateway until SIGTERM/SIGINT; resolves to the exit code after draining. */
export async function serveCommand(opts: ServeOptions, io: CliIO): Promise<number> {
  const file = resolveSpecFile(opts.config);
  const { platform } = loadSpec({ file, ...(opts.env ? { env: opts.env } : {}) });
  const gw = await startGateway(platform, {
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.port ? { port: Number(opts.port) } : {}),
    drainDelayMs: Number(opts.drainDelay ?? 0),
    log,
  });
  io.out(`inferplane gateway listening on ${gw.url} (${platform.routes.length} routes, spec ${file})`);
  return new Promise((resolve) => {
    manageLifecycle(gw, { file, ...(opts.env ? { env: opts.env } : {}), log, onExit: resolve });
  });
}
