/**
 * How a local llama.cpp replica starts: llama.cpp's own HTTP server inside the xllamacpp wheel,
 * configured through its `CommonParams` (the fields of `llama-server`'s flags) by a short Python
 * launcher. The launcher prints `listening URL` once the model is loaded and the port is bound,
 * and stops the server on SIGTERM. Pure: the arguments are derived here, the process is spawned by
 * the runner.
 */
import type { ModelSpec } from "../../spec/schema.js";
import { type GgufSource, ggufSource } from "./source.js";

export interface LaunchConfig {
  model: GgufSource;
  host: string;
  /** 0: the server picks a free port and reports it. */
  port: number;
  /** Total context in tokens (`--ctx-size`), split evenly between the slots; 0 = the model's. */
  ctx: number;
  /** Parallel request slots (`--parallel`). */
  slots: number;
  /** Threads for generation and prompt processing (`--threads`, `--threads-batch`). */
  threads: number;
  /** Names the server answers to (`--alias`): the served model name and the pool name. */
  aliases: string[];
  /** `--embeddings`: serve /v1/embeddings (embedding models). */
  embeddings: boolean;
}

/** Slots when the spec gives none: two requests decode together, a third waits. */
export const DEFAULT_SLOTS = 2;

/** Whole CPU cores of a Kubernetes quantity ("1", "2", "500m"), at least 1. */
export function threadsOf(cpu: string): number {
  const milli = /^(\d+)m$/.exec(cpu);
  const cores = milli ? Number(milli[1]) / 1000 : Number(cpu);
  return Number.isFinite(cores) ? Math.max(1, Math.floor(cores)) : 1;
}

/** The launch of one replica of `m` (engine llamacpp). */
export function launchConfig(m: ModelSpec, servedName: string, host = "127.0.0.1", port = 0): LaunchConfig {
  const slots = m.slots ?? DEFAULT_SLOTS;
  return {
    model: ggufSource(m.source, `models.${m.name}.source`),
    host,
    port,
    // maxModelLen is per request; llama.cpp divides --ctx-size between its slots.
    ctx: m.maxModelLen !== undefined ? m.maxModelLen * slots : 0,
    slots,
    threads: threadsOf(m.resources.cpu),
    aliases: [...new Set([servedName, m.name])],
    embeddings: m.kind === "embedding",
  };
}

/**
 * The launcher, run as `python -c LAUNCHER CONFIG_JSON`. `model_alias` is a set: a plain string
 * would become one alias per character (xllamacpp 2026.10.11549).
 */
export const LAUNCHER = `
import importlib.util, json, os, signal, sys, threading
import xllamacpp as x
c = json.loads(sys.argv[1])
p = x.CommonParams()
m = c["model"]
if m["kind"] == "file":
    p.model.path = m["path"]
elif m["kind"] == "hf":
    p.model.hf_repo = m["repo"]
    p.model.hf_file = m["file"]
else:
    spec = importlib.util.find_spec(m["module"])
    if spec is None or spec.origin is None:
        sys.exit("package module %s is not installed" % m["module"])
    p.model.path = os.path.join(os.path.dirname(spec.origin), m["file"])
    if not os.path.isfile(p.model.path):
        sys.exit("%s has no file %s" % (m["module"], m["file"]))
p.hostnames = [c["host"]]
p.port = c["port"]
p.n_ctx = c["ctx"]
p.n_parallel = c["slots"]
p.cpuparams.n_threads = c["threads"]
p.cpuparams_batch.n_threads = c["threads"]
p.endpoint_metrics = True
p.model_alias = set(c["aliases"])
p.embedding = c["embeddings"]
server = x.Server(p)
print("listening " + server.listening_address, flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
del server
`;
