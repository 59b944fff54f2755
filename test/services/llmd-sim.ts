// llm-d-inference-sim (a vLLM simulator, go-installed into .cache/bin by install.sh).
// Always --force-dummy-tokenizer: otherwise it fetches a tokenizer from a model hub (unreachable in CI).
// NB: v0.10.2 has no bind-address flag and listens on all interfaces; we only ever talk to 127.0.0.1.
import { ensureBinary, freePort, HOST, httpOk, makeDataDir, type Service, spawnService } from "./harness.js";

export interface LlmdSimOptions {
  /** Served model name (default "inferplane/test-model"). */
  model?: string;
  /** echo: reply with the last user message; random: canned sentences (default echo: deterministic). */
  mode?: "echo" | "random";
  /** Go durations, e.g. "10ms". */
  timeToFirstToken?: string;
  interTokenLatency?: string;
  maxNumSeqs?: number;
  /** Any other simulator flags (see `llm-d-inference-sim --help`). */
  extraArgs?: readonly string[];
  readyTimeoutMs?: number;
}

export interface LlmdSimService extends Service {
  readonly port: number;
  /** http://127.0.0.1:PORT (OpenAI-compatible API under /v1, Prometheus text at /metrics). */
  readonly url: string;
  readonly model: string;
}

export async function startLlmdSim(opts: LlmdSimOptions = {}): Promise<LlmdSimService> {
  const bin = await ensureBinary("llm-d-inference-sim", "llm-d-inference-sim");
  const [port, dataDir] = await Promise.all([freePort(), makeDataDir("llmd-sim")]);
  const model = opts.model ?? "inferplane/test-model";
  const args = [
    "--force-dummy-tokenizer",
    `--port=${port}`,
    `--model=${model}`,
    `--mode=${opts.mode ?? "echo"}`,
  ];
  if (opts.timeToFirstToken) args.push(`--time-to-first-token=${opts.timeToFirstToken}`);
  if (opts.interTokenLatency) args.push(`--inter-token-latency=${opts.interTokenLatency}`);
  if (opts.maxNumSeqs !== undefined) args.push(`--max-num-seqs=${opts.maxNumSeqs}`);
  args.push(...(opts.extraArgs ?? []));

  const url = `http://${HOST}:${port}`;
  const svc = await spawnService({
    name: "llm-d-inference-sim",
    cmd: bin,
    args,
    dataDir,
    ready: () => httpOk(`${url}/health`),
    readyTimeoutMs: opts.readyTimeoutMs,
  });
  return Object.assign(svc, { port, url, model });
}
