/**
 * The CLI: commander turns flags into options and calls one small command module each
 * (loaded lazily). Only this layer decides exit codes: 0 ok, 1 internal failure, 2 bad input.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { DEFAULT_ENGINE } from "../catalog/engines.js";
import { SIM_ENGINES } from "../engines/simulated.js";
import { ERRORS, formatProblem, isInferplaneError } from "../errors.js";
import { type CliIO, processIO } from "./io.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** The CLI's commands. Over 120 lines: one declaration per command, each loading its module lazily. */
export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command("inferplane")
    .description("Run LLM inference in production on Kubernetes: one spec, one CLI.")
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command("validate")
    .description("Check a spec (and every environment overlay) and print a summary")
    .argument("[file]", "spec file (default: -c, $INFERPLANE_CONFIG, ./inferplane.yaml)")
    .option("-c, --config <file>", "spec file")
    .option("-e, --env <name>", "apply this environment's overrides before validating")
    .option("--json", "machine-readable report")
    .action(async (file: string | undefined, opts: { config?: string; env?: string; json?: boolean }) => {
      const { validateCommand } = await import("./validate.js");
      setExit(validateCommand(file, opts, io));
    });

  program
    .command("schema")
    .description("Print the spec's JSON Schema (draft 2020-12), for editors, or its Markdown reference")
    .option("--format <format>", "json or markdown", "json")
    .action(async (opts: { format?: string }) => {
      const { schemaCommand } = await import("./schema.js");
      setExit(schemaCommand(opts, io));
    });

  program
    .command("serve")
    .description("Run the OpenAI-compatible gateway for the spec's routes (SIGTERM drains, SIGHUP reloads)")
    .option("-c, --config <file>", "spec file (default: $INFERPLANE_CONFIG, ./inferplane.yaml)")
    .option("-e, --env <name>", "apply this environment's overrides")
    .option("--host <host>", "listen address (default: gateway.listen.host)")
    .option("-p, --port <port>", "listen port (default: gateway.listen.port)")
    .option("--drain-delay <ms>", "after SIGTERM, keep serving this long while /readyz fails", "0")
    .action(async (opts: import("./serve.js").ServeOptions) => {
      const { serveCommand } = await import("./serve.js");
      setExit(await serveCommand(opts, io));
    });

  program
    .command("up")
    .description("Start the local stack: simulated replicas for models without endpoints, and the gateway")
    .option("-c, --config <file>", "spec file (default: $INFERPLANE_CONFIG, ./inferplane.yaml)")
    .option("-e, --env <name>", "apply this environment's overrides")
    .option("--host <host>", "gateway listen address (default: gateway.listen.host)")
    .option("-p, --port <port>", "gateway port (default: gateway.listen.port)")
    .option("--speed <x>", "simulated replicas run their clock this many times faster", "1")
    .option("--json", "print the stack's URLs as JSON")
    .action(async (opts: import("./up.js").UpOptions) => {
      const { upCommand } = await import("./up.js");
      setExit(await upCommand(opts, io));
    });

  program
    .command("sim")
    .description("Simulate engine replicas (vLLM, TGI, Ollama, Triton) over HTTP in real time, no GPU needed")
    .requiredOption("-m, --model <id>", "catalog model id or Hugging Face repo id")
    .option("--engine <engine>", SIM_ENGINES.join(", "), DEFAULT_ENGINE)
    .option("--engine-version <version>", "engine version whose paths and metric names to serve")
    .option("--gpu <id>", "catalog GPU id", "H100-80GB")
    .option("--tp <n>", "tensor-parallel GPUs per replica")
    .option("--dtype <dtype>", "weight dtype: auto, bf16, fp16, fp32")
    .option("--quantization <method>", "awq, gptq, gptq-int4, gptq-int8, fp8, int8, gguf, bitsandbytes")
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("-p, --port <port>", "first replica's port (default: the engine's)")
    .option("--replicas <n>", "replicas on ports PORT..PORT+N-1", "1")
    .option("--speed <x>", "virtual seconds per real second", "1")
    .option("--served-model-name <name>", "model name requests must use (default: the HF repo id)")
    .option("--max-num-seqs <n>", "engine: sequences per batch")
    .option("--max-num-batched-tokens <n>", "engine: tokens per step")
    .option("--num-gpu-blocks <n>", "engine: KV-cache blocks (override the computed capacity)")
    .option("--max-model-len <n>", "engine: context length")
    .option("--block-size <n>", "engine: tokens per KV block")
    .option("--gpu-memory-utilization <f>", "engine: share of GPU memory vLLM may use")
    .option("--no-enable-prefix-caching", "engine: disable prefix caching")
    .option("--output-len-mean <n>", "mean reply length without ignore_eos, tokens", "128")
    .option("--output-len-sigma <s>", "log-normal shape of reply lengths (0 = fixed)", "0.5")
    .option("--embedding-dim <n>", "size of simulated embeddings")
    .option("--fail-rate <f>", "faults: share of requests answered with an error status")
    .option("--fail-codes <list>", "faults: statuses for --fail-rate", "429,500,503")
    .option("--cut-stream-rate <f>", "faults: share of streams cut mid-reply")
    .option("--hang-rate <f>", "faults: share of requests never answered")
    .option("--slow-ms <ms>", "faults: delay of an x-sim-fault: slow request")
    .option("--startup-delay <duration>", "health answers 503 for this long after start (5s, 500ms)")
    .option("--seed <n>", "seed of reply lengths, texts and faults", "1")
    .option(
      "--time-to-first-token <duration>",
      "constant-latency mode: first token after this long (100ms), any load",
    )
    .option(
      "--inter-token-latency <duration>",
      "constant-latency mode: each next token after this long (10ms)",
    )
    .option("--json", "print the replicas as JSON")
    .action(async (opts: import("./sim.js").SimCliOptions) => {
      const { simCommand } = await import("./sim.js");
      setExit(await simCommand(opts, io));
    });

  program
    .command("embed-serve")
    .description(
      "Serve an embedding model with the embedded engine (ONNX Runtime, CPU): /v1/embeddings, /metrics",
    )
    .option("-m, --model <id>", "catalog embedding model", "bge-small-en-v1.5")
    .option("--served-model-name <name>", "model name requests may use (the catalog id always works)")
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("-p, --port <port>", "port", "8080")
    .option("--cache-dir <dir>", "model files (default: $INFERPLANE_CACHE_DIR, ~/.cache/inferplane)")
    .option("--fetch", "install the pinned model files first when missing (at start-up, never per request)")
    .option("--threads <n>", "ONNX Runtime threads", "1")
    .option("--max-queue <n>", "texts waiting at most (429 beyond)", "1024")
    .option("--max-batch <n>", "texts per scheduling step", "32")
    .action(async (opts: import("./embed-serve.js").EmbedServeOptions) => {
      const { embedServeCommand } = await import("./embed-serve.js");
      setExit(await embedServeCommand(opts, io));
    });

  program
    .command("bench")
    .description(
      "Benchmark an OpenAI-compatible server: TTFT, inter-token latency, throughput, goodput, rate sweeps",
    )
    .option("--url <url>", "server base URL, e.g. http://127.0.0.1:8000")
    .option("-m, --model <name>", "served model name (default: the first /v1/models lists)")
    .option("--api <api>", "chat or completions", "chat")
    .option("--no-stream", "non-streaming requests (TTFT and ITL are then not measured)")
    .option("--ignore-eos", "send vLLM's ignore_eos so replies are exactly the output length")
    .option("--rate <r>", "open loop: requests (sessions) per second, or inf for all at once (default inf)")
    .option("--arrivals <kind>", "open-loop arrivals: poisson or uniform", "poisson")
    .option("--concurrency <n>", "closed loop: requests (sessions) in flight")
    .option("-n, --requests <n>", "measured requests (default 100 unless --duration)")
    .option("--duration <d>", "measure for this long instead (60s, 2m)")
    .option("--warmup <n|d>", "requests (10) or a duration (5s) sent first and not measured", "10")
    .option("--workload <kind>", "random, shared-prefix, sharegpt or jsonl", "random")
    .option("--input-tokens <len>", "prompt tokens: N, MIN-MAX or MEAN:SIGMA (log-normal)")
    .option("--output-tokens <len>", "output tokens (max_tokens): N, MIN-MAX or MEAN:SIGMA")
    .option("--prefixes <n>", "shared-prefix: distinct system prompts", "16")
    .option("--prefix-tokens <n>", "shared-prefix: tokens per system prompt", "1500")
    .option("--turns <len>", "shared-prefix: turns per session (N or MIN-MAX)", "1")
    .option("--think-time <d>", "shared-prefix: mean pause between turns (exponential)", "0")
    .option("--dataset <file>", "sharegpt: a ShareGPT JSON file; jsonl: one prompt per line")
    .option("--slo <list>", "goodput objectives, e.g. ttft=500ms,tpot=50ms (also itl, e2e)")
    .option("--seed <n>", "seed of the workload and the arrivals", "1")
    .option(
      "-H, --header <header>",
      "extra request header NAME: VALUE (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--api-key <key>", "sent as Authorization: Bearer KEY")
    .option("--extra-body <json>", "JSON fields merged into every request body")
    .option("--timeout <d>", "per-request timeout", "600s")
    .option("--json [file]", "write the report as JSON to FILE (or print it when no file is given)")
    .option("--records", "include every request's record in the --json file")
    .option("--md <file>", "write the report as Markdown")
    .option("--compare <url>", "send the same requests to a second server and report both side by side")
    .option(
      "--compare-model <name>",
      "model name at the --compare server (default: the same, or its /v1/models)",
    )
    .option("--sweep <list>", "run each rate (or concurrency with --concurrency) in turn: 1,2,4,8,16,inf")
    .option("--chart <file>", "SVG latency–throughput chart of a sweep", "bench-sweep.svg")
    .option("--self-test", "measure this client's own overhead against a zero-latency simulator")
    .action(async (opts: import("./bench.js").BenchCliOptions) => {
      const { benchCommand } = await import("./bench.js");
      setExit(await benchCommand(opts, io));
    });

  const keys = program.command("keys").description("API keys of the gateway: create, list, revoke, rotate");
  const specOpts = (c: Command) =>
    c
      .option("-c, --config <file>", "spec file (default: $INFERPLANE_CONFIG, ./inferplane.yaml)")
      .option("-e, --env <name>", "apply this environment's overrides")
      .option("--json", "machine-readable output");
  specOpts(
    keys
      .command("create")
      .description("Create a key and print it once (only its salted hash is stored)")
      .requiredOption("--name <name>", "team or application")
      .option("--models <globs>", "route names the key may use, comma-separated (default *)")
      .option("--collections <globs>", "RAG collections the key may use (default *)")
      .option("--paths <globs>", "request paths the key may call (default *)")
      .option("--rpm <n>", "requests per minute")
      .option("--tpm <n>", "tokens per minute")
      .option("--budget-tokens <n>", "tokens per calendar month, e.g. 50M/month")
      .option(
        "--spec-entry",
        "store nothing; print the key and a gateway.auth.keys entry with its hash (GitOps)",
      ),
  ).action(async (opts: import("./keys.js").KeysCreateOptions) => {
    const { keysCreateCommand } = await import("./keys.js");
    setExit(await keysCreateCommand(opts, io));
  });
  specOpts(keys.command("list").description("List keys (never the keys or their hashes)")).action(
    async (opts: import("./keys.js").KeysOptions) => {
      const { keysListCommand } = await import("./keys.js");
      setExit(await keysListCommand(opts, io));
    },
  );
  specOpts(keys.command("revoke").description("Revoke a key by id").argument("<id>", "key id")).action(
    async (id: string, opts: import("./keys.js").KeysOptions) => {
      const { keysRevokeCommand } = await import("./keys.js");
      setExit(await keysRevokeCommand(id, opts, io));
    },
  );
  specOpts(
    keys
      .command("rotate")
      .description("New secret for a key, same id, scopes and limits")
      .argument("<id>", "key id"),
  ).action(async (id: string, opts: import("./keys.js").KeysOptions) => {
    const { keysRotateCommand } = await import("./keys.js");
    setExit(await keysRotateCommand(id, opts, io));
  });
  specOpts(
    program
      .command("usage")
      .description("Gateway usage per key, route and model: requests, errors, prompt and completion tokens")
      .option("--from <time>", "start: date, ISO time or unix seconds (default: this month)")
      .option("--to <time>", "end (default: now)")
      .option("--group-by <dims>", "key, route, model, hour, day; comma-separated", "key,model"),
  ).action(async (opts: import("./usage.js").UsageOptions) => {
    const { usageCommand } = await import("./usage.js");
    setExit(await usageCommand(opts, io));
  });
  program
    .command("render")
    .description(
      "Compile the spec to a validated Kustomize tree: base, overlays, GPU Operator, monitoring, ArgoCD, containers",
    )
    .argument("[file]", "spec file (default: -c, $INFERPLANE_CONFIG, ./inferplane.yaml)")
    .option("-c, --config <file>", "spec file")
    .requiredOption("-o, --out <dir>", "output directory (files a previous render wrote there are replaced)")
    .option("--no-validate", "skip validating every object against its schema")
    .option(
      "--verify",
      "after writing, run kustomize build on every kustomization and promtool on the alerts",
    )
    .option(
      "--kubeconfig <file>",
      "with --verify: server-side dry-run of every tree against that cluster, and the engines' placement on its nodes",
    )
    .option("--json", "machine-readable report")
    .action(async (file: string | undefined, opts: import("./render.js").RenderCliOptions) => {
      const { renderCommand } = await import("./render.js");
      setExit(renderCommand(file, opts, io));
    });

  program
    .command("lint")
    .description("Find the guide's mistakes in YAML, Kustomize directories, Dockerfiles or a spec")
    .argument("[paths...]", "files or directories (default: .)")
    .option("--format <format>", "text, json or sarif", "text")
    .action(async (paths: string[], opts: { format?: string }) => {
      const { lintCommand } = await import("./lint.js");
      setExit(lintCommand(paths, opts, io));
    });

  program
    .command("plan")
    .description("Plan GPU capacity: what fits where, replicas for the SLO, every GPU's layout, monthly cost")
    .option("-c, --config <file>", "spec file (default: $INFERPLANE_CONFIG, ./inferplane.yaml)")
    .option("-e, --env <name>", "apply this environment's overrides")
    .option("--json", "the plan as JSON (what `inferplane render` reads)")
    .option("--md", "the plan as Markdown")
    .option(
      "--html <file>",
      "also write a self-contained HTML report (GPU drawings, memory bars, cost waterfall)",
    )
    .action(async (opts: import("./plan.js").PlanCliOptions) => {
      const { planCommand } = await import("./plan.js");
      setExit(await planCommand(opts, io));
    });

  const rag = program
    .command("rag")
    .description("RAG: ingest documents, search, ask, evaluate (see docs/rag.md)");
  const ragCommon = (c: Command) =>
    c
      .option("-c, --config <file>", "spec file (default: $INFERPLANE_CONFIG, ./inferplane.yaml)")
      .option("-e, --env <name>", "apply this environment's overrides")
      .option(
        "--gateway <url>",
        "gateway for embeddings, rerank and answers (default: one in-process for the spec)",
      );
  ragCommon(rag.command("ingest").description("Ingest files, directories, globs or URLs into a collection"))
    .argument("<paths...>", "files, directories, globs (docs/**/*.md) or http(s) URLs")
    .option("--collection <name>", "collection (created when missing)", "default")
    .option("--no-embed", "BM25 only: store chunks without embeddings")
    .option("--json", "machine-readable report")
    .action(async (paths: string[], opts: import("./rag.js").RagCliOptions) => {
      const { ragIngestCommand } = await import("./rag.js");
      setExit(await ragIngestCommand(paths, opts, io));
    });
  ragCommon(rag.command("search").description("Search a collection"))
    .argument("<query>", "query text")
    .option("--collection <name>", "collection", "default")
    .option("--mode <mode>", "bm25 (sparse), dense or hybrid (default: rag.retrieval.mode)")
    .option("--k <n>", "results")
    .option("--rerank", "rerank with rag.rerank.route")
    .option("--source <source>", "only chunks from this source")
    .option("--json", "machine-readable report")
    .action(async (query: string, opts: import("./rag.js").RagCliOptions) => {
      const { ragSearchCommand } = await import("./rag.js");
      setExit(await ragSearchCommand(query, opts, io));
    });
  ragCommon(rag.command("ask").description("Answer a question from a collection, with cited sources"))
    .argument("<question>", "question")
    .option("--collection <name>", "collection", "default")
    .option("--mode <mode>", "bm25 (sparse), dense or hybrid")
    .option("--json", "the chat completion with sources and citations")
    .action(async (question: string, opts: import("./rag.js").RagCliOptions) => {
      const { ragAskCommand } = await import("./rag.js");
      setExit(await ragAskCommand(question, opts, io));
    });
  ragCommon(
    rag
      .command("eval")
      .description("Score retrieval on a BEIR folder: nDCG@10, Recall@100, MAP, MRR@10, latency"),
  )
    .requiredOption("--corpus <dir>", "BEIR folder with corpus.jsonl")
    .option("--queries <dir>", "folder with queries.jsonl and qrels/test.tsv (default: --corpus)")
    .option(
      "--collection <name>",
      "collection to ingest into and search (default: eval; eval-embedded for dense and hybrid)",
    )
    .option(
      "--mode <mode>",
      "bm25 (sparse), dense or hybrid; dense and hybrid report a paired-bootstrap CI vs BM25",
      "sparse",
    )
    .option("--fusion <method>", "hybrid: rrf or weighted (default: rag.retrieval.fusion)")
    .option("--dense-weight <w>", "weighted fusion: the dense list's weight, 0..1")
    .option("--rrf-k <k>", "rrf fusion constant")
    .option("--candidates <n>", "candidates per retriever before fusion")
    .option("--rerank", "rerank with rag.rerank.route")
    .option("--k <n>", "ranking depth", "100")
    .option("--json [file]", "print JSON, or write it to FILE")
    .action(async (opts: import("./rag.js").RagCliOptions) => {
      const { ragEvalCommand } = await import("./rag.js");
      setExit(await ragEvalCommand(opts, io));
    });

  return program;
}

/** Runs the CLI; resolves to the exit code instead of exiting, so it can be tested in-process. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? 0 : ERRORS.usage.exit;
    }
    if (isInferplaneError(err)) {
      io.err(`✖ ${err.message} [${err.code}]`);
      for (const p of err.problems) io.err(`  ${formatProblem(p)}`);
      return err.def.exit;
    }
    io.err(`✖ internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return ERRORS.internal.exit;
  }
}
