/**
 * vLLM in a container: the OpenAI server image (`vllm/vllm-openai`), its arguments from the spec
 * and the plan (vLLM docs "Engine Arguments"): TP, memory fraction, context, quantization, dtype,
 * prefix caching and batch limits for generative models, the pooling runner for embedding and
 * rerank models, speculative decoding. Weights in Hugging Face layout (../weights.ts).
 */
import { compareVersions, engineInfo } from "../../catalog/engines.js";
import { modelKind, servedModelName } from "../../spec/checks.js";
import type { ModelSpec } from "../../spec/schema.js";
import type { ContainerRun, RunContext } from "../run.js";
import { hubContainer, modelArg } from "../weights.js";
import { vllmSpeculativeArgs } from "./speculative.js";

/** The spec's quantization → vLLM's `--quantization` method. */
const VLLM_QUANT: Record<string, string> = {
  awq: "awq",
  gptq: "gptq",
  "gptq-int4": "gptq",
  "gptq-int8": "gptq",
  fp8: "fp8",
  gguf: "gguf",
  bitsandbytes: "bitsandbytes",
};

/** `vllm serve` arguments (the image's entrypoint is the OpenAI server). */
export function vllmArgs(m: ModelSpec, ctx: RunContext): string[] {
  const version = engineInfo(m.engine, m.engineVersion).version;
  const args = [
    "--model",
    modelArg(m, ctx.cacheMount),
    "--served-model-name",
    servedModelName(m),
    "--host",
    "0.0.0.0",
    "--port",
    String(ctx.port),
    "--tensor-parallel-size",
    String(ctx.tensorParallel),
    "--gpu-memory-utilization",
    String(ctx.gpuMemoryUtilization),
  ];
  if (ctx.maxModelLen !== undefined) args.push("--max-model-len", String(ctx.maxModelLen));
  const q = m.quantization;
  if (q !== undefined && q !== "none") args.push("--quantization", VLLM_QUANT[q] ?? q);
  if (m.dtype !== "auto") args.push("--dtype", m.dtype);
  const kind = modelKind(m);
  if (kind === "chat") {
    args.push(m.enablePrefixCaching ? "--enable-prefix-caching" : "--no-enable-prefix-caching");
    args.push(
      "--max-num-seqs",
      String(m.maxNumSeqs),
      "--max-num-batched-tokens",
      String(m.maxNumBatchedTokens),
    );
  } else if (compareVersions(version, "0.10.0") >= 0) {
    // vLLM 0.10 replaced `--task` with `--runner` (docs "Pooling Models").
    args.push("--runner", "pooling");
  } else {
    args.push("--task", kind === "embedding" ? "embed" : "score");
  }
  return [...args, ...vllmSpeculativeArgs(m), ...m.extraArgs];
}

export function vllmContainer(m: ModelSpec, ctx: RunContext): ContainerRun {
  return hubContainer(m, ctx, { args: vllmArgs(m, ctx) });
}
