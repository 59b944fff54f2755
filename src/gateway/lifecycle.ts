/**
 * Process lifecycle around a running gateway: SIGTERM/SIGINT drain and exit 0; SIGHUP or a
 * changed spec file reloads it; an invalid new spec is rejected with a log line and the old one
 * stays.
 */
import { type FSWatcher, watch } from "node:fs";
import { formatProblem, isInferplaneError } from "../errors.js";
import { loadSpec } from "../spec/load.js";
import type { GatewayHandle } from "./server.js";

export interface LifecycleOptions {
  file: string;
  env?: string;
  log: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  /** Called once the gateway has drained (the CLI exits there). */
  onExit: (code: number) => void;
}

export function manageLifecycle(gw: GatewayHandle, o: LifecycleOptions): () => void {
  const reload = (why: string) => {
    try {
      const { platform } = loadSpec({ file: o.file, ...(o.env ? { env: o.env } : {}) });
      gw.reload(platform);
      o.log("info", "reloaded spec", { why, file: o.file });
    } catch (err) {
      const problems = isInferplaneError(err) ? err.problems.map((p) => formatProblem(p, o.file)) : [];
      const error = err instanceof Error ? err.message : String(err);
      o.log("error", "rejected the new spec; keeping the running one", {
        why,
        file: o.file,
        error,
        problems,
      });
      gw.reloadRejected([error, ...problems].join("\n")); // the console shows it (same text as the log)
    }
  };
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(o.file, () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => reload("file changed"), 200);
    });
  } catch {
    o.log("warn", "cannot watch the spec file; reload with SIGHUP", { file: o.file });
  }
  const onHup = () => reload("SIGHUP");
  let stopping = false;
  const onTerm = (signal: string) => {
    if (stopping) return;
    stopping = true;
    o.log("info", "draining", { signal });
    gw.drain().then(
      () => {
        cleanup();
        o.onExit(0);
      },
      (err: unknown) => {
        cleanup();
        o.log("error", "drain failed", { error: String(err) });
        o.onExit(1);
      },
    );
  };
  const onSigterm = () => onTerm("SIGTERM");
  const onSigint = () => onTerm("SIGINT");
  process.on("SIGHUP", onHup);
  process.on("SIGTERM", onSigterm);
  process.on("SIGINT", onSigint);
  function cleanup() {
    clearTimeout(debounce);
    watcher?.close();
    process.off("SIGHUP", onHup);
    process.off("SIGTERM", onSigterm);
    process.off("SIGINT", onSigint);
  }
  return cleanup;
}
